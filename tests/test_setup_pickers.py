"""Setup's patient pickers (issue 9 item 9): name and MRN as plain text, the session's patient preselected,
and the chosen patient kept after a save (it used to jump back to the first MRN: wrong-patient risk)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120


def _setup(**state) -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("app_pages/setup.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _picker(at: AppTest, label: str, *, tab: int):
    return next(s for s in at.tabs[tab].selectbox if s.label == label)


def _events(url_dir: Path):
    from lenadash import store

    engine = store.make_engine(f"sqlite:///{url_dir / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        events = store.load_events(session=s)
    engine.dispose()
    return events


def test_the_event_picker_keeps_the_chosen_patient_after_recording(clinic_env):
    at = _setup()
    picker = _picker(at, "Patient", tab=1)
    target = picker.options[2].split()[0]  # options are shown as "MRN - name"
    picker.set_value(target)
    at.selectbox(key="event_kind").select("marrow_biopsy")
    next(b for b in at.button if b.label == "Record event").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    events = _events(clinic_env)
    recorded = events[(events["event"] == "marrow_biopsy") & (events["date"] == at.session_state["lenadash_as_of"])]
    assert recorded["mrn"].tolist() == [target]
    # the page, the course picker and the patient page follow the patient just recorded for
    assert at.session_state["patient_mrn"] == target
    assert _picker(at, "Patient", tab=1).value == target
    assert _picker(at, "Patient", tab=0).value == target
    # and once more: the next event goes to the same patient unless the user picks another
    at.selectbox(key="event_kind").select("platelet_transfusion")
    next(b for b in at.button if b.label == "Record event").click().run()
    events = _events(clinic_env)
    today = events[(events["event"] == "platelet_transfusion") & (events["date"] == at.session_state["lenadash_as_of"])]
    assert today["mrn"].tolist() == [target]
    assert today["recorded_by"].notna().all() and today["recorded_at"].notna().all()  # who and when


def test_the_pickers_preselect_the_sessions_patient_and_show_name_and_mrn(clinic_env):
    at = _setup(patient_mrn="LD0004")
    course_picker, event_picker = _picker(at, "Patient", tab=0), _picker(at, "Patient", tab=1)
    assert course_picker.value == "LD0004" and event_picker.value == "LD0004"
    from lenadash import samples

    name = next(p.name for p in samples.PATIENTS if p.mrn == "LD0004")
    shown = event_picker.format_func("LD0004")
    assert "LD0004" in shown and name in shown
    assert name in course_picker.format_func("LD0004")


def test_saving_a_course_keeps_the_patient_in_both_pickers(clinic_env):
    at = _setup(patient_mrn="LD0002")
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _picker(at, "Patient", tab=0).value == "LD0002"
    assert _picker(at, "Patient", tab=1).value == "LD0002"


def test_a_name_in_the_picker_is_plain_text(clinic_env):
    """A selectbox shows its options as text; the label keeps a Markdown-looking name as typed."""
    from lenadash import store

    engine = store.make_engine(f"sqlite:///{clinic_env / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        row = store.load_patients(session=s).iloc[0].to_dict()
        store.upsert_patient_course(session=s, row={**row, "name": "[x](https://evil.example) **Bold**"})
    engine.dispose()
    at = _setup(patient_mrn=row["mrn"])
    shown = _picker(at, "Patient", tab=1).format_func(row["mrn"])
    assert shown == f"{row['mrn']} - [x](https://evil.example) **Bold**"


def test_a_patient_known_only_from_lab_files_gets_a_new_course_with_its_mrn(clinic_env):
    """The worklist's "add a treatment course" sets the session's patient to an MRN with labs but no course:
    Setup opens a new course for that MRN (not an empty form, not the first patient)."""
    at = _setup(patient_mrn="LD0099")
    assert _picker(at, "Patient", tab=0).value == "New patient"
    mrn_box = next(t for t in at.tabs[0].text_input if t.label == "MRN")
    assert mrn_box.value == "LD0099" and mrn_box.disabled
    assert _picker(at, "Patient", tab=1).value == "LD0099"
    at.text_input(key="setup_name_LD0099").input("Lab Only")
    at.selectbox(key="setup_sex_LD0099").select("F")
    import datetime as dt

    at.date_input(key="setup_birth_LD0099").set_value(dt.date(1950, 1, 1))
    at.number_input(key="setup_weight_LD0099").set_value(70.0)
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _picker(at, "Patient", tab=0).value == "LD0099"
