"""The tables in docs/*.md that list rules, problem reasons, units, CTCAE bands and CLI options,
made from the code and the rule files so that the docs cannot drift.

The markdown holds cog blocks (https://cog.readthedocs.io, as datasette and sqlite-utils do):

    <!-- [[[cog
    import doc_tables
    cog.out(doc_tables.dose_rules("us_pi"))
    ]]] -->
    ...generated table...
    <!-- [[[end]]] -->

`./dev docs` rewrites every generated region; `./dev docs --check` (CI, and
tests/test_docs_tables.py) fails when one is stale. Edit this file or the data, never the region.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lenadash.config import RULES_DIR

DOCS = Path(__file__).resolve().parent


# --- markdown -------------------------------------------------------------------------------------


def _cell(text: object) -> str:
    """One table cell: a `|` inside would end the cell, a newline the row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table, ending with a newline."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    return f"`{text}`"


def _read_rules(name: str) -> list[dict[str, str]]:
    with (RULES_DIR / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- docs/dosing.md: rule profiles, dose rules, ladders ---------------------------------------------


def profiles() -> str:
    """Every rule profile of rules/profiles.csv."""
    rows = [
        (
            _code(p["id"]),
            p["name"],
            " ".join(_code(f) for f in p["files"].split()),
            _code(p.get("grading") or "ctcae_v5"),
            p.get("indications") or "(those its rules name)",
            p.get("capsules_mg") or "(2.5 5 10 15 20 25)",
            p["source"],
        )
        for p in _read_rules("profiles.csv")
    ]
    return table(["profile", "name", "files", "grading", "indications", "capsules (mg)", "source"], rows)


def _profile_files(profile: str, prefix: str) -> list[str]:
    for row in _read_rules("profiles.csv"):
        if row["id"] == profile:
            return [f for f in row["files"].split() if f.startswith(prefix)]
    raise KeyError(f"no profile {profile!r} in rules/profiles.csv")


def _branch(rule: dict[str, str]) -> str:
    """When the row applies, in words: the window, the dose and baseline at the trigger, the episode."""
    analyte = rule["analyte"].upper()
    parts = []
    if rule["window"] == "first_4_weeks":
        parts.append("first 4 weeks")
    elif rule["window"] == "after_4_weeks":
        parts.append("after 4 weeks")
    if dose := rule["at_dose"]:
        op = dose.rstrip("0123456789.")
        parts.append(f"dose {op + ' ' if op else ''}{dose[len(op) :]} mg")
    if rule["baseline_min"]:
        parts.append(f"baseline >= {rule['baseline_min']}")
    if rule["baseline_below"]:
        parts.append(f"baseline < {rule['baseline_below']}")
    if rule["episode"] in ("first", "later"):
        parts.append(f"{rule['episode']} {analyte} episode")
    if rule["other_toxicity"] == "no":
        parts.append(f"{'neutropenia' if rule['analyte'] == 'anc' else analyte} the only toxicity")
    elif rule["other_toxicity"] == "yes":
        parts.append("with other toxicity")
    return ", ".join(parts) or "always"


def _hold_when(rule: dict[str, str]) -> str:
    from lenadash.clinical.dosing import FEVER_C

    value = rule["hold_value"]
    if rule["hold_ref"] == "baseline":
        value = f"{float(value) * 100:g}% of baseline"
    text = f"{rule['analyte']} {rule['hold_op']} {value}"
    if rule["persist_days"]:
        text += f" for >= {rule['persist_days']} days"
    if rule["with_fever"] == "yes":
        text += f" with fever >= {FEVER_C:g} C"
    if rule["with_transfusion"] == "yes":
        text += " with platelet transfusion"
    return text


def _resume_dose(value: str) -> str:
    return {"next_lower": "next lower (ladder)", "start": "starting dose"}.get(value, f"{value} mg")


def dose_rules(profile: str = "us_pi") -> str:
    """Every row of the profile's dose rule tables (rules/dose_*.csv), one alternative trigger each."""
    rows = []
    for name in _profile_files(profile, "dose_"):
        for r in _read_rules(name):
            rows.append(
                (
                    _code(r["rule"]),
                    r["indication"],
                    r["analyte"],
                    _branch(r),
                    _hold_when(r),
                    f"{r['analyte']} {r['resume_op']} {r['resume_value']}",
                    _resume_dose(r["resume_dose"]),
                    r["source"],
                )
            )
    header = [
        "rule",
        "indication",
        "analyte",
        "branch (when the trigger fires)",
        "hold when",
        "resume when",
        "resume dose",
        "source",
    ]
    return table(header, rows)


def ladders(profile: str = "us_pi") -> str:
    """The dose reduction ladder of each indication (rules/ladders*.csv), highest step first."""
    steps: dict[str, list[dict[str, str]]] = {}
    for name in _profile_files(profile, "ladders"):
        for r in _read_rules(name):
            steps.setdefault(r["indication"], []).append(r)
    rows = []
    for indication, ladder in steps.items():
        ladder.sort(key=lambda r: int(r["step"]))
        doses = ", ".join(f"{r['dose_mg']} mg" + (f" {r['schedule']}" if r["schedule"] else "") for r in ladder)
        sources = "; ".join(dict.fromkeys(r["source"] for r in ladder))
        rows.append((indication, doses, sources))
    return table(["indication", "ladder (step: dose, schedule)", "source"], rows)


# --- docs/import.md: problem reasons, unit spellings, plausibility limits ----------------------------

# What the clinician does about each problem reason, and whether the row is kept. The meaning of
# each reason is lenadash.ingest.REASONS; problem_reasons() fails when the two tables disagree, so
# a new reason cannot reach a release without its fix in docs/import.md.
FIXES: dict[str, tuple[str, str]] = {
    "missing patient": ("error", "fill in the MRN, or delete the row"),
    "unreadable date": ("error", "write it like 2026-01-19 08:30, 01/19/2026 8:30 AM or 19.01.2026 08:30"),
    "conflicting result": ("warning", "if the earlier line is right, delete the later one or correct its time"),
    "implausible date": ("error", "correct the date (or its year) in the source system"),
    "ambiguous date": ("warning", "if they are day first, export ISO dates"),
    "non-numeric result": ("error", "look up the result in the lab system; enter a number if there is one"),
    "no result": ("error", "nothing to fix; delete the row to silence it"),
    "unknown unit": ("error", "use one of the units listed in the hint; add the unit"),
    "unknown analyte": (
        "error (long) / warning (wide column)",
        "nothing to fix if the test is not needed; otherwise rename it or give its LOINC",
    ),
    "percentage, not a count": ("error (long) / warning (wide column)", "export the absolute count (10^9/L)"),
    "implausible value": ("error", "correct the value or the unit, as the hint suggests"),
    "assumed unit": ("warning", "add the unit to the export"),
    "unreadable reference range": ("warning", "write ranges as 3.5-5.0, <150 or >60"),
    "reference range on another scale": ("warning", "export the range in the same unit as the result"),
    "duplicate row": ("warning", "nothing to fix"),
    "malformed row": ("error", "put values that contain the delimiter in double quotes, or export again"),
    "unreadable message": ("error", "send whole messages (MSH first) or valid JSON resources; export again"),
    "not a result message": ("warning", "nothing to fix if it is not a lab result"),
    "invalid sex": ("error", "write F or M"),
    "invalid weight": ("error", "enter kg, e.g. 72.5, or leave blank"),
    "unknown indication": ("error", "use one of those codes"),
    "text too long": ("error", "shorten the cell, or check that the column holds what its header says"),
    "control character": ("error", "remove the control character in the source system and export again"),
    "unsafe MRN": ("error", "correct the MRN in the source system"),
    "look-alike MRN": ("warning", "if both lines are one patient, correct the MRN in the source system"),
    "invalid dose": ("error", "2.5, 5, 10, 15, 20 or 25"),
    "invalid schedule": ("error", "write 21/28 or 28/28, or leave blank"),
    "invalid value": ("error", 'follow the hint (e.g. "negative or positive", "grade 1-5")'),
    "value ignored": (
        "warning",
        "leave the value empty; the date column is the planned or missed date; notes go in detail",
    ),
    "start before birth": ("error", "check both dates (US files: MM/DD/YYYY)"),
    "duplicate course": ("error", "keep one row per course"),
    "unknown event": ("error", "use one of the event names"),
}


def problem_reasons() -> str:
    """Every problem reason ingest can report (lenadash.ingest.REASONS), with its severity and fix."""
    from lenadash.ingest import REASONS

    if set(REASONS) != set(FIXES):
        raise ValueError(
            "docs/doc_tables.py FIXES and lenadash.ingest.REASONS disagree: "
            f"without a fix {sorted(set(REASONS) - set(FIXES))}, "
            f"no longer reported {sorted(set(FIXES) - set(REASONS))}"
        )
    rows = [(reason, *FIXES[reason][:1], meaning, FIXES[reason][1]) for reason, meaning in REASONS.items()]
    return table(["reason", "severity", "what it means", "how to fix"], rows)


def _factor(factor: float) -> str:
    """1/88.4 reads better than 0.0113122; 0.4667 stays as it is."""
    text = f"{factor:g}"
    inverse = 1 / factor
    if len(text) > 6 and abs(inverse - round(inverse, 1)) < 1e-9:
        return f"1/{inverse:g}"
    return text


def unit_spellings() -> str:
    """Every unit spelling of lenadash.vocab.analytes.UNIT_FACTORS, grouped by tests and factor."""
    from lenadash.vocab import analytes, units

    groups: dict[tuple[tuple[str, ...], float, str], list[str]] = {}
    for row in analytes.UNIT_FACTORS:
        groups.setdefault((row.measures, row.factor, row.source), []).append(row.unit)
    rows = []
    for (measures, factor, source), spellings in groups.items():
        stored = sorted({units.canonical_unit(m) for m in measures})
        rows.append(
            (", ".join(measures), ", ".join(_code(u) for u in spellings), _factor(factor), ", ".join(stored), source)
        )
    return table(["tests", "units", "x factor", "stored unit", "source"], rows)


def plausibility() -> str:
    """The plausibility limits of lenadash.vocab.analytes.PLAUSIBILITY, in the stored unit."""
    from lenadash.vocab import analytes

    rows = [(p.analyte, f"{p.low:g}-{p.high:g}", analytes.CANONICAL_UNIT[p.analyte]) for p in analytes.PLAUSIBILITY]
    return table(["test", "limits", "stored unit"], rows)


# --- docs/grading.md: CTCAE v5.0 and v6.0 bands ----------------------------------------------------


_WHEN = {
    "": "",
    "baseline": "with a baseline",
    "baseline_normal": "baseline normal (or none)",
    "baseline_abnormal": "baseline abnormal",
    "baseline_below_lln": "baseline below LLN",
    "baseline_not_above_uln": "baseline <= ULN (or none)",
    "baseline_above_uln": "baseline > ULN",
    "fasting": "fasting sample (never: no flag)",
    "not_known_fasting": "not known fasting",
}


def _bound(text: str) -> str:
    return text.replace("*", " x ").replace("BASELINE", "baseline")


def _band(row: dict[str, str]) -> str:
    """`lower <= v < upper` with the inclusive ends of the CTCAE words (rules/ctcae_v5.csv)."""
    lower, upper = _bound(row["lower"]), _bound(row["upper"])
    below = "<=" if row["upper_closed"] == "true" else "<"
    if lower and upper:
        return f"{lower} {'<=' if row['lower_closed'] == 'true' else '<'} v {below} {upper}"
    if lower:
        return f"v {'>=' if row['lower_closed'] == 'true' else '>'} {lower}"
    return f"v {below} {upper}" if upper else ""


@dataclass
class _Term:
    """The bands of one CTCAE term under one condition, by grade."""

    bands: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    name: str = "-"


def _terms(version: str, by: str = "term") -> dict[tuple[str, str, str], _Term]:
    """The bands of rules/<version>.csv by (analyte, term or direction, when)."""
    terms: dict[tuple[str, str, str], _Term] = {}
    for row in _read_rules(f"{version}.csv"):
        term = terms.setdefault((row["analyte"], row[by] or "-", row["when"]), _Term())
        term.name = row["term"] or term.name
        if row["grade"]:
            term.bands[row["grade"]] = _band(row)
        if row["clinical_note"]:
            term.notes.append(row["clinical_note"])
    return terms


def ctcae_bands(version: str = "ctcae_v5") -> str:
    """One row per CTCAE term and condition of rules/<version>.csv, one column per grade."""
    rows = [
        (analyte, name, _WHEN[when], *(_code(t.bands[g]) if t.bands.get(g) else "" for g in "1234"), "; ".join(t.notes))
        for (analyte, name, when), t in _terms(version).items()
    ]
    return table(["analyte", "term", "applies when", "G1", "G2", "G3", "G4", "note"], rows)


def _grades(t: _Term | None) -> str:
    if t is None:
        return "-"
    cells = [f"G{g} {_code(t.bands[g])}" for g in "1234" if t.bands.get(g)]
    return "<br>".join(cells) or ("no grade: " + "; ".join(t.notes) if t.notes else "no grade")


def ctcae_v6_beside_v5() -> str:
    """Per analyte and direction, v6.0's bands beside v5.0's (rules/ctcae_v6.csv, rules/ctcae_v5.csv)."""
    v5, v6 = _terms("ctcae_v5", by="direction"), _terms("ctcae_v6", by="direction")
    rows = []
    for analyte, direction in dict.fromkeys(k[:2] for k in [*v5, *v6]):
        five = {k[2]: t for k, t in v5.items() if k[:2] == (analyte, direction)}
        six = {k[2]: t for k, t in v6.items() if k[:2] == (analyte, direction)}
        for when in dict.fromkeys([*five, *six]):
            t5, t6 = five.get(when), six.get(when)
            same = t5 is not None and t6 is not None and t5.bands == t6.bands
            name = t6.name if t6 is not None and t6.name != "-" else (t5.name if t5 is not None else "-")
            rows.append((analyte, name, _WHEN[when], _grades(t5), _grades(t6), "same" if same else ""))
    return table(["analyte", "term (v6)", "applies when", "CTCAE v5.0", "CTCAE v6.0", "bands"], rows)


# --- docs/cli.md: commands and options -------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _invocation(action: argparse.Action) -> str:
    if not action.option_strings:
        name = action.metavar or action.dest
        return f"{name}..." if action.nargs in ("+", "*") else str(name)
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        return flag
    if action.choices:
        return f"{flag} {'|'.join(map(str, action.choices))}"
    return f"{flag} {action.metavar or action.dest.upper()}"


def _details(action: argparse.Action) -> str:
    notes = []
    if action.required or (not action.option_strings and action.nargs == "+"):
        notes.append("required")
    if isinstance(action, argparse._AppendAction):
        notes.append("repeatable")
    if action.option_strings and action.nargs != 0 and action.default not in (None, [], argparse.SUPPRESS):
        notes.append(f"default {action.default}")
    return ", ".join(notes)


def cli_options(command: str | None = None) -> str:
    """The options of `python -m lenadash COMMAND` (or of the program itself), from cli.build_parser()."""
    from lenadash.cli import build_parser

    parser = build_parser()
    if command is not None:
        parser = _subcommands(parser)[command]
    shown = [a for a in parser._actions if not isinstance(a, argparse._SubParsersAction)]
    if command is not None:  # every command has --help; the program's own table says so once
        shown = [a for a in shown if not isinstance(a, argparse._HelpAction)]
    rows = [(_code(_invocation(a)), a.help or "", _details(a)) for a in shown]
    return table(["option", "meaning", "notes"], rows)


def cli_commands() -> str:
    """Every command of `python -m lenadash` with its one-line help."""
    from lenadash.cli import build_parser

    parser = build_parser()
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
    return table(["command", "what it does"], [(_code(name), helps.get(name, "")) for name in _subcommands(parser)])


# --- docs/architecture.md: the package's modules ----------------------------------------------------


def _first_docstring_line(path: Path) -> str:
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def modules() -> str:
    """Every module of lenadash/ (migrations' revisions left out) with the first line of its docstring."""
    package = RULES_DIR.parent
    paths = sorted(p for p in package.rglob("*.py") if "versions" not in p.parts)
    rows = [(_code(str(p.relative_to(package.parent))), _first_docstring_line(p)) for p in paths]
    return table(["module", "what it owns"], rows)


# --- assess: notice kinds and engine rule ids (docs/assess.md) ------------------------------------


def notice_kinds() -> str:
    """The closed list of notice kinds with their default severity and meaning (clinical/notices.py)."""
    from lenadash.clinical.notices import KINDS

    return table(["kind", "default severity", "meaning"], [(_code(k), sev, what) for k, (sev, what) in KINDS.items()])


def engine_rules() -> str:
    """The engine's own rule ids that a draw's `rules` may list beside the profile's (clinical/dosing/values.py)."""
    from lenadash.clinical.dosing.values import ENGINE_RULES

    return table(["id", "source", "meaning"], [(_code(k), src, what) for k, (src, what) in ENGINE_RULES.items()])


# --- dashboard: the next-action card's tone per notice kind (docs/dashboard.md) ------------------


def card_tones() -> str:
    """The card's tone per notice kind and the visit card's words for it (dashboard/cards.py NOTICE_CARD)."""
    from lenadash.clinical.notices import KINDS
    from lenadash.dashboard.cards import NOT_LISTED, NOTICE_CARD

    def listed(kind: str) -> str:
        return "no (shown elsewhere on the card or on Upcoming)" if kind in NOT_LISTED else "yes"

    rows = [
        (_code(k), tone, KINDS[k][0], listed(k), words or "(not listed)") for k, (tone, words) in NOTICE_CARD.items()
    ]
    return table(["kind", "card tone", "engine severity", "listed on the card", "visit card words"], rows)


# --- clinic mode: roles and the audit trail (docs/deployment.md) -----------------------------------------


def roles() -> str:
    """What each role may do: lenadash.access.permissions.PERMISSIONS, the table every page and write checks."""
    from lenadash.access.permissions import ACTIONS, PERMISSIONS

    return table(
        ["role", *(_code(a) for a in ACTIONS)],
        [(role, *("yes" if a in allowed else "" for a in ACTIONS)) for role, allowed in PERMISSIONS.items()],
    )


def actions() -> str:
    """The actions of the roles table, in words (lenadash.access.permissions.ACTIONS)."""
    from lenadash.access.permissions import ACTIONS

    return table(["action", "covers"], [(_code(a), what) for a, what in ACTIONS.items()])


def audited() -> str:
    """What the audit trail records (lenadash.access.trail.AUDITED)."""
    from lenadash.access.trail import AUDITED

    return table(["action", "a row holds"], [(_code(a), what) for a, what in AUDITED.items()])
