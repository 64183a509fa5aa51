"""The package's import boundaries (docs/architecture.md): one way in for Streamlit, Plotly, sessions, env."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lenadash"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _mentions(path: Path, dotted: str) -> bool:
    """True when the module's code refers to e.g. `os.environ` or `os.getenv` (not in strings)."""
    obj, attr = dotted.split(".")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name):
            if node.value.id == obj:
                return True
        if isinstance(node, ast.ImportFrom) and node.module == obj and any(a.name == attr for a in node.names):
            return True
    return False


@pytest.mark.parametrize(
    ("library", "allowed"),
    [("streamlit", {"ui.py"}), ("plotly", {"charts.py"})],
)
def test_only_one_module_imports_each_ui_library(library, allowed):
    offenders = [p.name for p in _modules() if library in _imported_roots(p) and p.name not in allowed]
    assert offenders == [], f"{library} is imported outside {sorted(allowed)}: {offenders}"


def test_only_config_reads_the_environment():
    offenders = [
        p.name
        for p in _modules()
        if p.name != "config.py" and (_mentions(p, "os.environ") or _mentions(p, "os.getenv"))
    ]
    assert offenders == [], f"only lenadash/config.py may read os.environ: {offenders}"


def test_only_store_opens_database_sessions():
    offenders = []
    for p in _modules():
        if p.name in {"store.py"}:
            continue
        text = p.read_text(encoding="utf-8")
        if "Session(" in text or "create_engine(" in text or "sessionmaker(" in text:
            offenders.append(p.name)
    assert offenders == [], f"only lenadash/store.py may open database sessions: {offenders}"


def test_rule_modules_stay_pure():
    """Grading, dosing, renal, schedule and cycles take plain data: no database, no UI."""
    pure = {"grading.py", "dosing.py", "renal.py", "schedule.py", "cycles.py", "units.py", "analytes.py"}
    forbidden = {"streamlit", "plotly", "sqlmodel", "sqlalchemy"}
    for p in _modules():
        if p.name in pure:
            hits = _imported_roots(p) & forbidden
            assert not hits, f"{p.name} imports {sorted(hits)}"
