"""Issue 14's Done-when, through the app itself (AppTest, two sessions on one database, SQLite and PostgreSQL):
an import or an event recorded in one session shows in another session on its next rerun; a course edited in
Setup reassesses only that patient (the kept clinic, dashboard.kept, counts what it assesses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenadash import imports, samples, store
from lenadash.dashboard import kept

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
NEW_LABS = (
    b"MRN,Collected,Test,Result,Units\n"
    b"KS0001,2026-11-19 08:00,ANC,0.4,10^9/L\nKS0001,2026-11-19 08:00,Platelets,61,10^9/L\n"
)


@pytest.fixture
def shared_clinic(db_url, monkeypatch, tmp_path) -> str:
    """The sample clinic in one database (a file, or a throwaway PostgreSQL), as every session sees it."""
    engine = store.make_engine(db_url)
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=imports.sample_files())
    engine.dispose()
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", db_url)
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    kept.forget()
    return db_url


def _session(page: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    _fine(at)
    return at


def _fine(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _card(at: AppTest) -> str:
    return next(
        h.proto.body for h in at.get("html") if "ld-next" in h.proto.body and "<h2>Upcoming" not in h.proto.body
    )


def _accept(at: AppTest):
    return next(b for b in at.button if str(b.label).startswith("Accept"))


def test_an_event_recorded_in_one_session_shows_in_another_on_its_next_rerun(shared_clinic):
    clinician = _session("app_pages/patient.py", patient_mrn="LD0016")  # held for platelets: "Accept: hold"
    colleague = _session("app_pages/patient.py", patient_mrn="LD0016")
    assert "Decision recorded" not in _card(colleague) and not _accept(colleague).disabled

    _accept(clinician).click().run()
    _fine(clinician)
    assert "Decision recorded" in _card(clinician)

    colleague.run()  # the next rerun, nothing clicked
    _fine(colleague)
    assert "Decision recorded" in _card(colleague)
    assert _accept(colleague).disabled and _accept(colleague).label == "Accepted (recorded)"


def test_an_upload_in_one_session_shows_in_another_on_its_next_rerun(shared_clinic):
    uploader = _session("app_pages/upload.py")
    overview = _session("app_pages/overview.py")
    assert "KS0001" not in set(overview.dataframe[0].value["MRN"])
    before = len(kept.ASSESSED)

    uploader.file_uploader[0].set_value([("new.csv", NEW_LABS, "text/csv")]).run()
    uploader.button(key="commit").click().run()
    _fine(uploader)

    overview.run()
    _fine(overview)
    listed = overview.dataframe[0].value
    assert "KS0001" in set(listed["MRN"])
    assert kept.ASSESSED[before:] == ["KS0001"], "only the patient the file named was assessed"
    row = listed[listed["MRN"] == "KS0001"].iloc[0]
    assert row["ANC"].startswith("0.4") and row["Platelets"].startswith("61")


def test_a_course_edited_in_setup_reassesses_only_that_patient(shared_clinic):
    overview = _session("app_pages/overview.py")
    assessed = len(kept.ASSESSED)
    assert assessed >= 17  # the first session of this process assessed every patient once
    _session("app_pages/patient.py", patient_mrn="LD0001")
    assert len(kept.ASSESSED) == assessed, "a second session reassesses nothing"

    setup = _session("app_pages/setup.py", patient_mrn="LD0005")
    assert setup.selectbox(key="setup_patient").value == "LD0005"
    weight = setup.number_input(key="setup_weight_LD0005")
    weight.set_value(float(weight.value) + 4.0)
    setup.text_input(key="setup_reason_LD0005").set_value("weighed again at the visit")
    next(b for b in setup.button if b.label == "Save patient and course").click().run()
    _fine(setup)
    assert kept.ASSESSED[assessed:] == ["LD0005"]

    overview.run()  # the other session: the new weight is this patient's new input, nothing else changed
    _fine(overview)
    assert kept.ASSESSED[assessed:] == ["LD0005"]
