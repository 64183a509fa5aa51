"""The dashboard reads decisions from the engine's fields, never from its sentences (issue 8, item 1).

Two checks:
- behaviour: the sample clinic assessed on several dates, then every reason, notice text, alert and other
  sentence of the engine replaced - by a placeholder, and by misleading words that name rules and flags -
  gives the same worklist (order, flags, status, dose), the same cards (action, status, dose, headline,
  resume line, rule ids) and the same upcoming dates as the unmodified result;
- source: no module of lenadash/dashboard or app_pages imports `re` or tests text with `in`, `find`,
  `startswith`, ... on a value named reason(s), alert(s) or text.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from lenadash.dashboard import cards, worklist

REPO = Path(__file__).resolve().parents[1]

# The sample clinic's today, and 28 April 2026, when LD0001 (MM) is in its first neutropenia hold.
AS_OFS = (dt.date(2026, 11, 20), dt.date(2026, 4, 28), dt.date(2026, 7, 1))
PLACEHOLDER = "TEXT"
# Words the old dashboard read meaning from: a rule id in the reason's form, the flag words.
MISLEADING = "clinician review: no thromboprophylaxis, VTE (US PI 2.1 Table 1, MM; rule MM-PLT) marrow biopsy overdue"
# Sentences of the contract, made for people (docs/assess.md).
PATIENT_TEXT = ("next_labs_reason", "next_pregnancy_test_reason", "renal_regimen")


@pytest.fixture(scope="module")
def clinic() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sample clinic's patients, labs and events, read from sample_data/ by the importer."""
    from lenadash import imports
    from lenadash.ingest import detect_kind, read_events, read_labs, read_patients

    frames: dict[str, list[pd.DataFrame]] = {"patients": [], "labs": [], "events": []}
    for path in imports.sample_files():
        data = path.read_bytes()
        kind = detect_kind(data)
        if kind == "labs":
            frames["labs"].append(read_labs(data, file_name=path.name).results)
        elif kind == "patients":
            frames["patients"].append(read_patients(data, file_name=path.name).rows)
        else:
            frames["events"].append(read_events(data, file_name=path.name).rows)
    return (
        pd.concat(frames["patients"], ignore_index=True),
        pd.concat(frames["labs"], ignore_index=True),
        pd.concat(frames["events"], ignore_index=True),
    )


def _assessed(clinic, as_of: dt.date) -> dict:
    from lenadash.clinical import assess

    patients, labs, events = clinic
    return assess.assess(patients, labs, events, as_of=as_of)


def _rewritten(result: dict, words: str) -> dict:
    """The result with every sentence of the engine replaced by `words`."""
    out = copy.deepcopy(result)
    for p in out["patients"]:
        p["alerts"] = [words for _ in p.get("alerts") or []]
        for n in p.get("notices") or []:
            n["text"] = words
        for d in p.get("draws") or []:
            d["reasons"] = [words for _ in d.get("reasons") or []]
        for h in p.get("hold_spans") or []:
            h["reason"] = words
        for key in PATIENT_TEXT:
            if p.get(key):
                p[key] = words
    return out


def _screens(result: dict, events: pd.DataFrame) -> dict:
    """What the worklist, the cards and the upcoming card show, text-bearing fields left out."""
    as_of = dt.date.fromisoformat(result["as_of"])
    wl = worklist.worklist(result)
    shown = {
        "worklist": wl.drop(columns=[]).astype(object).where(wl.notna(), None).to_dict("records"),
        "display": worklist.worklist_display(wl).to_dict("records"),
    }
    for p in result["patients"]:
        card = cards.next_action(p, rules=result.get("rules", ""), as_of=as_of, events=events)
        for text_field in ("reasons", "alerts", "notices"):
            card.pop(text_field)
        up = cards.upcoming(p, as_of=as_of).drop(columns=["why"])
        shown[p["mrn"] + "/" + str(p.get("start_date"))] = {"card": card, "upcoming": up.to_dict("records")}
    return shown


@pytest.mark.parametrize("words", [PLACEHOLDER, MISLEADING], ids=["placeholder", "misleading"])
@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
def test_screens_do_not_change_when_the_engines_sentences_do(clinic, as_of, words):
    result = _assessed(clinic, as_of)
    events = clinic[2]
    expected = _screens(result, events)
    got = _screens(_rewritten(result, words), events)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


def test_the_rewrite_reaches_the_text_the_screens_show(clinic):
    """The check above is not empty: the sample clinic has reasons and alerts, and they are rewritten."""
    result = _assessed(clinic, AS_OFS[0])
    before = [a for p in result["patients"] for a in p.get("alerts") or []]
    after = [a for p in _rewritten(result, PLACEHOLDER)["patients"] for a in p.get("alerts") or []]
    assert before and set(after) == {PLACEHOLDER}
    assert any(d.get("reasons") for p in result["patients"] for d in p["draws"])


# --- source: no module reads meaning from text --------------------------------------------------

# The contract's sentence fields (docs/assess.md), and the names code gives them.
TEXT_NAMES = frozenset({"reason", "reasons", "alert", "alerts", "text", "texts", *PATIENT_TEXT})
TEXT_METHODS = {"find", "rfind", "index", "startswith", "endswith", "count", "split", "partition", "contains"}
MODULES = sorted([*(REPO / "lenadash" / "dashboard").glob("*.py"), *(REPO / "app_pages").glob("*.py")])


def _names(node: ast.AST) -> list[str]:
    """Identifiers an expression uses: names, attributes and string keys that are identifiers."""
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.append(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.isidentifier():
            out.append(sub.value)
    return out


def _mentions_text(node: ast.AST, tainted: set[str]) -> bool:
    """The expression names an engine sentence (reasons, alerts, a notice's text, ...) or a variable that
    holds one (our own words, e.g. a table's "what" label or a flag's label, have other names)."""
    return any(n in tainted or n in TEXT_NAMES for n in _names(node))


def _tainted(tree: ast.AST) -> set[str]:
    """Variables bound from an engine sentence: loop and comprehension targets over one, assignments."""
    tainted: set[str] = set()
    for _ in range(3):  # a few passes reach chains like `rs = p["reasons"]; for r in rs: ...`
        for node in ast.walk(tree):
            if isinstance(node, ast.For | ast.comprehension) and _mentions_text(node.iter, tainted):
                tainted.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.Assign) and _mentions_text(node.value, tainted):
                tainted.update(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return tainted


def _text_reads(tree: ast.AST) -> list[str]:
    """Where a module imports `re` or tests an engine sentence with `in` or a string method."""
    tainted, found = _tainted(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: imports re" for m in mods if m == "re"]
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            if any(_mentions_text(c, tainted) for c in node.comparators):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in TEXT_METHODS
            and _mentions_text(node.func.value, tainted)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_module_reads_meaning_from_text(path):
    assert _text_reads(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "source",
    [
        "import re",
        "from re import compile",
        "x = 'thrombo' in ' '.join(patient['alerts'])",
        "x = any(w in text for w in words)",
        "x = [r for r in d.get('reasons') if r.startswith('Platelets')]",
        "x = reason.find('rule ')",
        "x = df['reason'].str.contains('hold')",
        "rs = p['reasons']\nfor r in rs:\n    hit = 'rule' in r",
    ],
)
def test_the_source_check_catches_text_reads(source):
    assert _text_reads(ast.parse(source))
