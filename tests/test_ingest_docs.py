"""docs/import.md documents every problem reason, unit spelling, plausibility limit and column alias role."""

from __future__ import annotations

from pathlib import Path

import pytest

from lenadash.vocab import analytes
from lenadash.ingest import REASONS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_problem_reason_has_a_row_with_its_fix(reason):
    rows = [line for line in DOC.splitlines() if line.startswith(f"| {reason} |")]
    assert rows, f"docs/import.md has no row for the problem reason {reason!r}"
    assert rows[0].count("|") >= 5 and rows[0].split("|")[4].strip(), "the row needs a 'how to fix' cell"


@pytest.mark.parametrize("unit", sorted({row.unit for row in analytes.UNIT_FACTORS}))
def test_every_unit_spelling_is_documented(unit):
    assert unit in DOC


@pytest.mark.parametrize("limit", analytes.PLAUSIBILITY, ids=lambda p: p.analyte)
def test_every_plausibility_limit_is_documented(limit):
    rows = [line for line in DOC.splitlines() if f" {limit.analyte} " in line or f", {limit.analyte} |" in line]
    assert any(f"{limit.low:g}-{limit.high:g}" in line for line in rows), limit
