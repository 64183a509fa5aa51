"""The Upload page takes HL7 v2 and FHIR files as it takes CSV exports (AppTest, real ingest and store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture
def empty_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_WATCH_FOLDER", raising=False)
    monkeypatch.setenv("LENADASH_TIMEZONE", "America/New_York")  # the FHIR sample's offsets, the HL7's wall clock
    return tmp_path


def _text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.success, *at.error, *at.warning])


def test_upload_page_reads_hl7_and_fhir_and_commits_them(empty_env, sample_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/upload.py").run()
    feeds = sample_dir / "feeds"
    files = [
        ("patients.csv", (sample_dir / "patients.csv").read_bytes()),
        ("from_the_lab.dat", (feeds / "lab_results.hl7").read_bytes()),  # the name says nothing
        ("portal.json", (feeds / "lab_results_fhir.json").read_bytes()),
    ]
    at.file_uploader[0].set_value([(n, d, "application/octet-stream") for n, d in files]).run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "**Format:** HL7 v2 (ORU^R01 result messages)" in text and "**Format:** FHIR R4 (Observations)" in text
    assert text.count("**3897 results read, 3896 accepted**") == 2  # the clotted platelet count (status X) is rejected
    mapping = [d.value for d in at.dataframe if "file column" in d.value.columns]
    assert any("OBX-5" in m["file column"].tolist() for m in mapping)
    at.button(key="commit").click().run()
    assert not at.exception, at.exception
    saved = _text(at)
    assert (
        "from_the_lab.dat: 3895 new results, 0 unchanged, 1 correction, 1 rejected" in saved
        and "portal.json: 0 new results, 3896 unchanged, 0 corrections, 1 rejected" in saved
    )
    history = [d.value for d in at.dataframe if "rows_imported" in d.value.columns][0]
    assert set(history["source"]) == {""}  # uploaded by hand, not from the watched folder
