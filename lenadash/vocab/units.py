"""Unit and name normalisation, and conversion of lab values to each analyte's canonical unit."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lenadash.vocab.analytes import (
    BY_LOINC,
    CANONICAL_UNIT,
    MEASURE_ANALYTE,
    PERCENT_LOINC,
    PERCENT_NAME_WORDS,
    SYNONYMS,
    UNIT_FACTORS,
)

_SUPERSCRIPTS = str.maketrans({"³": "3", "⁹": "9", "⁶": "6", "²": "2", "¹": "1", "⁰": "0"})


@lru_cache(maxsize=4096)
def unit_key(raw: str | None) -> str:
    """Fold a unit spelling so variants compare equal: case, spaces, µ/mc/u, ×/x, 10^3/10E3/10*3.

    `unit_key("x10E3/µL") == unit_key("10^3/uL") == "10^3/ul"`; "" means no unit given.
    """
    if raw is None:
        return ""
    s = unicodedata.normalize("NFKC", str(raw)).translate(_SUPERSCRIPTS).strip().lower()
    s = s.replace("μ", "u").replace("µ", "u").replace("×", "x").replace(" ", "")
    s = re.sub(r"mc(?=[lgm]|mol|kat)", "u", s)  # mcL, mcmol, mckat -> uL, umol, ukat
    s = s.replace("cu.mm", "mm3").replace("cumm", "mm3").replace("mm^3", "mm3")
    s = re.sub(r"^[x*]?10(?:\^|\*|e|\*\*)?([0-9])", r"10^\1", s)  # 10E3, x10*3, 10**3 -> 10^3
    s = s.replace("10^3/mm3", "10^3/ul").replace("/mm3", "/ul")
    s = s.replace("iu/", "u/").replace("units/", "u/").replace("unit/", "u/")
    s = s.replace("liter", "l").replace("litre", "l")
    return s


def _build_factors() -> dict[tuple[str, str], float]:
    table: dict[tuple[str, str], float] = {}
    for row in UNIT_FACTORS:
        for measure in row.measures:
            key = (measure, unit_key(row.unit))
            if key in table and table[key] != row.factor:
                raise ValueError(f"unit table conflict for {key}: {table[key]} vs {row.factor}")
            table[key] = row.factor
    return table


FACTORS: dict[tuple[str, str], float] = _build_factors()


def factor(measure: str, raw_unit: str | None) -> float | None:
    """Factor taking a value in `raw_unit` to the canonical unit of `measure` (DOMAIN.md §6).

    `measure` is an analyte key or "urea". None means the unit is unknown for that measure
    (including a blank unit: deciding what a blank unit means is the importer's job).
    """
    return FACTORS.get((measure, unit_key(raw_unit)))


def convert(value: float, measure: str, raw_unit: str | None) -> float | None:
    """`value` in `raw_unit` expressed in the canonical unit; None when the unit is unknown."""
    f = factor(measure, raw_unit)
    return None if f is None else value * f


def units_for(measure: str) -> dict[str, float]:
    """Every known unit spelling (as written in the table) of `measure` with its factor."""
    return {u.unit: u.factor for u in UNIT_FACTORS if measure in u.measures}


def canonical_unit(measure: str) -> str:
    """The canonical unit of the analyte a measure belongs to (architecture.md)."""
    return CANONICAL_UNIT[MEASURE_ANALYTE[measure]]


@lru_cache(maxsize=4096)
def name_key(raw: str | None) -> str:
    """Fold a test name for synonym lookup: case; accents kept; dots, underscores, commas, brackets to spaces."""
    if raw is None:
        return ""
    s = unicodedata.normalize("NFKC", str(raw)).strip().lower()
    s = re.sub(r"[._,;:()\[\]]+", " ", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s


def _is_percent_name(key: str) -> bool:
    words = set(re.split(r"[\s()\[\]/-]+", key))
    return "%" in key or any(w in words for w in PERCENT_NAME_WORDS)


_SYNONYMS: dict[str, str] = {}


def _folded_synonyms() -> dict[str, str]:
    if not _SYNONYMS:
        _SYNONYMS.update({name_key(k): v for k, v in SYNONYMS.items()})
    return _SYNONYMS


# Names that are a percentage in some exports and a count in others: never assume a unit for them.
AMBIGUOUS_NAMES = frozenset(
    {
        "neutrophils",
        "lymphocytes",
        "neutrophiles",
        "neutrophile",
        "lymphozyten",
        "lymfocyten",
        "neutrofielen",
    }
)


@lru_cache(maxsize=8192)
def identify(name: str | None, loinc: str | None = None) -> tuple[str | None, str | None, str | None, str]:
    """Map a test name and/or LOINC code to (measure, loinc, implied unit, reason).

    LOINC wins where the file has a known code (DOMAIN.md §6), else the synonym table; a name
    may itself be a LOINC code or a canonical key. measure None means unmapped, and reason is then
    "percentage, not a count" or "unknown analyte"; reason is "" when mapped.
    """
    code = (loinc or "").strip()
    if code in BY_LOINC:
        row = BY_LOINC[code]
        return row.measure, code, row.unit, ""
    if code in PERCENT_LOINC:
        return None, code, None, "percentage, not a count"
    raw = (name or "").strip()
    if raw in PERCENT_LOINC:
        return None, raw, None, "percentage, not a count"
    if raw in BY_LOINC:
        row = BY_LOINC[raw]
        return row.measure, raw, row.unit, ""
    key = name_key(raw)
    if _is_percent_name(key):
        base = re.sub(r"\s*(%|\(%\)|percent|pct|prozent|relative|rel)\s*", " ", key).strip()
        if _folded_synonyms().get(base) in ("anc", "alc", "wbc") or base.startswith(("neut", "lymph", "seg", "gran")):
            return None, code or None, None, "percentage, not a count"
    syn = _folded_synonyms()
    measure = syn.get(key) or syn.get(key.replace(" ", "")) or syn.get(key.replace("-", " "))
    if measure is None and key in CANONICAL_UNIT:
        measure = key
    if measure is None:
        return None, code or None, None, "unknown analyte"
    return measure, code or None, None, ""
