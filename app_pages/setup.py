"""Setup: add or edit a patient and course, and record clinical events."""

import datetime as dt

import streamlit as st

from lenadash import access
from lenadash.dashboard import decisions, setup_form, ui
from lenadash.dashboard.present import EVENT_LABELS
from lenadash.vocab.course import EVENT_KINDS, INDICATION_NAMES, INDICATIONS, SCHEDULES

access.page("read", name="setup")  # clinic mode: stops unless the role allows it


def _index(options, value, *, offset: int = 0, default: int | None = 0) -> int | None:
    """Position of a stored value among a picker's options (after `offset` leading choices); `default` if absent."""
    return offset + list(options).index(value) if value in options else default


NEW = "New patient"


def _picked(key: str) -> None:
    """A patient picked in either picker becomes the session's patient (the patient page's too)."""
    value = st.session_state.get(key)
    st.session_state["setup_new"] = value == NEW
    if value not in (None, NEW):
        st.session_state[ui.PATIENT] = value


ui.sample_banner()
st.title("Setup")
clinic = ui.clinic()
known = list(clinic.patients["mrn"].unique()) if len(clinic.patients) else []
current = st.session_state.get(ui.PATIENT)
names = setup_form.picker_names(clinic.patients, clinic.by_mrn)
# Both pickers show the session's patient (set by the patient page, the worklist or the last save here), so
# a save never leaves the next event to fall on the first MRN (wrong-patient risk).
if current in known and not st.session_state.get("setup_new"):
    st.session_state["setup_patient"] = current

if st.session_state.get("setup_flash"):
    st.success(ui.plain(st.session_state.pop("setup_flash")))  # names the MRN
course_tab, event_tab = st.tabs(["Patient and course", "Clinical event"])

with course_tab:
    if not access.allowed("edit_course", access.current_actor()):  # the save refuses too (setup_form.save_course)
        st.info(
            "Registering patients and editing treatment courses is for a clinician; your role may record "
            "events on the Clinical event tab (where it allows). Ask the clinic lead (admin) if you should."
        )
    else:
        choice = st.selectbox(
            "Patient",
            [NEW] + known,
            key="setup_patient",
            format_func=lambda m: m if m == NEW else setup_form.picker_label(m, names),
            on_change=_picked,
            args=("setup_patient",),
        )
        # A patient known only from lab files (the worklist's "add a treatment course"): a new course, its MRN given.
        lab_only = current if current in clinic.by_mrn and current not in known else None
        if choice == NEW and lab_only and not st.session_state.get("setup_new"):
            st.caption(ui.plain(f"Adding a treatment course for {lab_only}, known so far from lab files only."))
            row, sfx = {"mrn": lab_only}, f"_{lab_only}"
        else:
            row = clinic.person(choice) if choice != NEW else {}
            sfx = "" if choice == NEW else f"_{choice}"  # fresh widgets (and defaults) per patient
        # Indication outside the form: the starting dose below follows it (the label start of that indication).
        indication = st.selectbox(
            "Indication",
            key=f"setup_indication{sfx}",
            options=INDICATIONS,
            format_func=lambda i: f"{i} - {INDICATION_NAMES[i]}",
            index=_index(INDICATIONS, row.get("indication")),
        )
        doses = setup_form.starting_doses(indication, ui.rules_profile())
        known_weight = row.get("weight_kg")
        known_weight = float(known_weight) if known_weight is not None and known_weight == known_weight else None
        known_dose = row.get("starting_dose_mg") if row.get("indication") == indication else None
        with st.form("course_form"):
            st.caption(
                "Birth date, sex and weight are required: they give the Cockcroft-Gault creatinine clearance "
                "that sets the renal starting dose."
            )
            c1, c2, c3 = st.columns(3)
            mrn = c1.text_input("MRN", value=row.get("mrn", ""), disabled=bool(row), key=f"setup_mrn{sfx}")
            name = c2.text_input("Name", value=row.get("name") or "", key=f"setup_name{sfx}")
            sex = c3.selectbox(
                "Sex",
                ["F", "M"],
                key=f"setup_sex{sfx}",
                placeholder="Choose F or M",
                index=_index(("F", "M"), row.get("sex"), default=None),
            )
            c4, c5, c6 = st.columns(3)
            birth = c4.date_input(
                "Birth date",
                value=row.get("birth_date") or None,
                key=f"setup_birth{sfx}",
                min_value=dt.date(1900, 1, 1),
                max_value=dt.date.today(),
                format="YYYY-MM-DD",
            )
            weight = c5.number_input(
                "Weight (kg)",
                min_value=20.0,
                max_value=300.0,
                value=known_weight,
                key=f"setup_weight{sfx}",
                placeholder="required",
            )
            dose = c6.number_input(
                "Starting dose (mg)",
                min_value=0.0,
                max_value=25.0,
                step=2.5,
                key=f"setup_dose{sfx}_{indication}",
                value=float(known_dose) if known_dose == known_dose and known_dose is not None else doses.standard_mg,
                help=f"{indication} label start {doses.standard_mg:g} mg; capsule strengths on its ladder: "
                + ", ".join(f"{d:g}" for d in doses.allowed_mg)
                + " mg (a renally reduced start is a lower step).",
            )
            c7, c9 = st.columns(2)
            start = c7.date_input("Start date", value=row.get("start_date") or ui.as_of(), format="YYYY-MM-DD")
            schedule = c9.selectbox(
                "Schedule",
                [setup_form.SCHEDULE_DEFAULT, *SCHEDULES],
                index=_index(SCHEDULES, row.get("schedule"), offset=1),
            )
            c10, c11, c12 = st.columns(3)
            combination = c10.text_input("Combination (blank = default)", value=row.get("combination") or "")
            repro = c11.checkbox("Reproductive potential (REMS tests)", value=bool(row.get("reproductive_potential")))
            menses = c11.selectbox(
                "Menses", setup_form.MENSES_CHOICES, index=_index(setup_form.MENSES_CHOICES, row.get("menses"))
            )
            dialysis = c12.checkbox("On dialysis", value=bool(row.get("dialysis")))
            change_reason = ""
            if row.get("indication"):  # a stored course: a change keeps the old version, with this reason
                change_reason = st.text_input(
                    "Reason for the change (required when a stored value other than the name changes)",
                    key=f"setup_reason{sfx}",
                    max_chars=setup_form.CHANGE_REASON_MAX,
                )
            saved = st.form_submit_button("Save patient and course", type="primary")
        if saved:
            record = setup_form.course_record(
                mrn=mrn,
                name=name,
                sex=sex,
                birth_date=birth,
                weight_kg=weight,
                indication=indication,
                start_date=start,
                starting_dose_mg=dose,
                schedule=schedule,
                combination=combination,
                reproductive_potential=repro,
                menses=menses,
                dialysis=dialysis,
            )
            with ui.user_errors("Not saved"):
                with ui.db_session() as s:
                    setup_form.save_course(record, session=s, profile=ui.rules_profile(), reason=change_reason)
                ui.data_changed()
                st.session_state[ui.PATIENT] = record["mrn"]
                st.session_state["setup_new"] = False
                st.session_state["setup_flash"] = f"Saved {record['mrn']} ({indication}, started {start})."
                st.rerun()  # reassess, so the new patient is in the lists below


