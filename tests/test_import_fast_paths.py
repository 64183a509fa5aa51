"""Import at the floor (issue 14 item 3): the fast paths give exactly what the full path gives.

- an identical file is recognised by its SHA-256 before it is parsed, with the same summary and audit row;
- a re-import whose rows are almost all unchanged compares them inside the database (a content hash per
  current row) and gives the counts and stored rows the full comparison gives.
"""

from __future__ import annotations

import json

import pytest

from lenadash import imports, ingest, store


def _session(url: str):
    return store.open_session(store.make_engine(url))


def _summary_fields(summary: store.ImportSummary) -> dict:
    fields = summary.as_dict()
    fields.pop("upload_id")
    return fields


def test_an_identical_file_is_recognised_before_it_is_parsed(db_url, sample_dir, monkeypatch):
    data = (sample_dir / "bad_rows.csv").read_bytes()
    with _session(db_url) as session:
        first = imports.import_file(session=session, file_name="bad_rows.csv", data=data)
        # the summary the full path gives for the same bytes again (parsed, then found by its hash)
        kind, parsed = imports.read_file(data, file_name="renamed.csv")
        parsed_again = imports.save(session=session, kind=kind, file_name="renamed.csv", data=data, parsed=parsed)

        def no_parsing(*args, **kwargs):
            raise AssertionError("the file was parsed again")

        monkeypatch.setitem(imports.READERS, "labs", no_parsing)
        monkeypatch.setattr(ingest, "read_labs", no_parsing)
        again = imports.import_file(session=session, file_name="renamed.csv", data=data)
        assert again.already_imported and again.upload_id == first.upload_id
        assert _summary_fields(again) == _summary_fields(parsed_again)
        assert again.rows_rejected > 0 and all(r["file"] == "renamed.csv" for r in again.rejects)
        assert len(store.list_uploads(session=session)) == 1
        trail = store.audit.load(session=session)[::-1]  # oldest first
        audits = [json.loads(d) for d in trail.loc[trail["action"] == "upload", "detail"]]
        assert [a["already_imported"] for a in audits] == [False, True, True]
        assert audits[-1]["sha256"] == audits[0]["sha256"] and audits[-1]["upload_id"] == first.upload_id


def test_an_unknown_file_is_still_parsed_and_saved(sqlite_url, sample_dir):
    data = (sample_dir / "epic_long_us.csv").read_bytes()
    with _session(sqlite_url) as session:
        summary = imports.import_file(session=session, file_name="epic.csv", data=data)
        assert not summary.already_imported and summary.rows_imported > 100


@pytest.fixture
def rows_file():
    """A long CSV of `patients` x `draws` x 3 analytes, with optional changes applied to its value text."""

    def build(patients: int = 4, draws: int = 30, change: dict | None = None, extra: list[str] | None = None) -> bytes:
        lines = ["MRN,Component,Collection Date/Time,Result,Units,Result Status"]
        for p in range(patients):
            for d in range(draws):
                for name, unit, base in (("ANC", "10*3/uL", 2.5), ("PLT", "10*3/uL", 180), ("HGB", "g/dL", 11.2)):
                    when = f"{1 + d // 28:02d}/{1 + d % 28:02d}/2026 08:{p:02d}"
                    value = change.get((p, d, name), f"{base + p / 10:g}") if change else f"{base + p / 10:g}"
                    lines.append(f"LX{p:04d},{name},{when},{value},{unit},Final")
        return ("\n".join(lines + (extra or [])) + "\n").encode()

    return build
