"""Issue 9, items 1, 7 and 9 through the real app (AppTest): every patient visible (labs without a
treatment course are listed for review, with a way to add the course), `?mrn=` opens a patient, the
empty clinic offers the sample clinic, and every CSV the app offers is guarded against formulas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120
SAMPLE = REPO / "sample_data"


def _env(monkeypatch, tmp_path: Path, db: Path) -> None:
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")


def _import(db: Path, *paths: Path) -> None:
    from lenadash import imports, store

    engine = store.make_engine(f"sqlite:///{db}")
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=list(paths))
    engine.dispose()


@pytest.fixture(scope="module")
def labs_only_db(tmp_path_factory) -> Path:
    """A new clinic that uploaded one lab export and nothing else: every patient is a bare MRN."""
    db = tmp_path_factory.mktemp("labs_only") / "lenadash.sqlite"
    _import(db, SAMPLE / "epic_long_us.csv")
    return db


@pytest.fixture
def labs_only(labs_only_db, monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, labs_only_db)
    return labs_only_db


def _app(page: str | None = None, **state) -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    for key, value in state.items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _all_text(at: AppTest) -> str:
    parts = [str(el.value) for kind in ("title", "markdown", "caption", "info", "warning") for el in getattr(at, kind)]
    parts += [el.proto.body for el in at.get("html")]
    return "\n".join(parts)


# --- every patient visible ------------------------------------------------------------------------


def test_labs_only_clinic_lists_every_patient_for_review(labs_only):
    """The upload page said "shown on the clinic overview with status REVIEW": the overview must show
    them (it used to say "No patients yet")."""
    at = _app("app_pages/overview.py").run()
    _no_exception(at)
    assert "No patients yet" not in _all_text(at)
    table = at.dataframe[0].value
    assert {"LD0001", "LD0002", "LD0016"} <= set(table["MRN"])
    assert table["Flags"].str.startswith("Review").all()
    assert (table["Dose / status"] == "REVIEW: add a treatment course").all(), list(table["Dose / status"])
    assert (table["Course"] == "add course").all() and (table["Dose"] == "REVIEW").all()
    assert table["Patient"].str.endswith("(no course yet)").all()


def test_patient_page_without_a_course_says_review_and_opens_setup_for_that_patient(labs_only):
    at = _app("app_pages/patient.py", patient_mrn="LD0002").run()
    _no_exception(at)
    text = _all_text(at)
    assert "No patients yet" not in text
    assert "LD0002" in text and "review" in text.lower() and "add a treatment course" in text
    button = at.button(key="add_course")
    button.click().run()
    _no_exception(at)
    assert at.session_state["patient_mrn"] == "LD0002"
    # Setup opened (its title), still on this patient
    assert any("Setup" in t.value or "course" in t.value.lower() for t in at.title), [t.value for t in at.title]


def test_empty_clinic_overview_offers_the_sample_clinic(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path, tmp_path / "lenadash.sqlite")
    at = _app("app_pages/overview.py").run()
    _no_exception(at)
    assert "No patients yet" in _all_text(at)
    at.button(key="empty_demo").click().run()
    _no_exception(at)
    assert at.session_state["lenadash_demo"] is True
    assert at.title[0].value == "Clinic overview" and len(at.dataframe[0].value) > 5


# --- /patient?mrn=... -----------------------------------------------------------------------------


def test_patient_url_opens_that_patient(labs_only):
    at = _app("app_pages/patient.py", patient_mrn="LD0001")
    at.query_params["mrn"] = "LD0016"
    at.run()
    _no_exception(at)
    assert at.session_state["patient_mrn"] == "LD0016"
    assert "LD0016" in _all_text(at)


# --- CSV downloads --------------------------------------------------------------------------------

FORMULA_MRN = '=HYPERLINK("http://example.invalid","x")'
FORMULA_NAME = "@SUM(A1:A2)"


@pytest.fixture
def formula_clinic(monkeypatch, tmp_path):
    """One patient whose name is a spreadsheet formula, with a course and a draw; and whose MRN is one
    too - imports refuse such an MRN now, so it is written the way a database from before that check
    holds it (the CSV guard must not depend on the import's)."""
    import sqlite3

    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"
        f"FX1,{FORMULA_NAME},F,1958-04-17,70,MM,2026-10-01,25\n"
    )
    (folder / "labs.csv").write_text(
        "MRN,Collection Date/Time,Component,Result,Units\n"
        "FX1,11/10/2026 09:00,NEUTROPHILS ABSOLUTE,0.8,K/uL\nFX1,11/10/2026 09:00,PLATELETS,150,K/uL\n"
    )
    db = tmp_path / "lenadash.sqlite"
    _import(db, folder / "patients.csv", folder / "labs.csv")
    with sqlite3.connect(db) as con:
        assert con.execute("UPDATE patient SET mrn = ? WHERE mrn = 'FX1'", (FORMULA_MRN,)).rowcount == 1
    _env(monkeypatch, tmp_path, db)
    return db


