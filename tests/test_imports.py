"""imports: files to the database for the CLI, the upload page and the demo; and the upload page's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenadash import imports, store
from lenadash.errors import InputError, UnrecognisedFile

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")


def _stored(url: str) -> tuple[list[str], int]:
    """(kinds of the stored uploads, oldest first; number of current lab results)."""
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            return store.list_uploads(session=session)["kind"].tolist()[::-1], len(store.load_labs(session=session))
    finally:
        engine.dispose()


def test_read_upload_says_why_a_file_is_not_recognised(sample_dir):
    epic = (sample_dir / "epic_long_us.csv").read_bytes()
    item = imports.read_upload("epic.csv", epic)
    assert (item.kind, item.error, item.ready) == ("labs", None, True) and len(item.rows) > 100
    empty = imports.read_upload("empty.csv", b"")
    assert empty.error == "empty.csv is empty. Export the results as CSV and upload again."
    assert "is an Excel workbook" in imports.read_upload("x.xlsx", b"PK\x03\x04\x14\x00\x06\x00rest").error
    odd = imports.read_upload("shopping.csv", b"item,price\nbread,2\n")
    assert odd.kind is None and "Could not tell" in odd.error
    header_only = imports.read_upload("events.csv", b"mrn,date,event,value,detail\n")
    assert header_only.header_only and not header_only.ready


def test_read_upload_reads_a_utf16_export_like_the_cli_does(sample_dir):
    """NUL bytes alone do not make a file binary: UTF-16 exports carry them in every character."""
    utf16 = (sample_dir / "epic_long_us.csv").read_text(encoding="utf-8").encode("utf-16")
    item = imports.read_upload("epic16.csv", utf16)
    assert item.kind == "labs" and item.error is None


def test_commit_uploads_saves_in_order_and_reports_a_refused_file(session, sample_dir):
    prepared = [
        imports.read_upload(p.name, p.read_bytes())
        for p in (sample_dir / "epic_long_us.csv", sample_dir / "patients.csv")
    ]
    refused = imports.PreparedUpload(
        name="broken.csv",
        data=b"x",
        kind="labs",
        parsed=prepared[0].parsed.__class__(
            **{**vars(prepared[0].parsed), "results": prepared[0].parsed.results.assign(mrn="")}
        ),
    )
    outcomes = list(imports.commit_uploads(session=session, prepared=[*prepared, refused]))
    assert [o.name for o in outcomes] == ["patients.csv", "epic_long_us.csv", "broken.csv"]
    assert outcomes[0].summary.rows_imported > 0 and outcomes[1].summary.patients_created == 0
    assert outcomes[2].summary is None and "without an MRN" in outcomes[2].refused
    assert len(store.list_uploads(session=session)) == 2


def test_paths_and_assess_files_name_the_file_to_fix(tmp_path, sample_dir):
    with pytest.raises(InputError, match="is a folder"):
        imports.read_path(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        imports.check_paths([tmp_path / "nope.csv"])
    odd = tmp_path / "shopping.csv"
    odd.write_text("item,price\nbread,2\n")
    with pytest.raises(UnrecognisedFile, match="shopping.csv: "):
        imports.read_assess_inputs(patients=sample_dir / "patients.csv", labs=[odd])
    inputs = imports.read_assess_inputs(patients=sample_dir / "patients.csv", labs=[sample_dir / "bad_rows.csv"])
    assert inputs.events is None and inputs.report["rows_rejected"] == len(inputs.report["rejects"]) > 0


# --- the upload page: a bug is a generic message, never "not recognised" -------------------------------


@pytest.fixture
def upload_page(monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/upload.py").run()
    return at, f"sqlite:///{tmp_path / 'lenadash.sqlite'}"


def _upload_samples(at: AppTest, sample_dir: Path, *names: str) -> None:
    at.file_uploader[0].set_value([(n, (sample_dir / n).read_bytes(), "text/csv") for n in names]).run()


def _errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


@pytest.mark.parametrize(
    ("failing_kind", "message", "kinds_saved"),
    [
        ("patients", "Something went wrong; nothing was saved.", []),
        ("labs", "Something went wrong; only patients.csv was saved, nothing from the other files.", ["patients"]),
    ],
)
def test_a_bug_on_commit_shows_a_generic_message_and_what_was_saved(
    upload_page, sample_dir, monkeypatch, failing_kind, message, kinds_saved
):
    at, url = upload_page
    _upload_samples(at, sample_dir, "patients.csv", "epic_long_us.csv")
    real_save = imports.save

    def buggy(*, kind, **kwargs):
        if kind == failing_kind:
            raise KeyError("analyte")
        return real_save(kind=kind, **kwargs)

    monkeypatch.setattr(imports, "save", buggy)
    at.button(key="commit").click().run()
    assert not at.exception
    assert message in _errors(at) and "Not recognised" not in _errors(at) and "analyte" not in _errors(at)
    assert _stored(url) == (kinds_saved, 0)


def test_a_bug_while_reading_an_upload_is_not_called_unrecognised(upload_page, sample_dir, monkeypatch):
    at, url = upload_page

    def buggy(data, *, file_name=""):
        raise ValueError("Length mismatch: Expected axis has 3 elements")

    monkeypatch.setitem(imports.READERS, "labs", buggy)
    _upload_samples(at, sample_dir, "epic_long_us.csv")
    assert not at.exception
    assert "Something went wrong; nothing was saved." in _errors(at)
    assert "Not recognised" not in _errors(at) and "Length mismatch" not in _errors(at)
    assert not [b for b in at.button if b.key == "commit"]


def test_a_file_the_store_refuses_is_still_named_after_the_commit(upload_page, sample_dir, monkeypatch):
    at, url = upload_page
    _upload_samples(at, sample_dir, "patients.csv", "events.csv")
    real_save = imports.save

    def refuse_events(*, kind, **kwargs):
        if kind == "events":
            raise store.StoreError("an event needs an MRN; fill the mrn column")
        return real_save(kind=kind, **kwargs)

    monkeypatch.setattr(imports, "save", refuse_events)
    at.button(key="commit").click().run()
    assert not at.exception
    assert "events.csv: not saved - an event needs an MRN; fill the mrn column" in _errors(at)
    assert _stored(url) == (["patients"], 0)
