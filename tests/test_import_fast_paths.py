"""Import at the floor (issue 14 item 3): the fast paths give exactly what the full path gives.

- an identical file is recognised by its SHA-256 before it is parsed, with the same summary and audit row;
- a re-import whose rows are almost all unchanged compares them inside the database (a content hash per
  current row) and gives the counts and stored rows the full comparison gives.
"""

from __future__ import annotations

import json

import numpy as np
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


def _history(session) -> list[tuple]:
    """Every stored lab row (current and superseded) as plain values, in id order."""
    connection = session.connection()
    rows = connection.exec_driver_sql(
        "SELECT l.id, p.mrn, l.upload_id, l.collected_at, l.analyte, l.value, l.comparator, l.status, "
        "l.source_line, l.superseded_by_id FROM lab_result l JOIN patient p ON p.id = l.patient_id ORDER BY l.id"
    ).all()
    return [tuple(str(v) for v in row) for row in rows]


def _import_all(url: str, files: list[tuple[str, bytes]]) -> tuple[list[dict], list[tuple]]:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            summaries = [_summary_fields(imports.import_file(session=session, file_name=n, data=d)) for n, d in files]
            return summaries, _history(session)
    finally:
        engine.dispose()


def _without_fast_paths(monkeypatch) -> None:
    """The full comparison only: no stored hash matches, every day read with the patients' time span."""
    from lenadash.store import labs

    monkeypatch.setattr(labs, "_stored_hashes", lambda connection, df: (np.empty(0, np.int64), np.empty(0, np.int64)))
    monkeypatch.setattr(labs, "DAY_LOOKUPS_MAX", -1)


def _reimports(rows_file) -> list[tuple[str, bytes]]:
    base = rows_file()
    new_draw = [f"LX0001,{n},02/20/2026 09:00,{v},{u},Final" for n, v, u in (("ANC", "1.1", "10*3/uL"),) * 1]
    corrected = {(p, d, "ANC"): "0.9" for p in range(4) for d in (3, 17)}
    preliminary = rows_file(extra=["LX0002,PLT,02/21/2026 09:00,150,10*3/uL,Preliminary"])
    return [
        ("base.csv", base),
        ("same-plus-new.csv", rows_file(extra=new_draw)),
        ("corrections.csv", rows_file(change=corrected, extra=new_draw)),
        ("preliminary.csv", preliminary),
        ("final.csv", rows_file(extra=["LX0002,PLT,02/21/2026 09:00,150,10*3/uL,Final"])),
        # repeats and a correction inside one file; a date-only line of a stored timed result
        ("repeats.csv", rows_file(extra=[*new_draw, *new_draw, "LX0003,HGB,01/05/2026 08:03,11.9,g/dL,Final"])),
        ("date-only.csv", rows_file(extra=["LX0000,ANC,01/02/2026,2.5,10*3/uL,Final"])),
        ("back-to-base.csv", rows_file(extra=["LX0002,ANC,02/22/2026 09:00,2.0,10*3/uL,Final"])),
    ]


def _empty_again(url: str) -> None:
    engine = store.make_engine(url)
    try:
        store.drop_everything(engine)
        store.upgrade_schema(engine)
    finally:
        engine.dispose()


def test_a_reimport_compared_in_the_database_gives_what_the_full_comparison_gives(db_url, rows_file, monkeypatch):
    files = _reimports(rows_file)
    fast = _import_all(db_url, files)
    _empty_again(db_url)
    with monkeypatch.context() as patch:
        _without_fast_paths(patch)
        full = _import_all(db_url, files)
    assert fast == full
    summaries = {name: s for (name, _), s in zip(files, fast[0])}
    assert (
        summaries["same-plus-new.csv"]["rows_imported"] == 1 and summaries["same-plus-new.csv"]["rows_unchanged"] == 360
    )
    assert summaries["corrections.csv"]["rows_superseding"] == 8
    assert summaries["final.csv"]["rows_superseding"] == 1  # the final result replaces the preliminary one
    assert summaries["repeats.csv"]["rows_superseding"] == 1 and summaries["date-only.csv"]["rows_imported"] == 0
    assert summaries["preliminary.csv"]["rows_superseding"] == 8  # the base values correct the corrections back
    assert summaries["back-to-base.csv"]["rows_unchanged"] == 360


def test_most_of_a_reimport_never_reaches_the_full_comparison(sqlite_url, rows_file, monkeypatch):
    """The fast path is taken: only the new and changed keys reach the row-by-row comparison."""
    from lenadash.store import labs

    base, plus_new = _reimports(rows_file)[:2]
    seen: list[int] = []
    real = labs._write_changes

    def counting(connection, df, upload_id):
        seen.append(len(df))
        return real(connection, df, upload_id)

    monkeypatch.setattr(labs, "_write_changes", counting)
    _import_all(sqlite_url, [base, plus_new])
    assert seen == [360, 1]
