"""The package's layers (docs/architecture.md): which part may import which, and one way in for
Streamlit, Plotly, database sessions and the environment.

    app.py, app_pages/ -> dashboard -> watch -> {imports, clinical, store, ingest} -> vocab -> rules / errors / config

`clinical`, `store` and `ingest` never import each other. A part may import any part below it
(the table lists them all), never one above it or beside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lenadash"

BASE = {"config", "errors"}
# part -> the parts of lenadash it may import. A part is a role folder, or a top-level module.
MAY_IMPORT: dict[str, set[str]] = {
    "app_pages": {"dashboard", "access", "vocab"} | BASE,
    "app.py": {"dashboard", "access"} | BASE,
    # cli -> dashboard: `prepare` keeps the day's assessment through dashboard.kept, the code the app reads it with
    "cli": {"imports", "watch", "clinical", "store", "ingest", "vocab", "access", "backup", "dashboard"} | BASE,
    "__main__": {"cli"},
    "dashboard": {"imports", "watch", "clinical", "store", "ingest", "vocab", "samples", "access"} | BASE,
    "watch": {"imports", "store", "ingest", "vocab", "access"} | BASE,
    "imports": {"store", "ingest", "vocab", "access"} | BASE,
    # clinic mode: sign-in gate, permissions, audit trail (its tables live in store)
    "access": {"store", "vocab"} | BASE,
    "backup": {"store"} | BASE,
    "clinical": {"vocab"} | BASE,
    "store": {"vocab"} | BASE,
    "ingest": {"vocab"} | BASE,
    "samples": {"vocab"} | BASE,
    "vocab": BASE,
    "__init__": set(),  # the package root: version and the 0.1 module names (no imports)
    "errors": set(),
    "config": set(),
}


def _part(path: Path) -> str:
    if path.parent == ROOT:
        return path.name
    rel = path.relative_to(ROOT)
    if rel.parts[0] == "app_pages":
        return "app_pages"
    inner = path.relative_to(PACKAGE).parts
    return inner[0] if len(inner) > 1 else path.stem


def _files() -> list[Path]:
    found = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    return sorted(found + list((ROOT / "app_pages").glob("*.py")) + [ROOT / "app.py"])


def _lenadash_imports(path: Path) -> set[str]:
    """The parts of lenadash a module imports: `lenadash.<part>...` (and `from lenadash import <part>`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("lenadash."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lenadash":
                parts.update(a.name for a in node.names if a.name != "__version__")
            elif node.module.startswith("lenadash."):
                parts.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: use absolute imports (from lenadash.x import y)")
    return parts


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_part_is_in_the_table():
    unknown = sorted({_part(p) for p in _files()} - set(MAY_IMPORT))
    assert unknown == [], f"add these parts to MAY_IMPORT with what they may import: {unknown}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path):
    part = _part(path)
    allowed = MAY_IMPORT[part] | {part}
    wrong = sorted(_lenadash_imports(path) - allowed)
    assert wrong == [], f"{path.relative_to(ROOT)} ({part}) imports {wrong}; it may import only {sorted(allowed)}"


def test_clinical_store_and_ingest_never_import_each_other():
    trio = {"clinical", "store", "ingest"}
    for part in trio:
        assert not (MAY_IMPORT[part] & trio), f"{part} may not import {sorted(MAY_IMPORT[part] & trio)}"


def test_no_part_imports_one_above_it():
    """The table itself is a one-way graph (no cycle), so no part can reach one above it."""
    seen: dict[str, int] = {}

    def depth(part: str, trail: tuple[str, ...] = ()) -> int:
        assert part not in trail, f"import cycle in MAY_IMPORT: {' -> '.join(trail + (part,))}"
        if part not in seen:
            seen[part] = 1 + max((depth(p, trail + (part,)) for p in MAY_IMPORT.get(part, ())), default=0)
        return seen[part]

    for part in MAY_IMPORT:
        depth(part)


def _package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize(
    ("library", "allowed"),
    [("streamlit", {"dashboard/ui.py", "access/signin.py"}), ("plotly", {"dashboard/charts.py"})],
)
def test_only_one_module_imports_each_ui_library(library, allowed):
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _package_modules()
        if library in _imported_roots(p) and str(p.relative_to(PACKAGE)) not in allowed
    ]
    assert offenders == [], f"{library} is imported outside {sorted(allowed)}: {offenders}"


def _mentions(path: Path, dotted: str) -> bool:
    """True when the module's code refers to e.g. `os.environ` or `os.getenv` (not in strings)."""
    obj, attr = dotted.split(".")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == attr
            and isinstance(node.value, ast.Name)
            and node.value.id == obj
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == obj and any(a.name == attr for a in node.names):
            return True
    return False


def test_only_config_reads_the_environment():
    offenders = [
        p.name
        for p in _package_modules()
        if p.name != "config.py" and (_mentions(p, "os.environ") or _mentions(p, "os.getenv"))
    ]
    assert offenders == [], f"only lenadash/config.py may read os.environ: {offenders}"


def test_only_store_opens_database_sessions():
    offenders = []
    for p in _package_modules():
        if "store" in p.relative_to(PACKAGE).parts:
            continue
        text = p.read_text(encoding="utf-8")
        if "Session(" in text or "create_engine(" in text or "sessionmaker(" in text:
            offenders.append(str(p.relative_to(PACKAGE)))
    assert offenders == [], f"only lenadash/store/ may open database sessions: {offenders}"


def test_rule_modules_stay_pure():
    """clinical/ and vocab/ take plain data: no database, no UI."""
    forbidden = {"streamlit", "plotly", "sqlmodel", "sqlalchemy"}
    for p in _package_modules():
        if p.relative_to(PACKAGE).parts[0] in {"clinical", "vocab", "ingest"}:
            hits = _imported_roots(p) & forbidden
            assert not hits, f"{p.relative_to(PACKAGE)} imports {sorted(hits)}"
