"""The bad-input corpus (tests/data/bad/, made by make_corpus.py): every file through the CLI and the
upload page's path, on SQLite and PostgreSQL; per file the exit status, the rows that land, the rows
rejected with their reasons, and nothing silent (every row read is landed, rejected or warned)."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

from lenadash import cli, imports, ingest, store
from lenadash.errors import LenadashError

BAD = Path(__file__).resolve().parent / "data" / "bad"
MANIFEST = list(csv.DictReader((BAD / "MANIFEST.csv").open(encoding="utf-8")))
REFUSED = [row for row in MANIFEST if row["exit"] != "0"]

# Bugs the corpus found (lenadash/ is not changed here): the refusal does not name the file's format.


def _id(row: dict) -> str:
    return row["file"]


def _split(cell: str) -> list[str]:
    return [part for part in cell.split(";") if part]


# --- running one file -------------------------------------------------------------------------------


def run_cli(url: str, path: Path) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `lenadash import --db URL PATH --json`, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["import", "--db", url, str(path), "--json"])
    return status, out.getvalue(), err.getvalue()


def run_page(url: str, path: Path) -> tuple[int, dict | None, str]:
    """The upload page's path: read_upload, then commit_uploads. (0 or 2, the summary, the page's error)."""
    prepared = imports.read_upload(path.name, path.read_bytes())
    if prepared.error is not None:
        return 2, None, prepared.error
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            outcomes = list(imports.commit_uploads(session=session, prepared=[prepared]))
    finally:
        engine.dispose()
    if not outcomes:  # a header-only file: nothing to save
        return 0, {"rows_read": 0, "rows_rejected": 0, "rejects": []}, ""
    assert outcomes[0].refused is None, outcomes[0].refused
    return 0, outcomes[0].summary.as_dict(), ""


def stored(url: str) -> dict:
    """What the database holds: current labs, patients' courses and events."""
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            return {
                "labs": store.load_labs(session=session),
                "patients": store.load_patients(session=session),
                "events": store.load_events(session=session),
            }
    finally:
        engine.dispose()


def accounted_lines(path: Path) -> tuple[int, set, set, set]:
    """(rows read, lines accepted, lines rejected, lines warned) as ingest reads the file."""
    prepared = imports.read_upload(path.name, path.read_bytes())
    problems = prepared.parsed.problems
    errors = set(problems.loc[problems["severity"] == "error", "line"].dropna().astype(int))
    warned = set(problems.loc[problems["severity"] == "warning", "line"].dropna().astype(int)) - {1}
    accepted = set(prepared.rows["line"].dropna().astype(int)) if len(prepared.rows) else set()
    return int(prepared.parsed.rows_read or 0), accepted, errors, warned


# --- per file ------------------------------------------------------------------------------------


def check_landed(row: dict, url: str, summary: dict) -> None:
    assert summary["rows_read"] == int(row["rows"])
    assert summary["rows_rejected"] == int(row["rejected"])
    assert {r["reason"] for r in summary["rejects"]} == set(_split(row["reasons"]))
    assert all(r["reason"] in ingest.REASONS and r["line"] for r in summary["rejects"])
    held = stored(url)
    kind = row["kind"]
    assert len(held[kind]) == int(row["landed"]), f"{kind} stored"
    assert all(len(frame) == 0 for other, frame in held.items() if other != kind), "stored as another kind"
    labs = held["labs"]
    for spec in _split(row["values"]):
        mrn, analyte, value = spec.split("|")
        mine = labs[(labs["mrn"] == mrn) & (labs["analyte"] == analyte)]
        assert any(abs(v - float(value)) < 1e-9 for v in mine["value"]), f"{spec} not current"


def check_nothing_silent(row: dict) -> None:
    rows_read, accepted, rejected, warned = accounted_lines(BAD / row["file"])
    assert rows_read == len(accepted | rejected | warned), "a row neither landed, rejected nor warned"
    prepared = imports.read_upload(row["file"], (BAD / row["file"]).read_bytes())
    reasons = set(prepared.parsed.problems["reason"])
    assert set(_split(row["warnings"])) <= reasons


