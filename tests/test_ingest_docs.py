"""docs/import.md documents every problem reason, unit spelling, plausibility limit and column alias role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lenadash.ingest import REASONS
from lenadash.vocab import analytes

DOC = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text(encoding="utf-8")


def _table(header_start: str) -> list[list[str]]:
    """The body rows of the table in DOC whose header row starts with `header_start`, as lists of cells."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def _documented_units() -> set[tuple[str, str]]:
    """(measure, unit spelling) for every backticked spelling in the units table, per row's tests."""
    pairs = set()
    for tests, spellings, *_ in _table("| tests | units |"):
        for measure in tests.split(", "):
            pairs |= {(measure, unit) for unit in re.findall(r"`([^`]+)`", spellings)}
    return pairs


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_problem_reason_has_a_row_with_its_fix(reason):
    rows = [line for line in DOC.splitlines() if line.startswith(f"| {reason} |")]
    assert rows, f"docs/import.md has no row for the problem reason {reason!r}"
    assert rows[0].count("|") >= 5 and rows[0].split("|")[4].strip(), "the row needs a 'how to fix' cell"


@pytest.mark.parametrize(
    ("measure", "unit"), sorted({(m, row.unit) for row in analytes.UNIT_FACTORS for m in row.measures})
)
def test_every_unit_spelling_is_documented(measure, unit):
    # a whole backticked token in the row of its test: `/uL` is not documented by `K/uL`
    assert (measure, unit) in _documented_units(), f"docs/import.md: no `{unit}` in a units row for {measure}"


def test_the_units_table_documents_no_spelling_the_code_does_not_know():
    known = {(m, row.unit) for row in analytes.UNIT_FACTORS for m in row.measures}
    assert _documented_units() <= known


@pytest.mark.parametrize("limit", analytes.PLAUSIBILITY, ids=lambda p: p.analyte)
def test_every_plausibility_limit_is_documented(limit):
    limits = {row[0]: row[1] for row in _table("| test | limits |")}
    assert limits.get(limit.analyte) == f"{limit.low:g}-{limit.high:g}", limit
