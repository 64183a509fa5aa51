"""Data shaping for the dashboard pages (lenadash.dashboard: worklist, results, timeline, cards, setup_form),
on hand-built assess-contract patients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from lenadash.dashboard import cards, present, results, setup_form, timeline, worklist

AS_OF = dt.date(2026, 3, 2)


def make_draw(date, cycle, day, values, grades, action="continue", dose=25.0, reasons=(), schedule="21/28"):
    return {
        "date": str(date),
        "cycle": cycle,
        "cycle_day": day,
        "values": dict(values),
        "grades": dict(grades),
        "action": action,
        "dose_mg": dose,
        "schedule": schedule,
        "reasons": list(reasons),
    }


def make_patient(
    mrn="MRN001", *, indication="MM", start=dt.date(2026, 1, 5), status="on_treatment", draws=None, **extra
) -> dict:
    """An assessed MM patient on 21/28: weekly draws, a platelet hold in cycle 2, resume at 20 mg."""
    if draws is None:
        d = lambda n: start + dt.timedelta(days=n)  # noqa: E731
        draws = [
            make_draw(
                d(0),
                1,
                1,
                {"anc": 2.4, "plt": 180, "hgb": 11.2, "wbc": 4.8, "creatinine": 0.9},
                {"anc": 0, "plt": 0, "hgb": 1, "wbc": 0, "creatinine": 0},
            ),
            make_draw(d(7), 1, 8, {"anc": 1.6, "plt": 120}, {"anc": 1, "plt": 1}),
            make_draw(d(14), 1, 15, {"anc": 1.2, "plt": 60, "alt": 40}, {"anc": 2, "plt": 2, "alt": 0}),
            make_draw(
                d(35),
                2,
                8,
                {"anc": 1.1, "plt": 28},
                {"anc": 2, "plt": 3},
                action="hold",
                dose=None,
                reasons=["Platelets 28 < 30 (US PI 2.1 Table 1)"],
            ),
            make_draw(d(42), 2, 15, {"anc": 1.3, "plt": 24}, {"anc": 2, "plt": 4}, action="stay_held", dose=None),
            make_draw(
                d(49),
                2,
                22,
                {"anc": 1.8, "plt": 78},
                {"anc": 1, "plt": 1},
                action="resume",
                dose=20.0,
                reasons=["Platelets back to >= 30: next lower dose"],
            ),
        ]
    p = {
        "mrn": mrn,
        "indication": indication,
        "start_date": str(start),
        "starting_dose_mg": 25,
        "status": status,
        "current_dose_mg": 20,
        "crcl_ml_min": 72.0,
        "renal_starting_dose_mg": 25,
        "next_labs_due": str(AS_OF + dt.timedelta(days=5)),
        "labs_overdue": False,
        "next_marrow_biopsy": None,
        "marrow_biopsies": [],
        "next_pregnancy_test": None,
        "alerts": [],
        "notices": [],
        "resume_plan": None,
        "draws": draws,
    }
    p.update(extra)
    return p


def notice(kind, severity="action", text=None, source="", due=None) -> dict:
    """One assess-contract notice; its text says nothing the dashboard may read."""
    return {"kind": kind, "severity": severity, "text": text or f"notice {kind}", "source": source, "due": due}


def with_notices(p: dict, *notices: dict) -> dict:
    p["notices"] = list(notices)
    p["alerts"] = [n["text"] for n in notices]
    return p


def make_result(patients, as_of=AS_OF) -> dict:
    return {
        "as_of": str(as_of),
        "rules": "us_pi",
        "import_report": {"rows_read": 0, "rows_rejected": 0, "rejects": []},
        "patients": patients,
    }


def _held(mrn):
    p = make_patient(mrn)
    p["draws"] = p["draws"][:4]
    p["status"] = "held"
    return p


STOP_DAY = dt.date(2026, 2, 20)


def _stopped(mrn, *, later_draws=1):
    """A woman on MM treatment whose positive pregnancy test on STOP_DAY stopped it (REMS): the stop
    draw and `later_draws` weekly draws after it are `stop`, dose null."""
    p = make_patient(mrn, status="stopped", current_dose_mg=None)
    p["draws"] = p["draws"][:3] + [
        make_draw(
            STOP_DAY + dt.timedelta(days=7 * i),
            2,
            4 + 7 * i,
            {"anc": 1.9, "plt": 150},
            {"anc": 1, "plt": 0},
            action="stop",
            dose=None,
            reasons=["words the dashboard must not read"],
        )
        for i in range(later_draws + 1)
    ]
    for d in p["draws"][3:]:
        d["rules"] = ["REMS-STOP"]
    return with_notices(p, notice("stopped", "urgent", source="Lenalidomide REMS", due=str(STOP_DAY)))


def _events(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{"mrn": m, "date": d, "event": e, "value": v, "result": r} for m, d, e, v, r in rows],
        columns=["mrn", "date", "event", "value", "result"],
    )


def test_worklist_orders_by_urgency_table():
    quiet = make_patient("Q1")
    overdue = make_patient("O1", labs_overdue=True)
    held = _held("H1")
    review = make_patient("R1", status="review")
    marrow = make_patient("B1", indication="MDS", next_marrow_biopsy=str(AS_OF + dt.timedelta(days=20)))
    marrow_far = make_patient("B2", indication="MDS", next_marrow_biopsy=str(AS_OF + dt.timedelta(days=60)))
    vte = with_notices(make_patient("V1"), notice("thromboprophylaxis_missing", text="no anticoagulant"))
    stopped = _stopped("S1")
    wl = worklist.worklist(make_result([quiet, marrow_far, vte, overdue, marrow, review, held, stopped]))
    assert list(wl["mrn"]) == ["S1", "H1", "R1", "O1", "B1", "V1", "B2", "Q1"]
    assert wl.loc[wl["mrn"] == "B2", "flags"].iloc[0] == []
    assert wl.loc[0, "flag_text"].startswith("Stopped (REMS)")
    assert wl.loc[1, "flag_text"].startswith("Hold now")


def test_worklist_flags_come_from_notice_kinds_not_their_words():
    """The thromboprophylaxis flag follows the notice kind; an alert that only mentions it raises nothing."""
    worded = make_patient("W1", alerts=["No thromboprophylaxis recorded: VTE risk (dexamethasone)"])
    worded["notices"] = [notice("renal_no_crcl", "info", text=worded["alerts"][0])]
    kind = with_notices(make_patient("K1"), notice("thromboprophylaxis_missing", text="x"))
    assert worklist.patient_flags(worded, as_of=AS_OF) == []
    assert worklist.patient_flags(kind, as_of=AS_OF) == ["vte_missing"]


@pytest.mark.parametrize(
    ("kind", "severity", "flag"),
    [
        ("stopped", "urgent", "stopped"),
        ("hold", "urgent", "hold"),
        ("review", "action", "review"),
        ("cycle_limit", "action", "review"),
        ("labs_without_course", "action", "review"),
        ("grade3", "action", "grade3"),
        ("cbc_overdue", "action", "cbc_overdue"),
        ("biopsy_overdue", "action", "marrow_due"),
        ("pregnancy_test_overdue", "action", "pregnancy_due"),
        ("rems_pretreatment_missing", "action", "rems_missing"),
        ("thromboprophylaxis_missing", "action", "vte_missing"),
        ("renal_dose_above_label", "action", "renal"),
        ("renal_band_fall", "action", "renal"),
        ("renal_not_studied", "action", "renal"),
        ("a_kind_added_later", "action", "other_notice"),
        ("a_kind_added_later", "urgent", "other_notice"),
        ("a_kind_added_later", "info", None),
        ("cbc_due", "info", None),
        ("renal_no_crcl", "info", None),
        ("stale_creatinine", "info", None),
    ],
)
def test_each_notice_kind_raises_its_flag(kind, severity, flag):
    p = with_notices(make_patient("N1"), notice(kind, severity))
    assert worklist.patient_flags(p, as_of=AS_OF) == ([flag] if flag else [])


def test_worklist_grade3_outranks_overdue():
    g3 = make_patient("G3")
    g3["draws"][-1]["grades"]["plt"] = 3
    wl = worklist.worklist(make_result([make_patient("O1", labs_overdue=True), g3]))
    assert list(wl["mrn"]) == ["G3", "O1"]


def test_worklist_row_contents_and_names():
    patients = pd.DataFrame({"mrn": ["MRN001"], "name": ["Ada Example"]})
    wl = worklist.worklist(make_result([make_patient()]), patients)
    row = wl.iloc[0]
    assert row["name"] == "Ada Example"
    assert (row["anc"], row["anc_grade"], row["plt"], row["plt_grade"]) == (1.8, 1, 78.0, 1)
    assert row["hgb"] == 11.2  # carried from the last draw that had Hgb
    # last draw 2026-02-23 is C2D22; as_of 2026-03-02 is 7 days later -> C3D1
    assert (row["cycle"], row["cycle_day"]) == (3, 1)


def test_worklist_empty_result_has_the_columns():
    wl = worklist.worklist(make_result([]))
    assert list(wl.columns) == worklist.WORKLIST_COLUMNS and wl.empty


@pytest.mark.parametrize(
    ("field", "days_ahead", "expected"),
    [
        ("next_marrow_biopsy", 30, True),
        ("next_marrow_biopsy", 31, False),
        ("next_marrow_biopsy", -5, True),
        ("next_pregnancy_test", 7, True),
        ("next_pregnancy_test", 8, False),
    ],
)
def test_due_flags_boundaries(field, days_ahead, expected):
    p = make_patient(**{field: str(AS_OF + dt.timedelta(days=days_ahead))})
    key = "marrow_due" if field == "next_marrow_biopsy" else "pregnancy_due"
    assert (key in worklist.patient_flags(p, as_of=AS_OF)) is expected


def test_filter_worklist_by_indication_flag_and_search():
    patients = pd.DataFrame({"mrn": ["A", "B", "C"], "name": ["Ann One", "Bob Two", "Cy Three"]})
    wl = worklist.worklist(make_result([make_patient("A"), _held("B"), make_patient("C", indication="MDS")]), patients)
    assert list(worklist.filter_worklist(wl, indications=["MDS"])["mrn"]) == ["C"]
    assert list(worklist.filter_worklist(wl, flags=["hold"])["mrn"]) == ["B"]
    assert list(worklist.filter_worklist(wl, search="two")["mrn"]) == ["B"]
    assert len(worklist.filter_worklist(wl)) == 3


def test_hold_spans_and_open_hold():
    spans = timeline.hold_spans(make_patient(), as_of=AS_OF)
    assert spans[["start", "end", "open"]].to_dict("records") == [
        {"start": dt.date(2026, 2, 9), "end": dt.date(2026, 2, 23), "open": False}
    ]
    assert "US PI 2.1" in spans["reason"].iloc[0]
    open_spans = timeline.hold_spans(_held("H"), as_of=AS_OF)
    assert open_spans[["start", "end", "open"]].to_dict("records") == [
        {"start": dt.date(2026, 2, 9), "end": AS_OF, "open": True}
    ]


def test_hold_spans_prefer_the_engines():
    p = make_patient(
        hold_spans=[
            {"start": "2026-02-08", "end": "2026-02-20", "reason": "engine"},
            {"start": "2026-02-27", "end": None, "reason": "open"},
        ]
    )
    spans = timeline.hold_spans(p, as_of=AS_OF)
    assert list(spans["start"]) == [dt.date(2026, 2, 8), dt.date(2026, 2, 27)]
    assert list(spans["end"]) == [dt.date(2026, 2, 20), AS_OF] and list(spans["open"]) == [False, True]


def test_engine_cycle_day_wins():
    wl = worklist.worklist(make_result([make_patient(cycle=4, cycle_day=2)]))
    assert (wl["cycle"].iloc[0], wl["cycle_day"].iloc[0]) == (4, 2)


def test_thresholds_frame_merges_hold_and_resume_lines():
    rows = [
        {"analyte": "plt", "kind": "hold", "op": "<", "value": 30.0, "source": "US PI 2.1 Table 1"},
        {"analyte": "plt", "kind": "resume", "op": ">=", "value": 30.0, "source": "US PI 2.1 Table 1"},
        {"analyte": "anc", "kind": "hold", "op": "<", "value": 0.5, "source": "US PI 2.2"},
        {"analyte": "anc", "kind": "hold", "op": "<", "value": None, "source": "x"},
    ]
    df = results.thresholds_frame(rows)
    assert df.to_dict("records") == [
        {"analyte": "plt", "value": 30.0, "label": "hold < 30 / resume >= 30", "source": "US PI 2.1 Table 1"},
        {"analyte": "anc", "value": 0.5, "label": "hold < 0.5", "source": "US PI 2.2"},
    ]
    assert results.thresholds_frame([]) is None


def test_dose_steps_drop_to_zero_while_held_and_resume_lower():
    steps = timeline.dose_steps(make_patient(), as_of=AS_OF)
    by_action = dict(zip(steps["action"], steps["dose_mg"]))
    assert by_action["start"] == 25 and by_action["hold"] == 0 and by_action["stay_held"] == 0
    assert by_action["resume"] == 20 and steps["dose_mg"].iloc[-1] == 20
    assert steps["date"].iloc[-1] == AS_OF


def test_dose_steps_ignore_baseline_draws_before_the_start():
    p = make_patient()
    p["draws"].insert(0, make_draw(dt.date(2026, 1, 1), None, None, {"anc": 2.5}, {"anc": 0}, dose=None))
    steps = timeline.dose_steps(p, as_of=AS_OF)
    assert steps["date"].is_monotonic_increasing and steps["date"].iloc[0] == dt.date(2026, 1, 5)


def test_baseline_draws_stay_out_of_cycles_and_overlay():
    p = make_patient()
    p["draws"].insert(0, make_draw(dt.date(2025, 12, 30), 0, -6, {"plt": 210}, {"plt": 0}, dose=None))
    assert timeline.cycle_table(p, as_of=AS_OF)["start"].iloc[0] == dt.date(2026, 1, 5)
    assert results.cycle_overlay(p, "plt")["cycle_day"].min() == 1
    values, _ = results.flowsheet(p)
    assert values.columns[-1] == "30 Dec 25 baseline"


def test_cycle_table_anchors_on_draws_and_extends_to_as_of():
    cycles = timeline.cycle_table(make_patient(), as_of=AS_OF)
    assert list(cycles["cycle"]) == [1, 2, 3]
    assert cycles["start"].iloc[1] == dt.date(2026, 2, 2)
    assert cycles["dosing_end"].iloc[0] == dt.date(2026, 1, 26)  # day 22: rest starts
    cont = timeline.cycle_table(make_patient(schedule="28/28"), as_of=AS_OF)
    assert cont["dosing_end"].iloc[0] == cont["end"].iloc[0]


def test_results_long_joins_labs_raw_values_and_grades():
    p = make_patient()
    labs = pd.DataFrame(
        {
            "mrn": ["MRN001", "MRN001", "OTHER"],
            "collected_at": pd.to_datetime(["2026-02-09 08:10", "2026-02-09 08:10", "2026-02-09 08:10"]),
            "analyte": ["plt", "anc", "plt"],
            "value": [28.0, 1.1, 300.0],
            "unit": ["10^9/L"] * 3,
            "raw_value": ["28", "1100", "300"],
            "raw_unit": ["K/uL", "/uL", "K/uL"],
            "ref_low": [150.0, 1.8, 150.0],
            "ref_high": [400.0, 7.7, 400.0],
        }
    )
    res = results.results_long(p, labs)
    assert len(res) == 2
    plt_row = res[res["analyte"] == "plt"].iloc[0]
    assert (plt_row["raw_unit"], plt_row["grade"], plt_row["action"]) == ("K/uL", 3, "hold")
    assert "US PI 2.1" in plt_row["recommendation"]
    from_draws = results.results_long(p)
    assert set(from_draws["analyte"]) >= {"anc", "plt", "hgb", "alt"}
    assert from_draws["ref_low"].isna().all()


def test_window_presets():
    p = make_patient()
    # counted back from the latest draw (23 Feb, cycle 2), which is earlier than as_of (2 Mar)
    assert timeline.window_anchor(p, as_of=AS_OF) == dt.date(2026, 2, 23)
    # ... and every window runs on two weeks past today (what falls due next is on the chart)
    assert timeline.window_range("Last cycle", p, as_of=AS_OF) == (
        dt.date(2026, 2, 1),
        AS_OF + dt.timedelta(days=timeline.LOOKAHEAD_DAYS),
    )
    assert timeline.window_range("3 cycles", p, as_of=AS_OF)[0] == dt.date(2026, 1, 4)
    assert timeline.window_range("6 months", p, as_of=AS_OF)[0] == dt.date(2026, 2, 23) - dt.timedelta(days=183)
    with pytest.raises(ValueError, match="choose one of"):
        timeline.window_range("fortnight", p, as_of=AS_OF)


def test_cycle_overlay_groups_by_cycle_day():
    ov = results.cycle_overlay(make_patient(), "plt")
    assert list(ov["cycle"]) == [1, 1, 1, 2, 2, 2]
    assert ov.loc[ov["cycle"] == 2, "value"].min() == 24


def test_flowsheet_values_and_grades_align():
    values, grades = results.flowsheet(make_patient())
    assert values.shape == grades.shape
    assert values.index[0].startswith("ANC")
    first_col = values.columns[0]  # newest draw first
    assert first_col.startswith("23 Feb 26 C2D22")
    assert grades.loc["Platelets (10^9/L)", first_col] == 1
    assert grades.loc["Platelets (10^9/L)", values.columns[1]] == 4
    assert pd.isna(values.loc["ALT (U/L)", first_col])
    since, _ = results.flowsheet(make_patient(), since=dt.date(2026, 2, 1))
    assert len(since.columns) == 3


def test_flowsheet_headings_of_a_patient_without_a_course_are_dates_alone():
    """A patient known from lab files only has no cycle: the columns are the draw dates (the browser walk
    showed '16 Nov 26 CNoneDNone'); a baseline draw (cycle 0) still says so."""
    lab_only = make_patient(
        draws=[
            make_draw(dt.date(2026, 11, 9), None, None, {"plt": 28}, {"plt": 3}, action="review", dose=None),
            make_draw(dt.date(2026, 11, 16), None, None, {"plt": 22}, {"plt": 4}, action="review", dose=None),
        ]
    )
    assert list(results.flowsheet(lab_only)[0].columns) == ["16 Nov 26", "09 Nov 26"]
    baseline = make_patient(draws=[make_draw(dt.date(2026, 1, 2), 0, None, {"plt": 200}, {"plt": 0})])
    assert list(results.flowsheet(baseline)[0].columns) == ["02 Jan 26 baseline"]


def test_next_action_card():
    card = cards.next_action(make_patient(), rules="us_pi")
    assert card["headline"] == "Resume at 20 mg (21/28)"
    assert card["reasons"] == ["Platelets back to >= 30: next lower dose"]
    held = cards.next_action(_held("H"))
    assert held["headline"] == "HOLD lenalidomide" and "US PI 2.1" in held["reasons"][0]
    assert cards.next_action(make_patient(draws=[]))["headline"] == "No lab draw yet"


def test_upcoming_lists_biopsies_with_week_labels():
    p = make_patient(
        indication="MDS",
        next_pregnancy_test=str(AS_OF - dt.timedelta(days=1)),
        marrow_biopsies=[
            {"due": "2026-03-30", "week": 12, "done": False},
            {"due": "2026-06-22", "week": 24, "done": False},
            {"due": "2026-01-04", "week": 0, "done": True},
        ],
    )
    up = cards.upcoming(p, as_of=AS_OF)
    assert list(up["what"]) == [
        "Pregnancy test (REMS)",
        "Next CBC",
        "Marrow biopsy (week 12)",
        "Marrow biopsy (week 24)",
    ]
    assert list(up["overdue"]) == [True, False, False, False]


@pytest.mark.parametrize(
    ("name", "born", "initials", "age"),
    [
        ("Ada Lovelace", "1950-03-02", "A.L.", 76),
        ("Ada Lovelace", "1950-03-03", "A.L.", 75),
        ("", None, "Patient", None),
        ("Mary Ann Smith-Jones", dt.date(1960, 1, 1), "M.A.S.", 66),
    ],
)
def test_visit_identity_initials_and_age(name, born, initials, age):
    ident = cards.visit_identity(name, born, "F", as_of=AS_OF)
    assert (ident["initials"], ident["age"]) == (initials, age)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_patient_flags = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["on_treatment", "held", "review", "stopped"]),
        "action": st.sampled_from(["continue", "hold", "stay_held", "resume", "review", "stop"]),
        "plt_grade": st.integers(0, 4),
        "labs_overdue": st.booleans(),
        "marrow_in": st.one_of(st.none(), st.integers(-10, 90)),
        "labs_in": st.integers(-20, 40),
    }
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_patient_flags, min_size=1, max_size=12))
def test_worklist_is_sorted_by_its_most_urgent_flag(specs):
    patients = []
    for i, spec in enumerate(specs):
        p = make_patient(
            f"P{i:03d}",
            status=spec["status"],
            labs_overdue=spec["labs_overdue"],
            next_labs_due=str(AS_OF + dt.timedelta(days=spec["labs_in"])),
            next_marrow_biopsy=None if spec["marrow_in"] is None else str(AS_OF + dt.timedelta(days=spec["marrow_in"])),
        )
        p["draws"][-1]["action"] = spec["action"]
        p["draws"][-1]["grades"] = {"plt": spec["plt_grade"]}
        patients.append(p)
    wl = worklist.worklist(make_result(patients))
    assert sorted(wl["mrn"]) == sorted(p["mrn"] for p in patients)
    rank = {r.key: i for i, r in enumerate(worklist.FLAG_RULES)}
    urgency = [min((rank[f] for f in flags), default=len(rank)) for flags in wl["flags"]]
    assert urgency == list(wl["urgency"]) and urgency == sorted(urgency)
    # rows sharing their first flag are ordered by their next flags, then the earliest next CBC
    keys = [worklist.flags_order_key(flags) for flags in wl["flags"]]
    assert keys == sorted(keys)
    for k in set(keys):
        dues = [d for d, x in zip(wl["next_labs_due"], keys) if x == k]
        assert dues == sorted(dues)


def test_visit_summary_html_is_self_contained_escaped_and_anonymous():
    from lenadash.dashboard import visit

    p = make_patient(alerts=["<script>alert(1)</script>"])
    ident = cards.visit_identity("Ada Lovelace", "1950-03-02", "F", as_of=AS_OF)
    html = visit.visit_summary_html(
        identity=ident,
        indication="Multiple myeloma (Rd)",
        cycle_text="cycle 3, day 1",
        as_of=AS_OF,
        card=cards.next_action(_held("H")) | {"alerts": p["alerts"]},
        upcoming=cards.upcoming(p, as_of=AS_OF),
        flowsheet=results.flowsheet(p),
        figures=[("Labs", "<div id='fig'>FIGURE</div>")],
        sample=True,
    )
    assert html.startswith("<!DOCTYPE html>") and "@media print" in html and "FIGURE" in html
    assert "<h1>A.L., 76 y, F</h1>" in html and "SAMPLE CLINIC - synthetic data" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "Platelets 28 &lt; 30" not in html  # the reasons are the clinician's (rule ids, label sections)
    assert "MRN001" not in html and "Lovelace" not in html and "1950" not in html
    assert present.GRADE_FILLS[4] in html  # the C2D15 platelet cell (grade 4) is coloured


def test_visit_summary_flowsheet_fits_the_printed_page():
    """A long course: the export shows the latest draws only (and says so), scrolls sideways on screen
    and, on paper, is a fixed-layout table at full page width, so it never runs off an A4 landscape page."""
    import re

    from lenadash.dashboard import visit

    cols = [f"{i:02d} Jan 26 C1D{i}" for i in range(30, 0, -1)]  # newest first, 30 draws
    values = pd.DataFrame([[1.0 + i for i in range(30)]], columns=cols, index=["ANC (10^9/L)"])
    grades = pd.DataFrame([[1] * 30], columns=cols, index=values.index, dtype=object)
    ident = cards.visit_identity("Ada Lovelace", "1950-03-02", "F", as_of=AS_OF)
    p = make_patient()
    html = visit.visit_summary_html(
        identity=ident,
        indication="MM",
        cycle_text="cycle 2",
        as_of=AS_OF,
        card=cards.next_action(p),
        upcoming=cards.upcoming(p, as_of=AS_OF),
        flowsheet=(values, grades),
        figures=[],
    )
    table = html[html.index("<table") : html.index("</table>")]
    shown = re.findall(r"<th>(\d\d Jan 26 C1D\d+)</th>", table)
    assert shown == cols[: visit.FLOWSHEET_MAX_DRAWS] and visit.FLOWSHEET_MAX_DRAWS <= 12, shown
    assert f"latest {visit.FLOWSHEET_MAX_DRAWS} of 30 draws" in html
    assert '<div class="flowsheet">' in html and re.search(r"\.flowsheet \{[^}]*overflow-x: auto", html)
    print_css = html[html.index("@media print") :]
    assert re.search(r"\.flowsheet table \{[^}]*width: 100%[^}]*table-layout: fixed", print_css), print_css


@pytest.mark.parametrize(
    "indication, standard, allowed",
    [
        ("MM", 25, (25, 20, 15, 10, 5, 2.5)),
        ("MM_MAINT", 10, (15, 10, 5, 2.5)),
        ("MDS", 10, (10, 5, 2.5)),
        ("MCL", 25, (25, 20, 15, 10, 5)),
        ("FL", 20, (20, 15, 10, 5)),
        ("MZL", 20, (20, 15, 10, 5)),
    ],
)
def test_starting_doses_from_the_rule_tables_against_label(indication, standard, allowed):
    doses = setup_form.starting_doses(indication)
    assert doses.standard_mg == standard and doses.allowed_mg == allowed
    assert setup_form.dose_problem(indication, standard) is None
    assert setup_form.dose_problem(indication, 7.5) is not None


def test_missing_setup_fields_names_the_cockcroft_gault_inputs():
    assert setup_form.missing_setup_fields({"birth_date": None, "sex": None, "weight_kg": None}) == [
        "birth date",
        "sex",
        "weight",
    ]
    no_weight = {"birth_date": dt.date(1950, 1, 1), "sex": "M", "weight_kg": float("nan")}
    assert setup_form.missing_setup_fields(no_weight) == ["weight"]
    assert setup_form.and_join(["birth date", "sex", "weight"]) == "birth date, sex and weight"


STALE_AS_OF = dt.date(2026, 11, 20)  # the patient's last draw (23 Feb 2026) is 270 days old


@pytest.mark.parametrize("preset", ["Last cycle", "3 cycles", "6 months"])
def test_window_of_stale_data_is_anchored_at_the_latest_draw(preset):
    p = make_patient()
    window = timeline.window_range(preset, p, as_of=STALE_AS_OF)
    assert window[0] <= dt.date(2026, 2, 23) <= window[1]
    assert window[1] == dt.date(2026, 2, 23) + dt.timedelta(days=28 + timeline.LOOKAHEAD_DAYS)
    assert timeline.draws_in_window(p, window) >= 1


def test_window_before_the_latest_draw_has_no_draws():
    p = make_patient()
    # as_of before every draw: the anchor is as_of itself, and the window holds no draw
    early = dt.date(2025, 6, 1)
    assert timeline.window_anchor(p, as_of=early) == early
    window = timeline.window_range("Last cycle", p, as_of=early)
    assert timeline.draws_in_window(p, window) == 0
    note = timeline.empty_window_note("Last cycle", p, window, as_of=early)
    assert note.startswith("No draws between") and "(last cycle)" in note and "Choose 'All'" in note
    assert timeline.empty_window_note("All", p, timeline.window_range("All", p, as_of=AS_OF), as_of=AS_OF) is None
    assert timeline.empty_window_note("Last cycle", make_patient(draws=[]), window, as_of=early) is None


def test_next_action_says_the_cbc_is_overdue_and_how_old_the_advice_is():
    p = make_patient(labs_overdue=True, next_labs_due="2026-03-02")
    p["draws"][-1]["action"] = "continue"
    card = cards.next_action(p, rules="us_pi", as_of=STALE_AS_OF)
    assert card["overdue"].startswith("CBC overdue since 02 Mar 2026; the last advice is from a draw 270 days old")
    fresh = cards.next_action(make_patient(), rules="us_pi", as_of=AS_OF)
    assert fresh["overdue"] is None


def test_upcoming_collapses_overdue_biopsies_into_the_earliest_with_a_count():
    start = dt.date(2018, 1, 1)
    weeks = [12] + list(range(24, 409, 24))
    plan = [{"due": str(start + dt.timedelta(weeks=w)), "week": w, "done": False} for w in weeks]
    p = make_patient(indication="MDS", marrow_biopsies=plan)
    up = cards.upcoming(p, as_of=STALE_AS_OF)
    marrow = up[up["what"].str.startswith("Marrow")]
    overdue = marrow[marrow["overdue"]]
    assert list(overdue["what"]) == ["Marrow biopsy (week 12)"]
    n_overdue = len([b for b in plan if dt.date.fromisoformat(b["due"]) < STALE_AS_OF])
    assert overdue["why"].iloc[0].startswith(f"{n_overdue - 1} later marrow biopsies also overdue")
    assert len(marrow[~marrow["overdue"]]) == len([b for b in plan if dt.date.fromisoformat(b["due"]) >= STALE_AS_OF])


def _with_last_grades(mrn, grades, preexisting=()):
    p = make_patient(mrn)
    p["draws"][-1]["grades"] = dict(grades)
    p["draws"][-1]["preexisting"] = list(preexisting)
    return p


def test_grade3_flag_names_analytes_and_skips_pre_existing_ones():
    new = _with_last_grades("N1", {"anc": 3, "plt": 4, "hgb": 1})
    dialysis = _with_last_grades("D1", {"creatinine": 3, "anc": 0}, preexisting=["creatinine"])
    both = _with_last_grades("B1", {"creatinine": 3, "alt": 3}, preexisting=["creatinine"])
    overdue = make_patient("O1", labs_overdue=True)
    wl = worklist.worklist(make_result([dialysis, overdue, both, new])).set_index("mrn")
    assert wl.loc["N1", "flag_text"] == "Grade >= 3: ANC, Platelets"
    assert wl.loc["D1", "flags"] == ["grade3_baseline"]
    assert wl.loc["D1", "flag_text"] == "Grade >= 3: Creatinine (as at baseline)"
    assert wl.loc["B1", "flag_text"] == "Grade >= 3: ALT; Grade >= 3: Creatinine (as at baseline)"
    # pre-existing ranks below new toxicity and below every other flag
    assert list(wl.index) == ["B1", "N1", "O1", "D1"]


def _plan(dose, *when, schedule="21/28", rule="MM-ANC-FIRST", basis="start", source="US PI 2.1 Table 1") -> dict:
    return {
        "dose_mg": dose,
        "schedule": schedule,
        "when": [{"analyte": a, "op": ">=", "value": v} for a, v in when],
        "rule": rule,
        "source": source,
        "basis": basis,
    }


def _held_with(plan: dict, *, rules=("MM-ANC-FIRST",), schedule="21/28") -> dict:
    """A held MM patient whose hold draw's reason names a different rule than the plan (the card must
    follow the plan, not the words)."""
    p = make_patient(status="held", current_dose_mg=None, resume_plan=plan, schedule=schedule)
    p["draws"] = p["draws"][:3] + [
        make_draw(
            "2026-02-09",
            2,
            8,
            {"anc": 0.8, "plt": 28},
            {"anc": 3, "plt": 3},
            action="hold",
            dose=None,
            reasons=["Platelets 28 < 30: hold (US PI 2.1 Table 1, MM; rule MM-PLT)"],
            schedule=schedule,
        )
    ]
    p["draws"][-1]["rules"] = list(rules)
    return p


@pytest.mark.parametrize(
    ("plan", "schedule", "expected"),
    [
        # MM, first neutropenia episode, neutropenia the only toxicity: back to the starting dose
        (_plan(25.0, ("anc", 1.0)), "21/28", "Resume at 25 mg when ANC >= 1.0"),
        (
            _plan(20.0, ("plt", 30.0), rule="MM-PLT", basis="next_lower"),
            "21/28",
            "Resume at 20 mg when Platelets >= 30",
        ),
        # an episode with two triggering counts: both must recover
        (_plan(20.0, ("anc", 1.0), ("plt", 30)), "21/28", "Resume at 20 mg when ANC >= 1.0 and Platelets >= 30"),
        # at the 2.5 mg floor the label leaves the dose to the clinician
        (
            _plan(None, ("plt", 30.0), basis="clinician"),
            "21/28",
            "Resume dose: clinician decision when Platelets >= 30",
        ),
        # MM maintenance at 5 mg continuous resumes 5 mg on days 1-21: the schedule change is said
        (_plan(5.0, ("anc", 0.5), schedule="21/28"), "28/28", "Resume at 5 mg (21/28) when ANC >= 0.5"),
        (_plan(5.0, ("anc", 0.75), schedule="28/28"), "28/28", "Resume at 5 mg when ANC >= 0.75"),
        (_plan(2.5, ("plt", 50)), "21/28", "Resume at 2.5 mg when Platelets >= 50"),
    ],
)
def test_resume_plan_formats_the_engines_plan_against_label(plan, schedule, expected):
    p = _held_with(plan, schedule=schedule)
    assert cards.resume_plan(p) == expected
    assert cards.next_action(p, rules="us_pi")["resume"] == expected


def test_resume_plan_is_none_without_a_plan():
    assert cards.resume_plan(make_patient()) is None  # not held
    assert cards.next_action(_held_with(None))["resume"] is None  # held, but the engine gave no plan


def test_held_card_names_the_rules_and_source_from_data():
    p = _held_with(_plan(25.0, ("anc", 1.0)), rules=("MM-ANC-FIRST", "MM-ANC-FIRST-TOX"))
    card = cards.next_action(p, rules="us_pi")
    assert card["rules"] == ["MM-ANC-FIRST", "MM-ANC-FIRST-TOX"]
    assert card["resume_rule"] == "MM-ANC-FIRST: the starting dose"
    assert card["source"] == "US PI 2.1 Table 1"
    assert card["headline"] == "HOLD lenalidomide" and card["dose_text"] == "held"


def test_patient_label_says_no_course_yet_instead_of_a_trailing_dash():
    assert cards.patient_label("LD0001", "Ada Lovelace") == "LD0001 - Ada Lovelace"
    for blank in ("", None, float("nan"), "  "):
        assert cards.patient_label("BIG0001", blank) == "BIG0001 (no course yet)"


# --- one vocabulary, and the 0.1 names ---------------------------------------------------------


def test_analyte_labels_and_units_come_from_the_vocabulary():
    from lenadash.vocab import analytes

    assert set(present.FLOWSHEET_ORDER) == set(analytes.LABEL)
    for key, (label, unit) in present.ANALYTE_LABELS.items():
        assert (label, unit) == (analytes.LABEL[key], analytes.CANONICAL_UNIT[key])


def test_event_labels_name_every_event_kind():
    from lenadash.vocab import course

    assert set(present.EVENT_LABELS) == set(course.EVENT_KINDS) == set(setup_form.EVENT_HELP)


def test_views_keeps_the_0_1_names_for_scripts():
    from lenadash import views

    assert views.next_action is cards.next_action and views.worklist is worklist.worklist
    assert views.flowsheet is results.flowsheet and views.window_range is timeline.window_range
    assert views.INDICATION_NAMES["MDS"] == "del(5q) MDS"
    assert {n for n in views.__all__ if not hasattr(views, n)} == set()


@pytest.mark.parametrize("schedule, rest_band", [("21/28", 21), ("28/28", 28), (None, 21)])
def test_cycle_table_dosing_days_follow_the_schedule(schedule, rest_band):
    p = make_patient(schedule=schedule) if schedule else make_patient()
    cycles = timeline.cycle_table(p, as_of=AS_OF)
    first = cycles.iloc[0]
    assert (first["dosing_end"] - first["start"]).days == rest_band
    assert (first["end"] - first["start"]).days == 28


def test_course_record_uses_the_indications_defaults():
    record = setup_form.course_record(
        mrn=" T1 ",
        name=" Ada ",
        sex="F",
        birth_date=dt.date(1950, 1, 1),
        weight_kg=60.0,
        indication="FL",
        start_date=AS_OF,
        starting_dose_mg=20.0,
        schedule=setup_form.SCHEDULE_DEFAULT,
        combination=" ",
        reproductive_potential=False,
        menses="-",
        dialysis=False,
    )
    assert (record["mrn"], record["name"], record["schedule"], record["combination"], record["menses"]) == (
        "T1",
        "Ada",
        "21/28",
        "rituximab",
        None,
    )


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"mrn": ""}, "enter the patient's MRN"),
        ({"weight_kg": None, "sex": None}, "enter the patient's sex and weight"),
        ({"starting_dose_mg": 25.0, "indication": "MDS"}, "25 mg is not a starting dose for MDS"),
        ({}, None),
    ],
)
def test_course_problem_names_the_fix(change, problem):
    record = {
        "mrn": "T1",
        "sex": "F",
        "birth_date": dt.date(1950, 1, 1),
        "weight_kg": 60.0,
        "indication": "MM",
        "starting_dose_mg": 25.0,
        **change,
    }
    found = setup_form.course_problem(record)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize(
    "event, problem",
    [
        ({"event": "toxicity", "grade": None}, "a toxicity event needs its value: CTCAE grade 1-5."),
        ({"event": "dose_change", "dose_mg": None, "is_hold": True}, None),
        ({"event": "thromboprophylaxis", "agent": None}, "a thromboprophylaxis event needs its value"),
        ({"event": "marrow_biopsy"}, None),
    ],
)
def test_event_problem_names_the_missing_value(event, problem):
    row = setup_form.event_record(
        mrn="T1",
        date=AS_OF,
        kind="fever",
        detail="",
        temperature_c=38.5,
        grade=2,
        result="negative",
        dose_mg=10.0,
        is_hold=False,
        agent="aspirin",
    )
    row.update(event)
    found = setup_form.event_problem(row)
    assert (found is None) if problem is None else found.startswith(problem), found


def test_header_line_leaves_out_what_is_unknown():
    p = make_patient(indication="MDS")
    ident = {"age": 71, "sex": "F"}
    assert cards.header_line("MRN001", p, ident, cycle=2, cycle_day=8) == (
        "MRN MRN001  |  71 y  |  F  |  del(5q) MDS  |  started 2026-01-05  |  cycle 2 day 8  |  CrCl 72 mL/min"
    )
    bare = {"mrn": "BIG0001", "draws": []}
    assert cards.header_line("BIG0001", bare, {"age": None, "sex": None}, cycle=pd.NA, cycle_day=pd.NA) == (
        "MRN BIG0001  |  no treatment course"
    )


def test_flag_counts_count_rows_per_flag():
    df = pd.DataFrame({"flags": [["hold", "grade3"], ["grade3"], []]})
    counts = worklist.flag_counts(df)
    assert list(counts) == list(worklist.FLAG_LABELS)
    assert (counts["hold"], counts["grade3"], counts["review"]) == (1, 2, 0)


# --- stop (REMS), planned biopsies, notices on the cards ----------------------------------------


def test_stopped_card_says_why_and_when_from_data():
    p = _stopped("S1")
    events = _events(
        ("S1", STOP_DAY - dt.timedelta(days=28), "pregnancy_test", "negative", "negative"),
        ("S1", STOP_DAY, "pregnancy_test", "positive", "positive"),
        ("OTHER", STOP_DAY, "missed_period", "", None),  # another patient's event is not this one's cause
    )
    card = cards.next_action(p, rules="us_pi", as_of=AS_OF, events=events)
    assert card["headline"] == "Stopped (REMS): positive pregnancy test on 20 Feb 2026"
    assert (card["action"], card["status"], card["dose_mg"], card["dose_text"]) == ("stop", "stopped", None, "stopped")
    assert card["source"] == "Lenalidomide REMS" and card["resume"] is None
    assert present.ACTION_TONES[card["action"]] == present.ACTION_TONES["hold"]  # red, like a hold
    missed = _events(("S1", STOP_DAY, "missed_period", "", None))
    assert cards.next_action(p, events=missed)["headline"] == "Stopped (REMS): missed period on 20 Feb 2026"
    # without the events the date still comes from the notice; without the notice's date, from the draws
    assert cards.next_action(p)["headline"] == "Stopped (REMS) on 20 Feb 2026"
    p["notices"][0]["due"] = None
    assert cards.next_action(p)["headline"] == "Stopped (REMS) on 20 Feb 2026"


def test_stopped_patient_is_first_on_the_worklist_with_dose_stopped():
    patients = pd.DataFrame({"mrn": ["H1", "S1"], "name": ["Held Person", "Stopped Person"]})
    wl = worklist.worklist(make_result([_held("H1"), _stopped("S1")]), patients)
    assert list(wl["mrn"]) == ["S1", "H1"] and wl.loc[0, "flags"][0] == "stopped"
    shown = worklist.worklist_display(wl)
    assert shown.loc[0, "Dose / status"] == "STOPPED"
    assert cards.dose_text(_stopped("S2")) == "stopped" and cards.dose_text(make_patient()) == "20 mg"


def test_dose_steps_drop_to_zero_from_a_stop():
    steps = timeline.dose_steps(_stopped("S1", later_draws=2), as_of=AS_OF)
    stops = steps[steps["action"] == "stop"]
    assert len(stops) == 3 and (stops["dose_mg"] == 0).all()
    assert steps["dose_mg"].iloc[-1] == 0  # still stopped on the as-of date


def test_upcoming_shows_a_planned_biopsy_for_any_indication():
    planned = {"due": str(AS_OF + dt.timedelta(days=10)), "week": None, "done": False, "planned": True}
    p = make_patient(indication="MM", marrow_biopsies=[planned], next_marrow_biopsy=planned["due"])
    up = cards.upcoming(p, as_of=AS_OF)
    row = up[up["what"] == "Marrow biopsy (planned)"]
    assert len(row) == 1 and row["due"].iloc[0] == AS_OF + dt.timedelta(days=10) and not row["overdue"].iloc[0]
    assert "marrow_due" in worklist.patient_flags(p, as_of=AS_OF)
    # an MDS calendar overdue, and a planned one overdue after it: one line, the later one named
    calendar = {"due": "2026-01-05", "week": 12, "done": False}
    late = {"due": "2026-02-02", "week": None, "done": False, "planned": True}
    up = cards.upcoming(make_patient(indication="MDS", marrow_biopsies=[late, calendar]), as_of=AS_OF)
    marrow = up[up["what"].str.startswith("Marrow")]
    assert list(marrow["what"]) == ["Marrow biopsy (week 12)"]
    assert marrow["why"].iloc[0] == "1 later marrow biopsy also overdue (up to the planned one, due 02 Feb 2026)"


def test_card_alerts_are_the_notices_texts_most_urgent_first():
    p = with_notices(
        make_patient(),
        notice("thromboprophylaxis_missing", text="Dexamethasone with no thromboprophylaxis recorded"),
        notice("cbc_due", "info", text="CBC due on 07 Mar 2026"),
    )
    p["alerts"] = ["an old alert list the card does not use when notices are given"]
    card = cards.next_action(p)
    assert card["alerts"] == ["Dexamethasone with no thromboprophylaxis recorded", "CBC due on 07 Mar 2026"]
    assert [n["kind"] for n in card["notices"]] == ["thromboprophylaxis_missing", "cbc_due"]


def test_visit_summary_shows_notices_but_no_rule_ids_or_sources():
    from lenadash.dashboard import visit

    p = _held_with(_plan(25.0, ("anc", 1.0), source="US PI 2.1 Table 1 (MM)"), rules=("MM-ANC-FIRST",))
    with_notices(p, notice("hold", "urgent", text="Held: <ANC> below 1.0", source="US PI 2.1 Table 1 (MM)"))
    p["draws"][-1]["reasons"] = ["ANC 0.8 < 1.0: hold"]
    card = cards.next_action(p, rules="us_pi", as_of=AS_OF)
    html = visit.visit_summary_html(
        identity=cards.visit_identity("Ada Lovelace", "1950-03-02", "F", as_of=AS_OF),
        indication="Multiple myeloma (Rd)",
        cycle_text="cycle 2, day 8",
        as_of=AS_OF,
        card=card,
        upcoming=cards.upcoming(p, as_of=AS_OF),
        flowsheet=results.flowsheet(p),
        figures=[],
    )
    assert "Resume at 25 mg when ANC &gt;= 1.0" in html and "Held: &lt;ANC&gt; below 1.0" in html
    assert "MM-ANC-FIRST" not in html and "US PI 2.1 Table 1 (MM)" not in html and "Source:" not in html
    assert "ANC 0.8 &lt; 1.0: hold" not in html
    assert 'class="card hold"' in html


def test_every_flag_has_a_fill_on_the_overview():
    from lenadash.dashboard import ui

    assert set(ui.FLAG_FILLS) == set(worklist.FLAG_LABELS)


def test_a_hold_or_stop_recorded_after_the_latest_draw_shows_on_the_card():
    """The status is newer than the latest draw (a clinician's hold, a positive test after the last CBC):
    the card follows the status, and the superseded draw's reasons and rules are not shown."""
    held = make_patient(
        status="held",
        current_dose_mg=None,
        resume_plan=_plan(None, rule="CLINICIAN-HOLD", basis="clinician", source="clinician (dose_change event)"),
    )
    held["draws"][-1]["rules"] = ["MM-PLT"]
    card = cards.next_action(held, rules="us_pi")
    assert (card["action"], card["headline"], card["dose_mg"]) == ("hold", "HOLD lenalidomide", None)
    assert (
        card["resume"] == "Resume dose: clinician decision"
        and card["resume_rule"] == "CLINICIAN-HOLD: a clinician decision"
    )
    assert card["reasons"] == [] and card["rules"] == [] and card["source"] == "clinician (dose_change event)"
    stopped = with_notices(make_patient(status="stopped", current_dose_mg=None), notice("stopped", "urgent"))
    card = cards.next_action(stopped, events=_events(("MRN001", STOP_DAY, "pregnancy_test", "positive", "positive")))
    assert card["action"] == "stop" and card["headline"] == "Stopped (REMS): positive pregnancy test on 20 Feb 2026"
    assert card["reasons"] == [] and card["resume"] is None


@pytest.mark.parametrize(
    ("grading", "shown", "not_shown"),
    [
        (None, "CTCAE v5.0", "CTCAE v6.0"),
        ("ctcae_v5", "CTCAE v5.0", "CTCAE v6.0"),
        ("ctcae_v6", "CTCAE v6.0", "CTCAE v5.0"),
    ],
)
def test_the_visit_export_names_the_grading_version_the_assessment_used(grading, shown, not_shown):
    """A profile pinned to CTCAE v6.0 grades with v6 (the result's top-level `grading`): the export says so."""
    from lenadash.dashboard import visit

    p = make_patient()
    html = visit.visit_summary_html(
        identity=cards.visit_identity("Ada Lovelace", "1950-03-02", "F", as_of=AS_OF),
        indication="Multiple myeloma (Rd)",
        cycle_text="cycle 3, day 1",
        as_of=AS_OF,
        card=cards.next_action(p),
        upcoming=cards.upcoming(p, as_of=AS_OF),
        flowsheet=results.flowsheet(p),
        figures=[],
        grading=grading,
    )
    assert f"colour = {shown} grade" in html and f"Grades: {shown}" in html and not_shown not in html
    assert present.grading_name("ctcae_v9") == "ctcae_v9"  # never shown as another version


def test_the_dose_strip_drops_on_the_day_of_a_stop_recorded_after_the_last_draw():
    """LD0013 (sample clinic): last draw 16 Nov on 20 mg, positive pregnancy test 18 Nov, as of 20 Nov. The
    strip stays at 20 mg to 18 Nov and is 0 from then on - not 20 mg until the as-of date."""
    import json

    golden = json.loads((Path(__file__).parent / "golden" / "sample_clinic_assess.json").read_text())
    patient = next(p for p in golden["patients"] if p["mrn"] == "LD0013")
    events = pd.DataFrame(
        {"mrn": ["LD0013"], "date": [dt.date(2026, 11, 18)], "event": ["pregnancy_test"], "result": ["positive"]}
    )
    as_of = dt.date(2026, 11, 20)
    stopped_on = cards.stop_date(patient, events=events, as_of=as_of)
    assert stopped_on == dt.date(2026, 11, 18)
    steps = timeline.dose_steps(patient, as_of=as_of, stopped_on=stopped_on)
    dosing = steps[steps["dose_mg"] > 0]
    assert dosing["date"].max() == dt.date(2026, 11, 18)
    assert steps[steps["date"] > dt.date(2026, 11, 18)]["dose_mg"].eq(0).all()
    assert steps["dose_mg"].iloc[-1] == 0 and steps["date"].iloc[-1] == as_of
    # a course that is not stopped has no stop date
    held = next(p for p in golden["patients"] if p["mrn"] == "LD0016")
    assert cards.stop_date(held, events=events, as_of=as_of) is None