@pytest.mark.parametrize("row", [r for r in MANIFEST if r["exit"] == "0"], ids=_id)
@pytest.mark.parametrize("path", ["cli", "page"])
def test_file_lands_or_is_reported(row, path, db_url):
    if path == "cli":
        status, out, err = run_cli(db_url, BAD / row["file"])
        assert (status, err) == (0, "")
        summary = json.loads(out)[0]
    else:
        status, summary, error = run_page(db_url, BAD / row["file"])
        assert (status, error) == (0, "")
    check_landed(row, db_url, summary)
    check_nothing_silent(row)


@pytest.mark.parametrize("row", REFUSED, ids=_id)
@pytest.mark.parametrize("path", ["cli", "page"])
def test_refused_file_saves_nothing_and_echoes_nothing(row, path, db_url):
    if path == "cli":
        status, out, message = run_cli(db_url, BAD / row["file"])
        assert out == ""
    else:
        status, _, message = run_page(db_url, BAD / row["file"])
    assert status == int(row["exit"]) == 2
    assert message and "Traceback" not in message
    assert not [secret for secret in _split(row["secrets"]) if secret in message]
    if path == "cli":  # the CLI refuses before it opens the database
        return
    held = stored(db_url)
    assert all(len(frame) == 0 for frame in held.values())


@pytest.mark.parametrize(
    "row, path",
    [
        pytest.param(
            row,
            path,
            id=f"{path}-{row['file']}",
        )
        for row in REFUSED
        if row["refusal"]
        for path in ("cli", "page")
    ],
)
def test_refusal_names_what_is_wrong(row, path, tmp_path):
    if path == "cli":
        _, _, message = run_cli(f"sqlite:///{tmp_path / 'x.sqlite'}", BAD / row["file"])
    else:
        message = imports.read_upload(row["file"], (BAD / row["file"]).read_bytes()).error or ""
    assert row["refusal"] in message
    assert "Columns found" not in message


# --- the corpus itself ----------------------------------------------------------------------------


def _generator():
    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_corpus_equals_a_fresh_generation(tmp_path):
    (tmp_path / "stale.csv").write_text("old")
    _generator().write(tmp_path)
    fresh = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in BAD.iterdir() if p.is_file() and p.name != "make_corpus.py"}
    assert fresh == committed
    assert len(MANIFEST) >= 40 and len(committed) == len(MANIFEST) + 1


def test_corpus_totals(tmp_path, capsys):
    """Every file once through the CLI on SQLite: the totals, and zero crashes, lost rows, silent changes."""
    totals = dict.fromkeys(("files", "rows", "landed", "rejected", "refused"), 0)
    crashes, lost, silent = [], [], []
    for n, row in enumerate(MANIFEST):
        url = f"sqlite:///{tmp_path / f'{n}.sqlite'}"
        try:
            status, out, err = run_cli(url, BAD / row["file"])
        except Exception as exc:  # a crash is counted, then reported by the assertion below
            crashes.append(f"{row['file']}: {type(exc).__name__}")
            continue
        totals["files"] += 1
        if status != 0:
            totals["refused"] += 1
            if status != int(row["exit"]) or "Traceback" in err:
                crashes.append(row["file"])
            continue
        summary = json.loads(out)[0]
        landed = len(stored(url)[row["kind"]])
        totals["rows"] += summary["rows_read"]
        totals["landed"] += landed
        totals["rejected"] += summary["rows_rejected"]
        if landed < int(row["landed"]):
            lost.append(row["file"])
        rows_read, accepted, rejected, warned = accounted_lines(BAD / row["file"])
        if rows_read != len(accepted | rejected | warned) or landed > int(row["landed"]):
            silent.append(row["file"])
    with capsys.disabled():
        print(
            f"\nbad-input corpus: {totals['files']} files ({totals['refused']} refused), {totals['rows']} rows, "
            f"{totals['landed']} landed, {totals['rejected']} rejected; crashes={len(crashes)}, "
            f"lost valid rows={len(lost)}, silent changes={len(silent)}"
        )
    assert (crashes, lost, silent) == ([], [], [])


# --- messages never echo a cell ---------------------------------------------------------------------


