"""AppTest runs of every dashboard page on a seeded temporary database (real ingest + store path)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lenadash.dashboard import timeline, worklist

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120


def _sample_patients() -> pd.DataFrame:
    from lenadash import samples

    return pd.DataFrame([{"mrn": p.mrn, "name": p.name} for p in samples.PATIENTS])


def _app(**state) -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    for key, value in state.items():
        at.session_state[key] = value
    return at


def _texts(at: AppTest) -> str:
    """Every piece of text the page rendered (markdown, html, titles, tables, metrics, widgets)."""
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "success",
        "warning",
        "error",
        "metric",
    ):
        for el in getattr(at, kind):
            parts.append(str(el.value) + " " + str(getattr(el, "label", "")))
    for el in at.expander:
        parts.append(str(el.label))
    for el in at.get("html"):
        parts.append(el.proto.body)
    for el in at.dataframe:
        parts.append(el.value.to_csv())
    for kind in ("selectbox", "multiselect", "button", "text_input", "radio"):
        for el in getattr(at, kind):
            parts.append(str(el.label) + " " + str(getattr(el, "options", "")) + " " + str(getattr(el, "value", "")))
    return "\n".join(parts)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --- first run ---------------------------------------------------------------------------------


def test_first_run_offers_sample_clinic_and_upload(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exception(at)
    labels = [b.label for b in at.button]
    assert "Explore the sample clinic" in labels and "Upload your exports" in labels


def test_explore_sample_clinic_opens_charts_in_one_click(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="explore_demo").click().run()
    _no_exception(at)
    assert at.session_state["lenadash_demo"] is True
    from lenadash import store

    assert (empty_env / "demo.sqlite").exists()
    engine = store.make_engine(f"sqlite:///{empty_env / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        assert store.load_patients(session=s, include_without_course=True).empty, "demo data leaked into the clinic"
    engine.dispose()
    assert "SAMPLE CLINIC - synthetic data" in _texts(at)
    # one click lands on the sample clinic's worklist, with the most urgent patient's charts under it
    assert at.title[0].value == "Clinic overview"
    table = at.dataframe[0].value
    assert len(at.get("plotly_chart")) >= 1, "the first click should show charts"
    assert at.session_state["patient_mrn"] == table["MRN"].iloc[0]
    assert at.session_state["patient_mrn"] in set(_sample_patients()["mrn"])


def test_sample_clinic_as_of_stays_its_fixed_today_across_pages(empty_env):
    """After 'Explore the sample clinic' every page assesses as of samples.TODAY (unless the user picks
    another date), and the sidebar date shows the date actually used."""
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="explore_demo").click().run()
    _no_exception(at)

    def used() -> tuple:
        clinic = at.session_state["lenadash_clinic"]
        return clinic.as_of, at.sidebar.date_input[0].value

    assert used() == (samples.TODAY, samples.TODAY)
    # the browser is told the date (set_value), so it cannot send back the date it showed before
    widget = at.sidebar.date_input[0].proto
    assert widget.set_value and list(widget.value) == [samples.TODAY.isoformat()], widget
    for page in ("app_pages/overview.py", "app_pages/patient.py", "app_pages/overview.py"):
        at.switch_page(page).run()
        _no_exception(at)
        assert used() == (samples.TODAY, samples.TODAY), page
    assert f"{samples.TODAY:%A %d %B %Y}" in _texts(at)
    picked = samples.TODAY - dt.timedelta(days=10)  # a date the user picks is kept
    at.sidebar.date_input[0].set_value(picked).run()
    at.switch_page("app_pages/patient.py").run()
    assert used() == (picked, picked)


# --- overview ----------------------------------------------------------------------------------


def test_overview_worklist_is_ordered_by_urgency(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    _no_exception(at)
    assert at.title[0].value == "Clinic overview"
    table = at.dataframe[0].value
    # every sample patient, plus any MRN that has labs but no course (shown for review)
    assert set(_sample_patients()["mrn"]) <= set(table["MRN"])
    rank = {worklist.FLAG_LABELS[r.key]: i for i, r in enumerate(worklist.FLAG_RULES)}

    def flag_rank(part: str) -> int:  # "Grade >= 3: ANC" / "Grade >= 3: Creatinine (as at baseline)"
        if part.startswith("Grade >= 3:"):
            return rank["Grade >= 3 as at baseline" if part.endswith("(as at baseline)") else "Grade >= 3"]
        return rank[part]

    urgency = [min((flag_rank(f) for f in flags.split("; ") if f), default=len(rank)) for flags in table["Flags"]]
    assert urgency == sorted(urgency), list(zip(table["MRN"], table["Flags"]))
    assert urgency[0] < urgency[-1], "the sample clinic has both urgent and quiet patients"
    # names come from the patients file
    assert set(table["Name"]) <= set(_sample_patients()["name"]) | {""}


def test_overview_grade3_flag_names_analytes_and_pre_existing_ones(clinic_env):
    """The dialysis patient's creatinine grade 3 is graded the same at baseline (pre-existing): the flag
    says so and ranks it below new toxicity; other grade >= 3 flags name their analytes."""
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    _no_exception(at)
    flags = list(at.dataframe[0].value["Flags"])
    grade3 = [p for f in flags for p in f.split("; ") if p.startswith("Grade >= 3")]
    assert grade3 and all(re.fullmatch(r"Grade >= 3: [A-Za-z0-9 ,]+( \(as at baseline\))?", p) for p in grade3), grade3
    assert any(p == "Grade >= 3: Creatinine (as at baseline)" for p in grade3), grade3


def test_overview_filters_by_indication(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    at.multiselect(key="filter_indication").select("MDS").run()
    _no_exception(at)
    table = at.dataframe[0].value
    assert len(table) >= 1 and set(table["Indication"]) == {"MDS"}


def test_overview_filters_by_flag(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    at.multiselect(key="filter_flag").select("hold").run()
    _no_exception(at)
    table = at.dataframe[0].value
    assert len(table) >= 1 and table["Flags"].str.startswith("Hold now").all()


def test_overview_open_button_goes_to_patient(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    first = at.dataframe[0].value["MRN"].iloc[0]
    at.button(key="open_patient").click().run()
    _no_exception(at)
    assert at.session_state["patient_mrn"] == first
    assert len(at.get("plotly_chart")) >= 1


# --- patient -----------------------------------------------------------------------------------


def test_patient_page_shows_card_charts_and_flowsheet(clinic_env):
    at = _app(patient_mrn="LD0001")
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    # one identity line (no title): the name, MRN, age and sex, indication, cycle and day
    ident = at.markdown[0].value
    assert ident.startswith("**Alex Example** \\| MRN LD0001 \\|") and "cycle" in ident and not at.title
    text = _texts(at)
    assert "Upcoming" in text and "Next CBC" in text
    assert re.search(r"ld-card ld-(hold|review|ok)", text)
    # ANC + platelets beside the card, every panel, cycle overlay, dose intensity per cycle (dose history tab)
    assert [c.key for c in at.get("plotly_chart")] == [
        "fold_chart",
        "timeline_chart",
        "overlay_chart",
        "dose_intensity",
    ]
    assert not at.metric  # no "Dose now" metric: it truncated ("20...") at 1366; the card gives the dose
    # the flowsheet (after the overlay's nadir table): analytes down, draws across
    assert any(any(str(i).startswith("ANC") for i in d.value.index) for d in at.dataframe)


def test_patient_page_for_labs_without_a_course(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    table = at.dataframe[0].value
    orphans = list(table.loc[table["Name"] == "", "MRN"])
    assert orphans, "bad_rows.csv carries results for an MRN with no course"
    at.session_state["patient_mrn"] = orphans[0]
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    text = _texts(at)
    assert "no treatment course" in text and "ld-card ld-review" in text
    pickers = [sb for sb in at.selectbox if sb.label == "Patient"]
    assert pickers and pickers[0].format_func(orphans[0]) == f"{orphans[0]} (no course yet)"
    assert not any(pickers[0].format_func(m).endswith(" -") for m in pickers[0].options)
    at.switch_page("app_pages/overview.py").run()
    chooser = at.selectbox(key="open_choice")
    assert chooser.format_func(orphans[0]) == f"{orphans[0]} (no course yet)"


@pytest.mark.parametrize("preset", timeline.WINDOW_PRESETS)
def test_patient_time_windows(clinic_env, preset):
    at = _app(patient_mrn="LD0001")
    at.switch_page("app_pages/patient.py").run()
    at.session_state["window"] = preset
    at.run()
    _no_exception(at)
    assert len(at.get("plotly_chart")) == 4


def test_patient_with_stale_data_says_cbc_overdue_and_shows_the_last_draws(clinic_env):
    """As of years after the last draw: the card says the CBC is overdue and how old the advice is (not a
    plain green continue), and the default window is anchored at the latest draw, so the charts show it."""
    import json

    from lenadash import samples

    at = _app(patient_mrn="LD0008", lenadash_as_of=samples.TODAY + dt.timedelta(days=3 * 365))  # MDS
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    card = next(h.proto.body for h in at.get("html") if "ld-card" in h.proto.body and "Next CBC" not in h.proto.body)
    assert "CBC overdue since" in card and "the last advice is from a draw" in card and "days old" in card
    assert "ld-ok" not in card
    assert not any("No draws between" in i.value for i in at.info)
    x_range = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]["range"]
    assert x_range[0] < str(samples.TODAY) < x_range[1], x_range  # around the last draws, not 3 years later
    marrow = [line for line in _texts(at).split("<li>") if "Marrow biopsy" in line and "OVERDUE" in line]
    assert len(marrow) == 1 and "later marrow biopsies also overdue" in marrow[0], marrow


# --- upload ------------------------------------------------------------------------------------


def test_upload_shows_recognition_and_rejects_then_commits(empty_env):
    from lenadash import imports

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    _no_exception(at)
    files = [(p.name, p.read_bytes()) for p in imports.sample_files()]
    at.file_uploader[0].set_value([(name, data, "text/csv") for name, data in files]).run()
    _no_exception(at)
    text = _texts(at)
    assert "Kind:** labs" in text or "Kind: labs" in text
    assert "Column mapping" in text and "Results per analyte" in text
    assert "bad_rows.csv" in text
    problems = [d.value for d in at.dataframe if "hint" in d.value.columns]
    assert problems and all((p["hint"].str.len() > 0).all() for p in problems)
    at.button(key="commit").click().run()
    _no_exception(at)
    assert "Saved:" in _texts(at)
    history = [d.value for d in at.dataframe if "rows_imported" in d.value.columns]
    assert history and len(history[0]) == len(files)


def _upload(at: AppTest, files) -> None:
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files]).run()
    _no_exception(at)


def test_upload_accepts_any_file_type_and_explains_empty_and_excel_files(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    assert list(at.file_uploader[0].proto.type) == []  # any file type: the message explains a wrong one
    _upload(at, [("empty.csv", b""), ("labs.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00rest")])
    errors = " ".join(e.value for e in at.error)
    assert "empty.csv is empty. Export the results as CSV and upload again." in errors, errors
    assert "labs.xlsx is an Excel workbook" in errors and "save it as CSV" in errors, errors
    assert not [b for b in at.button if b.key == "commit"]


def test_upload_header_only_file_warns_and_offers_no_commit(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    _upload(at, [("events.csv", b"mrn,date,event,value,detail\n")])
    assert any("events.csv has a header row but no data rows" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "commit"]


def test_upload_warns_about_lab_mrns_without_a_registered_course(empty_env):
    """Before Commit: the MRNs with no patient/course are listed with what will happen and how to fix it;
    a patients file in the same batch registers its MRNs; after Commit: how many patients were created."""
    from lenadash import imports

    files = {p.name: p.read_bytes() for p in imports.sample_files()}
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    _upload(at, [(n, files[n]) for n in ("patients.csv", "bad_rows.csv", "europe_wide_si.csv")])
    warning = " ".join(w.value for w in at.warning if "MRN" in w.value)
    assert "1 MRN(s)" in warning and "LD0099" in warning and "LD0007" not in warning, warning
    assert "bare patient" in warning and "for review" in warning, warning
    assert "upload the patients file" in warning and "Setup" in warning, warning
    at.button(key="commit").click().run()
    _no_exception(at)
    warnings = [w.value for w in at.warning]
    assert any("1 patient(s) created from unregistered MRNs" in w for w in warnings), warnings


def test_upload_does_not_warn_when_every_lab_mrn_has_a_course(clinic_env):
    from lenadash import imports

    at = _app()
    at.switch_page("app_pages/upload.py").run()
    epic = next(p for p in imports.sample_files() if p.name == "epic_long_us.csv")
    _upload(at, [(epic.name, epic.read_bytes())])
    assert not [w.value for w in at.warning if "MRN" in w.value]


def test_upload_counts_say_draws_for_wide_files_and_results_for_long_files(empty_env):
    from lenadash import imports

    files = {p.name: p.read_bytes() for p in imports.sample_files()}
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    _upload(at, [(n, files[n]) for n in ("europe_wide_si.csv", "loinc_long.csv")])
    counts = [m.value for m in at.markdown if "Kind:" in m.value]
    wide = next(c for c in counts if "wide" in c or "draws" in c)
    assert "72 draws read, 867 results accepted" in wide and "rows read" not in wide, wide
    long = [c for c in counts if c != wide][0]
    assert "1249 results read, 1249 accepted" in long, long


def test_upload_problems_table_wraps_the_hint(empty_env):
    from lenadash import imports

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    bad = next(p for p in imports.sample_files() if p.name == "bad_rows.csv")
    _upload(at, [(bad.name, bad.read_bytes())])
    table = next(d for d in at.dataframe if "hint" in d.value.columns)
    assert table.proto.row_height > 64  # Streamlit wraps cell text when rows are taller than 4rem
    import json

    widths = {k: v.get("width") for k, v in json.loads(table.proto.columns).items()}
    assert widths["hint"] >= 400 and widths["line"] <= 60, widths


def test_card_status_in_words_and_held_card_says_the_resume_dose(clinic_env):
    at = _app(patient_mrn="LD0016")  # MM, held for platelets 22 at 25 mg
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    card = next(h.proto.body for h in at.get("html") if "ld-card ld-hold" in h.proto.body)
    assert "Resume at 20 mg when Platelets &gt;= 30" in card, card
    assert "Status: held" in card
    at = _app(patient_mrn="LD0001")
    at.switch_page("app_pages/patient.py").run()
    text = _texts(at)
    assert "on_treatment" not in text


def test_worklist_name_column_is_wide_enough(clinic_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    import json

    config = json.loads(at.dataframe[0].proto.columns)
    # the clinic-day table shows the name with the MRN in one "Patient" column (issue 9 item 7)
    assert config["Patient"]["width"] >= 160, config


# --- issue 8: the engine's decisions as the clinician reads them --------------------------------

FIRST_ANC_HOLD = dt.date(2026, 4, 28)  # LD0001 (MM, 25 mg): ANC 0.82 on 20 Apr and 0.91 on 27 Apr


def _card(at: AppTest) -> str:
    return next(
        h.proto.body for h in at.get("html") if "ld-card" in h.proto.body and "<h2>Upcoming" not in h.proto.body
    )


def _export_card(export: str) -> str:
    """The next-action card of the visit HTML export (plotly.js itself contains words like "Source:")."""
    start = export.index('<div class="card')
    return export[start : export.index("</div>", start)]


def _upcoming(at: AppTest) -> str:
    return next(h.proto.body for h in at.get("html") if "<h2>Upcoming" in h.proto.body)


def test_mm_first_neutropenia_hold_card_resumes_at_the_starting_dose(clinic_env):
    """Issue 8, done when: an MM first-ANC hold (neutropenia the only toxicity) shows "Resume at 25 mg when
    ANC >= 1.0" on the card, with the rule ids and the source for the clinician."""
    at = _app(patient_mrn="LD0001", lenadash_as_of=FIRST_ANC_HOLD)
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    card = _card(at)
    assert "ld-card ld-hold" in card and "Status: held" in card
    assert "Resume at 25 mg when ANC &gt;= 1.0" in card, card
    assert "Rules: MM-ANC-FIRST" in card and "Source: " in card
    assert not at.metric  # the dose metric is gone (it truncated at 1366); the card says it in full