@pytest.fixture
def served_files(monkeypatch) -> list[tuple[str | None, str, bytes]]:
    """Every file the app hands the browser (st.download_button's bytes), recorded on its way into
    Streamlit's media store, which still stores and serves it: (file name, MIME type, bytes)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    served: list[tuple[str | None, str, bytes]] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes):
            served.append((filename, mimetype, path_or_data))
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return served


def _csv_cells(data: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(data.decode("utf-8"))) for c in row]


def _formula_cells(cells: list[str]) -> list[str]:
    """Cells a spreadsheet would run (OWASP CSV injection); a plain number such as -1.5 is data."""
    import re

    number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
    return [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r")) and not number.fullmatch(c)]


def test_worklist_download_button_writes_no_formula_cell(formula_clinic, served_files):
    """The overview's own download (the bytes the browser receives), with every column in full."""
    at = _app("app_pages/overview.py").run()
    _no_exception(at)
    assert at.get("download_button"), "the overview offers the worklist as CSV"
    csvs = [(name, data) for name, mime, data in served_files if mime == "text/csv"]
    assert [name for name, _ in csvs] == ["worklist-2026-11-20.csv"]
    cells = _csv_cells(csvs[0][1])
    assert "'" + FORMULA_MRN in cells and "'" + FORMULA_NAME in cells
    assert _formula_cells(cells) == []
    header = next(csv.reader(io.StringIO(csvs[0][1].decode())))
    assert {"Flags", "MRN", "Name", "Indication", "Last draw", "Next CBC", "Marrow biopsy", "Pregnancy test"} <= set(
        header
    )


def test_every_download_the_pages_offer_is_guarded_or_not_csv(formula_clinic, served_files):
    """Walk every page with the formula patient open: any CSV any page offers has no formula cell."""
    for page in ("overview", "patient", "upload", "setup", "welcome"):
        at = _app(f"app_pages/{page}.py", patient_mrn=FORMULA_MRN).run()
        _no_exception(at)
    at = _app("app_pages/visit.py", patient_mrn=FORMULA_MRN)
    at.query_params["visit"] = "1"
    at.run()
    _no_exception(at)
    assert served_files, "the walk reached the downloads"
    for name, mime, data in served_files:
        if mime == "text/csv" or (name or "").endswith(".csv"):
            assert _formula_cells(_csv_cells(data)) == [], name


# --- text from the data on the pages of a patient without a course --------------------------------

MARKDOWN_MRN = "[m](https://example.invalid/m)"


def test_patient_without_a_course_shows_a_markdown_mrn_as_text(monkeypatch, tmp_path):
    """An MRN written as a Markdown link, known only from a lab file: the title, the header line and the
    Setup button show its characters; no element renders a link to example.invalid."""
    labs = tmp_path / "labs.csv"
    labs.write_text(
        "MRN,Collection Date/Time,Component,Result,Units\n"
        f'"{MARKDOWN_MRN}",11/10/2026 09:00,NEUTROPHILS ABSOLUTE,0.8,K/uL\n'
    )
    db = tmp_path / "lenadash.sqlite"
    _import(db, labs)
    _env(monkeypatch, tmp_path, db)
    for page in ("overview", "patient"):
        at = _app(f"app_pages/{page}.py", patient_mrn=MARKDOWN_MRN).run()
        _no_exception(at)
        sources = [el.value for kind in ("title", "markdown", "caption", "warning", "info") for el in getattr(at, kind)]
        sources += [b.label for b in at.button]
        assert not [s for s in sources if "https://example.invalid" in s or "](" in s.replace("\\](", "")], sources
    assert at.title[0].value == "\\[m\\](https:\u2060//example.invalid/m)"
    assert any(b.label.startswith("Add a treatment course for \\[m\\]") for b in at.button)
