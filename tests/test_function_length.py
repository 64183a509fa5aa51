"""No function in lenadash/ is longer than 80 lines (STYLE.md: short functions with names).

Counted from the `def` line to the last line of the body, docstring and comments included;
nested functions count on their own and inside their parent. Alembic's generated migrations
are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lenadash"
EXEMPT = (PACKAGE / "store" / "migrations",)
MAX_LINES = 80


def _functions() -> list[tuple[str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(path.is_relative_to(folder) for folder in EXEMPT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"
                found.append((where, node.end_lineno - node.lineno + 1))
    return found


def test_the_check_sees_the_package():
    assert len(_functions()) > 100


def test_no_function_is_longer_than_80_lines():
    long = sorted(((n, where) for where, n in _functions() if n > MAX_LINES), reverse=True)
    assert not long, f"split these into named steps (at most {MAX_LINES} lines each): " + ", ".join(
        f"{where} ({n} lines)" for n, where in long
    )
