"""The Upload page's "Saved:" line counts every part of a file's outcome in plain words."""

import pytest

from lenadash import store
from lenadash.dashboard.uploads import saved_line


def _done(**kw) -> dict:
    return store.ImportSummary(upload_id=1, kind=kw.pop("kind", "labs"), file_name="labs.csv", **kw).as_dict()


@pytest.mark.parametrize(
    "counts, expected",
    [
        (
            dict(rows_imported=1, rows_unchanged=0, rows_superseding=1),
            "labs.csv: 1 new result, 0 unchanged, 1 correction",
        ),
        (
            dict(rows_imported=12, rows_unchanged=3, rows_superseding=2),
            "labs.csv: 12 new results, 3 unchanged, 2 corrections",
        ),
        (
            dict(rows_imported=5, rows_unchanged=0, rows_superseding=0, rows_rejected=1),
            "labs.csv: 5 new results, 0 unchanged, 0 corrections, 1 rejected (see the problems above; not saved)",
        ),
        (dict(rows_imported=0, rows_unchanged=9, already_imported=True), "labs.csv: already imported, nothing new"),
    ],
)
def test_saved_line_counts_in_words(counts, expected):
    assert saved_line(_done(**counts)) == expected


def test_saved_line_counts_rows_for_patients_files():
    assert saved_line(_done(kind="patients", rows_imported=1)) == "labs.csv: 1 new row, 0 unchanged, 0 corrections"


def test_upload_page_says_a_rejected_row_was_not_saved(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_WATCH_FOLDER", raising=False)
    data = (
        b"MRN,Patient Name,Collection Date/Time,Component,Result,Units,Reference Range,Flag,Result Status\n"
        b"T0001,TEST,03/03/2026 10:29,PLATELET COUNT,150,K/uL,150-400,,Final\n"
        b"T0001,TEST,03/04/2026 10:29,PLATELET COUNT,lots,K/uL,150-400,,Final\n"
        b"T0001,TEST,03/05/2026 10:29,PLATELET COUNT,140,K/uL,150-400,,Final\n"
    )
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("app_pages/upload.py").run()
    at.file_uploader[0].set_value([("labs.csv", data, "text/csv")]).run()
    at.button(key="commit").click().run()
    assert not at.exception
    saved = [s.value for s in at.success if str(s.value).startswith("Saved:")]
    assert saved == [
        "Saved: labs.csv: 2 new results, 0 unchanged, 0 corrections, 1 rejected (see the problems above; not saved)"
    ]