with event_tab:
    all_mrns = sorted(set(known) | set(clinic.by_mrn))
    may_record = any(access.allowed(a, access.current_actor()) for a in ("record_event", "rems"))
    if not may_record:  # the write refuses too (setup_form.record_event)
        st.info(
            "Your role does not record events (a nurse, a pharmacist for REMS, or a clinician does); the patient "
            "page's History tab lists them."
        )
    elif not all_mrns:
        st.info("Add a patient first.")
    else:
        if current in all_mrns:
            st.session_state["event_patient"] = current
        # Outside the form: clear_on_submit must not reset it to the first MRN after each event.
        who = st.selectbox(
            "Patient",
            all_mrns,
            key="event_patient",
            format_func=lambda m: setup_form.picker_label(m, names),
            on_change=_picked,
            args=("event_patient",),
        )
        with st.form("event_form", clear_on_submit=True):
            e2, e3 = st.columns(2)
            when = e2.date_input(
                "Date", value=ui.as_of(), format="YYYY-MM-DD", key="event_date", help=setup_form.EVENT_DATE_HELP
            )
            kind = e3.selectbox(
                "Event",
                EVENT_KINDS,
                key="event_kind",
                format_func=EVENT_LABELS.get,
                help=setup_form.event_kinds_help(),
            )
            v1, v2, v3 = st.columns(3)
            temperature = v1.number_input(
                "Temperature (C) - fever", min_value=30.0, max_value=45.0, value=None, key="event_temperature"
            )
            grade = v2.number_input("Grade - toxicity", min_value=1, max_value=5, value=None, step=1)
            result = v3.selectbox("Result - pregnancy test", ["", "negative", "positive"])
            w1, w2, w3 = st.columns(3)
            dose_mg = w1.number_input(
                "New dose (mg) - dose change", min_value=0.0, max_value=25.0, value=None, step=2.5
            )
            is_hold = w2.checkbox("Dose change is a hold")
            agent = w3.text_input("Agent - thromboprophylaxis")
            detail = st.text_input("Detail (optional)")
            add = st.form_submit_button("Record event", type="primary")
        if add:
            event = setup_form.event_record(
                mrn=who,
                date=when,
                kind=kind,
                detail=detail,
                temperature_c=temperature,
                grade=grade,
                result=result,
                dose_mg=dose_mg,
                is_hold=is_hold,
                agent=agent,
            )
            with ui.user_errors("Not recorded"):
                with ui.db_session() as s:
                    setup_form.record_event(event, session=s, recorded_by=decisions.who())
                ui.data_changed()
                st.session_state[ui.PATIENT] = who  # the next event starts on this patient too
                st.session_state["setup_flash"] = f"Recorded {EVENT_LABELS[kind].lower()} for {who} on {when}."
                st.rerun()
        if who in all_mrns and len(clinic.events):
            mine = clinic.events[clinic.events["mrn"] == who]
            if len(mine):
                st.markdown(f"**Recorded events for {ui.plain(setup_form.picker_label(who, names))}**")
                shown = [c for c in ("date", "event", "value", "detail", "recorded_by", "recorded_at") if c in mine]
                st.dataframe(mine[shown], hide_index=True, width="stretch")
