"""The tables in docs/*.md that are made from the code and the rules (cog blocks) are up to date."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cogapp import Cog

DOCS = Path(__file__).resolve().parents[1] / "docs"
GENERATED = sorted(p for p in DOCS.glob("*.md") if "[[[cog" in p.read_text(encoding="utf-8"))


def test_the_generated_tables_are_where_the_docs_need_them():
    assert {p.name for p in GENERATED} >= {"cli.md", "dosing.md", "grading.md", "import.md"}


@pytest.mark.parametrize("page", GENERATED, ids=lambda p: p.name)
def test_generated_tables_are_up_to_date(page, monkeypatch):
    monkeypatch.chdir(DOCS.parent)
    cog = Cog()
    out, err = io.StringIO(), io.StringIO()
    cog.set_output(stdout=out, stderr=err)
    status = cog.main(["cog", "--check", "-I", str(DOCS), str(page)])
    assert status == 0, (
        f"docs/{page.name}: a generated table is stale; run ./dev docs\n{out.getvalue()}{err.getvalue()}"
    )