def test_visit_view_of_the_first_neutropenia_hold_leaves_out_rule_ids_and_sources(clinic_env):
    at = _app(patient_mrn="LD0001", lenadash_as_of=FIRST_ANC_HOLD)
    at.query_params["visit"] = "1"
    at.switch_page("app_pages/visit.py").run()
    _no_exception(at)
    card, export = _card(at), at.session_state["lenadash_visit_html"]
    handout = at.session_state["lenadash_visit_handout"]
    # the patient's words on screen and on the handout; the care team's export keeps the card's resume line
    for shown in (card, handout):
        assert "When your neutrophils are back up to 1.0 or more, we plan to restart the capsules at 25 mg." in shown
    assert "Resume at 25 mg when ANC &gt;= 1.0" in _export_card(export)
    for shown in (card, _export_card(export), handout):
        assert "Source:" not in shown and "Rules:" not in shown
    for shown in (card, export, handout, at.get("plotly_chart")[0].proto.spec):  # nor in the chart's hover text
        assert "MM-ANC-FIRST" not in shown


@pytest.fixture(scope="module")
def rems_dir(seeded_dir, tmp_path_factory) -> Path:
    """The sample clinic plus, through the importer: a positive pregnancy test for LD0006 (MM maintenance,
    a woman of reproductive potential) and a planned marrow biopsy for LD0016 (myeloma)."""
    import shutil

    from lenadash import imports, store

    folder = tmp_path_factory.mktemp("rems")
    shutil.copy(seeded_dir / "lenadash.sqlite", folder / "lenadash.sqlite")
    events = folder / "events_issue8.csv"
    events.write_text(
        "mrn,date,event,value,detail\n"
        "LD0006,2026-11-18,pregnancy_test,positive,serum hCG after her last negative test\n"
        "LD0016,2026-12-07,marrow_biopsy_planned,,response assessment\n",
        encoding="utf-8",
    )
    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=[events])
    engine.dispose()
    return folder