def _vocabulary() -> set[str]:
    """lenadash's own words a message may use although a file also holds them (folded to lower case):
    test keys, labels and synonyms, unit spellings, indications, schedules, event kinds and the coded
    values of patients and events files, result status words; and the two example tests of the
    unknown-analyte hint (MCV, RDW)."""
    from lenadash.ingest import events, patients
    from lenadash.vocab import analytes, course

    words = {a.key for a in analytes.ANALYTES} | set(analytes.LABEL.values()) | set(analytes.SYNONYMS)
    words |= {f.unit for f in analytes.UNIT_FACTORS} | set(course.INDICATIONS) | set(course.SCHEDULES)
    words |= set(course.EVENT_KINDS) | {"F", "M", "MCV", "RDW", "regular", "irregular", "hold"}
    words |= patients._YES | patients._NO | set(patients._SEX) | events._HOLD_WORDS | set(events._PREGNANCY)
    words |= {"final", "cancelled", "canceled", "deleted", "corrected", "amended"}
    return {w.casefold() for w in words if w and not w.isdigit()}  # numbers are never vocabulary


VOCABULARY = _vocabulary()
# Examples in lenadash's fixed texts that a corpus cell happens to equal (a date format, the placeholder birth date).
FIXED_EXAMPLES = ("2026-01-19 08:30", "2026-01-19", "1900-01-01")
# Numbers of the file's shape, not its cells: line numbers ("line 12") and field counts ("has 6 fields").
_LINE_NUMBER = re.compile(r"\b[Ll]ines? \d+|\b\d+ fields\b|\bheader has \d+")


def _cells_by_line(path: Path) -> dict[int, set[str]]:
    """Each data line's cells as ingest reads the file; none for a file it refuses."""
    from lenadash.ingest.tables import read_table

    try:
        table = read_table(path.read_bytes(), file_name=path.name)
    except LenadashError:
        return {}
    cells: dict[int, set[str]] = {}
    for line, values in zip(table.lines, table.df.to_numpy()):
        cells.setdefault(int(line), set()).update(v for v in (str(x).strip() for x in values) if v)
    return cells


def _echoed(text: str, cells: set[str]) -> list[str]:
    """The cells that `text` quotes: whole tokens; line numbers and field counts, lenadash's words and the
    fixed examples excepted."""
    text = _LINE_NUMBER.sub("", text)
    for example in FIXED_EXAMPLES:
        text = text.replace(example, "")
    return sorted(
        cell
        for cell in cells
        if cell.casefold() not in VOCABULARY
        and re.search(rf"(?<![\w.]){re.escape(cell)}(?!\w)(?!\.\d)", text, flags=re.IGNORECASE)
    )


@pytest.mark.parametrize("row", MANIFEST, ids=_id)
def test_no_message_echoes_a_cell_of_its_file(row):
    """No problem message or hint quotes a cell of the row it is about (a value, a name, an MRN, free text),
    and no refusal a cell of the file: the problems table's `value` column keeps the cell for the clinician,
    the message says where (line, column), why and how to fix it. Column names may be named; a header row
    that looks like data is never shown (test_refused_file_saves_nothing_and_echoes_nothing)."""
    path = BAD / row["file"]
    prepared = imports.read_upload(path.name, path.read_bytes())
    cells = _cells_by_line(path)
    echoed = {}
    if prepared.error is not None:
        every_cell = set().union(*cells.values()) if cells else set()
        echoed = {prepared.error: found} if (found := _echoed(prepared.error, every_cell)) else {}
    else:
        for problem in prepared.parsed.problems.to_dict("records"):
            mine = cells.get(int(problem["line"]), set()) | ({problem["value"]} if problem["value"] else set())
            for text in (problem["message"], problem["hint"]):
                if found := _echoed(text, mine):
                    echoed[text] = found
    assert echoed == {}


def test_the_echo_check_sees_a_quoted_cell():
    cells = {"see Dr Quillfeather", "furlongs", "5", "1.2", "MCV", "1900-01-01"}
    assert _echoed("Result 'see Dr Quillfeather' is not a number.", cells) == ["see Dr Quillfeather"]
    assert _echoed("No unit for 'WBC' 5; read as 10^9/L.", cells) == ["5"]
    assert _echoed("Unit 'furlongs' is not known for 'ANC'.", cells) == ["furlongs"]
    assert _echoed("Line 5 has the same result; value 1.2.", cells) == ["1.2"]
    assert _echoed("Line 5 has the same result (e.g. MCV); 1.25 or 51 are other numbers.", cells) == []
    assert _echoed("A placeholder such as 1900-01-01 is not a date.", cells) == []
