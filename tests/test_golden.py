"""The sample clinic's `assess` output is byte-identical to the golden files kept beside this test.

The golden files were written by the 0.1 code before the role-folder restructure (issue "The
house"); a change that alters any advice, date, grade or reason for a sample patient fails here.
A deliberate change of behaviour regenerates them (`LENADASH_UPDATE_GOLDEN=1 ./dev test
tests/test_golden.py`) and says so in its commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lenadash import cli, imports

GOLDEN = Path(__file__).resolve().parent / "golden"
AS_OF = "2026-11-20"


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)


def _files_args() -> list[str]:
    files = {p.name: str(p) for p in imports.sample_files()}
    labs = ["epic_long_us.csv", "europe_wide_si.csv", "loinc_long.csv", "bad_rows.csv"]
    args = ["--patients", files["patients.csv"], "--events", files["events.csv"]]
    for name in labs:
        args += ["--labs", files[name]]
    return args


def _check(capsys, name: str, argv: list[str]) -> None:
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    path = GOLDEN / name
    if os.environ.get("LENADASH_UPDATE_GOLDEN") == "1":  # test-only switch, documented above
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8"), f"assess output differs from {path.name}"


@pytest.mark.parametrize(("fmt", "name"), [("json", "sample_clinic_assess.json"), ("csv", "sample_clinic_assess.csv")])
def test_assess_of_the_sample_files_is_unchanged(capsys, fmt, name):
    _check(capsys, name, ["assess", *_files_args(), "--as-of", AS_OF, "--format", fmt])


def test_assess_of_the_sample_clinic_imported_to_a_database_is_unchanged(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    assert cli.main(["import", "--db", url, *map(str, imports.sample_files())]) == 0
    capsys.readouterr()
    _check(capsys, "sample_clinic_assess_db.json", ["assess", "--db", url, "--as-of", AS_OF, "--format", "json"])