@pytest.fixture
def rems_env(rems_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{rems_dir / 'lenadash.sqlite'}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    return rems_dir


def test_positive_pregnancy_test_is_first_on_the_worklist_as_stopped(rems_env):
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    _no_exception(at)
    table = at.dataframe[0].value
    stopped = table["Flags"].str.startswith("Stopped (REMS)")
    n_stopped = int(stopped.sum())
    assert "LD0006" in set(table.loc[stopped, "MRN"]), list(zip(table["MRN"], table["Flags"]))[:3]
    assert stopped.iloc[:n_stopped].all(), "stopped patients come first, before any hold"
    assert (table.loc[stopped, "Dose / status"] == "STOPPED").all()


def test_stopped_card_says_why_from_the_recorded_test(rems_env):
    at = _app(patient_mrn="LD0006")
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    card = _card(at)
    assert "ld-card ld-hold" in card, card  # red, like a hold
    assert "Stopped (REMS): positive pregnancy test on 18 Nov 2026" in card and "Status: stopped" in card
    assert "Resume at" not in card
    assert not at.metric  # the dose metric is gone (it truncated: "st..." at 1366)


def test_myeloma_planned_biopsy_shows_as_upcoming(rems_env):
    at = _app(patient_mrn="LD0016")
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    assert "<b>Marrow biopsy (planned)</b>: Mon 07 Dec 2026" in _upcoming(at), _upcoming(at)
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    table = at.dataframe[0].value.set_index("MRN")
    assert table.loc["LD0016", "Marrow biopsy"] == "2026-12-07"
    assert "Marrow biopsy due" in table.loc["LD0016", "Flags"]


def test_visit_view_and_export_show_the_notices_texts_without_identifiers(rems_env):
    at = _app(patient_mrn="LD0006")
    at.query_params["visit"] = "1"
    at.switch_page("app_pages/visit.py").run()
    _no_exception(at)
    import html

    card, export = _card(at), at.session_state["lenadash_visit_html"]
    notices = at.session_state["lenadash_clinic"].patient("LD0006")["notices"]
    assert "stopped" in [n["kind"] for n in notices]
    # the care team's export: the card's stop line and every notice's text; the patient: their own words
    shown = _export_card(export)
    assert "Stopped (REMS): positive pregnancy test on 18 Nov 2026" in shown
    assert all(html.escape(n["text"]) in shown for n in notices)
    assert "Source:" not in shown
    assert "<h2>Stop your capsules</h2>" in card and "REMS" not in card
    assert not any(html.escape(n["text"]) in card for n in notices)
    for shown in (card, export, at.session_state["lenadash_visit_handout"]):
        assert "LD0006" not in shown and "Frankie" not in shown and "1988-07-14" not in shown


# --- setup -------------------------------------------------------------------------------------


def _fill_person(at: AppTest, *, mrn: str, sex="F", birth=dt.date(1950, 3, 4), weight=64.0) -> None:
    at.text_input(key="setup_mrn").input(mrn)
    at.text_input(key="setup_name").input("Test Person")
    at.selectbox(key="setup_sex").select(sex)
    at.date_input(key="setup_birth").set_value(birth)
    at.number_input(key="setup_weight").set_value(weight)


def _save_course(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    _no_exception(at)


def _stored_patients(*, include_without_course: bool = False):
    from lenadash import store
    from lenadash.config import get_settings

    engine = store.make_engine(get_settings().database_url)
    with store.open_session(engine) as s:
        patients = store.load_patients(session=s, include_without_course=include_without_course)
    engine.dispose()
    return patients


def test_setup_adds_a_patient_and_an_event(empty_env):
    from lenadash import store
    from lenadash.config import get_settings

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    _no_exception(at)
    at.selectbox(key="setup_indication").select("MDS").run()
    _fill_person(at, mrn="T0001")
    _save_course(at)
    assert "Saved T0001" in _texts(at)
    patients = _stored_patients()
    assert list(patients["mrn"]) == ["T0001"] and patients["schedule"].iloc[0] == "28/28"
    assert patients["starting_dose_mg"].iloc[0] == 10.0  # the MDS label start, not 25
    assert patients["sex"].iloc[0] == "F" and patients["weight_kg"].iloc[0] == 64.0
    assert str(patients["birth_date"].iloc[0]) == "1950-03-04"

    engine = store.make_engine(get_settings().database_url)
    at.selectbox(key="event_kind").select("fever")
    at.number_input(key="event_temperature").set_value(38.7)
    next(b for b in at.button if b.label == "Record event").click().run()
    _no_exception(at)
    with store.open_session(engine) as s:
        events = store.load_events(session=s)
    engine.dispose()
    assert list(events["event"]) == ["fever"] and events["temperature_c"].iloc[0] == 38.7


def test_setup_new_patient_has_no_made_up_values(empty_env):
    """Birth date, sex and weight feed Cockcroft-Gault: empty until entered, and saving without them
    is refused naming what is missing."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    assert at.selectbox(key="setup_sex").value is None
    assert at.date_input(key="setup_birth").value is None
    assert at.number_input(key="setup_weight").value is None
    at.text_input(key="setup_mrn").input("T0003")
    _save_course(at)
    errors = " ".join(e.value for e in at.error)
    assert "birth date, sex and weight" in errors, errors
    assert "Saved" not in _texts(at)
    assert _stored_patients().empty


@pytest.mark.parametrize(
    "indication, label_start",
    [("MM", 25.0), ("MM_MAINT", 10.0), ("MDS", 10.0), ("MCL", 25.0), ("FL", 20.0), ("MZL", 20.0)],
)
def test_setup_starting_dose_defaults_to_the_indications_label_start(empty_env, indication, label_start):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    at.selectbox(key="setup_indication").select(indication).run()
    assert at.number_input(key=f"setup_dose_{indication}").value == label_start


def test_setup_refuses_a_dose_off_the_indications_ladder(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    at.selectbox(key="setup_indication").select("MDS").run()
    _fill_person(at, mrn="T0004")
    at.number_input(key="setup_dose_MDS").set_value(25.0)
    _save_course(at)
    errors = " ".join(e.value for e in at.error)
    assert "25 mg is not a starting dose for MDS" in errors and "10, 5, 2.5" in errors, errors
    assert _stored_patients().empty
    at.number_input(key="setup_dose_MDS").set_value(5.0)  # a renally reduced start: a lower ladder step
    _save_course(at)
    assert list(_stored_patients()["starting_dose_mg"]) == [5.0]


def test_setup_event_without_its_value_is_refused_with_a_hint(empty_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    _fill_person(at, mrn="T0002")
    _save_course(at)
    at.selectbox(key="event_kind").select("toxicity")
    next(b for b in at.button if b.label == "Record event").click().run()
    assert "needs its value: CTCAE grade 1-5" in _texts(at)


def test_an_unknown_rule_profile_is_shown_with_its_fix(clinic_env, monkeypatch):
    """A ProfileError (a LenadashError) while assessing stops the page with its message, not a crash."""
    monkeypatch.setenv("LENADASH_RULES", "no_such_profile")
    at = _app().run()
    _no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "Could not assess the clinic with rule profile 'no_such_profile': unknown rule profile" in errors, errors
    assert "set LENADASH_RULES" in errors


def test_setup_shows_what_the_user_can_fix(empty_env):
    """A LenadashError (here the model's InputError for an MRN longer than the database keeps) is shown
    with its message, in the form's words and without the typed value."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    _fill_person(at, mrn="LONG" * 20)
    _save_course(at)
    errors = " ".join(e.value for e in at.error)
    assert (
        errors.startswith("Not saved: patient MRN: string should have at most 64 characters")
        and "at most 64 characters" in errors
    ), errors
    assert "LONGLONG" not in errors and "Something went wrong" not in errors
    assert _stored_patients(include_without_course=True).empty


def test_setup_bug_shows_a_generic_message_and_saves_nothing(empty_env, monkeypatch):
    """Anything that is not a LenadashError is a bug: no details on the page, and what the failed
    write had flushed is rolled back."""
    from lenadash import store
    from lenadash.store import models

    def buggy_upsert(*, session, row):
        session.add(models.Patient(mrn=row["mrn"], name=row["name"]))
        session.flush()
        raise KeyError("weight_kg")

    monkeypatch.setattr(store, "upsert_patient_course", buggy_upsert)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    _fill_person(at, mrn="T0005")
    _save_course(at)
    errors = [e.value for e in at.error]
    assert errors == ["Something went wrong; nothing was saved."], errors
    assert "Saved" not in _texts(at)
    assert _stored_patients(include_without_course=True).empty


def test_welcome_shows_why_the_sample_clinic_cannot_open(empty_env, monkeypatch):
    """A StoreError from loading the demo (e.g. its URL is the clinic database) is shown with its fix."""
    from lenadash import imports
    from lenadash.errors import StoreError

    def refuse(**_):
        raise StoreError("the sample clinic would be loaded into your clinic database; set LENADASH_DEMO_DATABASE_URL")

    monkeypatch.setattr(imports, "load_demo", refuse)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="explore_demo").click().run()
    _no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "Could not open the sample clinic: the sample clinic would be loaded" in errors, errors
    assert at.title[0].value == "lenadash", "the page stops on the welcome page"


# --- visit -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script", ["app_pages/visit.py", "app_pages/patient.py", "app_pages/overview.py", "app_pages/setup.py"]
)
def test_visit_view_has_no_identifiers(clinic_env, script):
    """With ?visit=1 every page is the visit view: browser Back from the visit view goes to
    /patient?visit=1, and that must not show the name, MRN or birth date either."""
    patients = _sample_patients()
    at = _app(patient_mrn="LD0001")
    at.query_params["visit"] = "1"
    at.switch_page(script).run()
    _no_exception(at)
    text = _texts(at)
    assert at.title[0].value.startswith("A.E.")
    html = at.session_state["lenadash_visit_html"]
    assert "plotly" in html and "@media print" in html and len(html) > 1_000_000  # plotly.js inline
    handout = at.session_state["lenadash_visit_handout"]
    assert "plotly" not in handout and "@page" in handout and len(handout) < 100_000  # a static SVG chart
    for rendered in (text, html, handout):
        for mrn in patients["mrn"]:
            assert mrn not in rendered
        for name in patients["name"]:
            assert name not in rendered
        assert "1958-04-17" not in rendered and "17 Apr 1958" not in rendered
    for surname in {n.split()[-1] for n in patients["name"]}:  # plotly.js itself contains "Sample"
        assert surname not in text
    # no navigation: the only other page reachable is the hidden patient page via "End visit"
    assert [b.label for b in at.button] == ["End visit"]
    assert not at.sidebar.button and not at.sidebar.selectbox and not at.sidebar.date_input
    assert not at.selectbox, "no patient picker"


def test_end_visit_returns_to_the_patient_page(clinic_env):
    at = _app(patient_mrn="LD0001")
    at.query_params["visit"] = "1"
    at.switch_page("app_pages/visit.py").run()
    at.button(key="end_visit").click().run()
    _no_exception(at)
    assert "visit" not in at.query_params
    assert at.markdown[0].value.startswith("**Alex Example** \\|")


def test_overview_sees_another_sessions_edit_without_reload(seeded_dir, monkeypatch, tmp_path):
    """A course saved by another user (another session, here straight through the store) shows up
    on this session's next rerun: the session cache is keyed by store.data_version."""
    import shutil

    from lenadash import store

    db = tmp_path / "shared.sqlite"
    shutil.copy(seeded_dir / "lenadash.sqlite", db)
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{db}")
    at = _app()
    at.switch_page("app_pages/overview.py").run()
    _no_exception(at)
    assert "T0900" not in set(at.dataframe[0].value["MRN"])

    engine = store.make_engine(f"sqlite:///{db}")
    with store.open_session(engine) as s:
        store.upsert_patient_course(
            session=s,
            row={
                "mrn": "T0900",
                "name": "Other Session",
                "sex": "M",
                "birth_date": dt.date(1950, 1, 1),
                "weight_kg": 70.0,
                "indication": "MM",
                "start_date": dt.date(2026, 11, 2),
                "starting_dose_mg": 25.0,
                "schedule": "21/28",
                "combination": "dexamethasone",
                "reproductive_potential": False,
                "menses": None,
                "dialysis": False,
            },
        )
    engine.dispose()

    at.run()
    _no_exception(at)
    assert "T0900" in set(at.dataframe[0].value["MRN"])


@pytest.mark.parametrize("mrn", [f"LD{n:04d}" for n in range(1, 18)])
def test_every_sample_patient_page_draws_both_figures(clinic_env, mrn):
    """The first-screen ANC + platelet figure and the all-panels one, for every kind of sample course
    (held, stopped, review, an overdue MDS biopsy, a pregnancy test due)."""
    import json

    at = _app(patient_mrn=mrn)
    at.switch_page("app_pages/patient.py").run()
    _no_exception(at)
    assert at.markdown[0].value.startswith("**") and mrn in at.markdown[0].value
    fold, every = (json.loads(c.proto.spec) for c in at.get("plotly_chart")[:2])
    axes = [v.get("title", {}).get("text") for k, v in fold["layout"].items() if k.startswith("yaxis")]
    assert axes == ["dose mg", "ANC 10^9/L", "Platelets 10^9/L"], axes
    assert any(s.get("name") == "today" for s in fold["layout"]["shapes"])
    assert len(every["layout"]["shapes"]) >= len(fold["layout"]["shapes"])


def test_visit_view_draws_the_large_two_panel_chart(clinic_env):
    """ui.timeline_figure(..., large=True, visit=True): ANC and platelets with the dose strip, large type."""
    import json

    at = _app(patient_mrn="LD0016")
    at.query_params["visit"] = "1"
    at.switch_page("app_pages/visit.py").run()
    _no_exception(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    axes = [v.get("title", {}).get("text") for k, v in spec["layout"].items() if k.startswith("yaxis")]
    assert axes == ["dose mg", "ANC 10^9/L", "Platelets 10^9/L"], axes
    assert spec["layout"]["font"]["size"] > 16
