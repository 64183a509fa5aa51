"""CTCAE grading of lab results, vectorised; the bands of each version are rows of rules/ctcae_<version>.csv."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import overload

import numpy as np
import pandas as pd
import pyarrow as pa

from lenadash.config import RULES_DIR

DEFAULT_VERSION = "ctcae_v5"
# Grading versions a rule profile can pin (profiles.csv `grading`): each is one table of bands.
VERSIONS = {"ctcae_v5": "CTCAE v5.0", "ctcae_v6": "CTCAE v6.0"}
CTCAE_FILE = RULES_DIR / f"{DEFAULT_VERSION}.csv"
REFERENCE_FILE = RULES_DIR / "reference_ranges.csv"

# Values and thresholds are compared as integers in millionths: any float noise
# (0.1 * 3 == 0.30000000000000004) vanishes, and no lab reports finer than 1e-6.
DECIMALS = 6
_SCALE = 10.0**DECIMALS

# Reference bits: which limits a band's bounds refer to.
_LLN, _ULN, _BASELINE = 1, 2, 4
_REF_BITS = {"LLN": _LLN, "ULN": _ULN, "BASELINE": _BASELINE}
_BOUND = re.compile(
    r"^\s*(?:(?P<k>\d+(?:\.\d+)?)\s*\*\s*)?(?P<ref>LLN|ULN|BASELINE)\s*$|^\s*(?P<num>\d+(?:\.\d+)?)\s*$"
)
# `when` values: v5's baseline paths, and v6's (docs/ctcae_v6_transcription.md). lenadash has no
# fasting flag, so `fasting` rows never apply and every glucose is `not_known_fasting`.
_WHEN = (
    "",
    "baseline",
    "baseline_normal",
    "baseline_abnormal",
    "baseline_below_lln",
    "baseline_not_above_uln",
    "baseline_above_uln",
    "fasting",
    "not_known_fasting",
)
_WHEN_ABOVE_ULN = ("baseline_abnormal", "baseline_above_uln")  # bands that are multiples of an abnormal baseline
_TRUE = {"true": True, "false": False}


@dataclass(frozen=True)
class Bound:
    """One end of a band: `factor` x reference (LLN/ULN/BASELINE), or a constant when ref is None."""

    factor: float
    ref: str | None
    closed: bool

    @property
    def bit(self) -> int:
        return _REF_BITS.get(self.ref or "", 0)


@dataclass(frozen=True)
class Band:
    """One CTCAE band (one row of rules/ctcae_v5.csv); grade None marks a 'no lab threshold' row."""

    analyte: str
    direction: str
    grade: int | None
    term: str
    lower: Bound | None
    upper: Bound | None
    when: str
    clinical_note: str
    criteria_text: str
    source: str

    @property
    def refs(self) -> int:
        return (self.lower.bit if self.lower else 0) | (self.upper.bit if self.upper else 0)


def _parse_bound(text: str, closed: str, where: str) -> Bound | None:
    text = text.strip()
    if not text:
        return None
    m = _BOUND.match(text)
    if not m:
        raise ValueError(
            f"{where}: bound {text!r} is not understood; write a number (1.5), a limit (LLN, ULN, BASELINE) "
            "or a multiple of one (3.0*ULN)"
        )
    if closed.strip().lower() not in _TRUE:
        raise ValueError(f"{where}: inclusive flag {closed!r} beside bound {text!r} must be true or false")
    is_closed = _TRUE[closed.strip().lower()]
    if m.group("num") is not None:
        return Bound(float(m.group("num")), None, is_closed)
    return Bound(float(m.group("k") or 1.0), m.group("ref"), is_closed)


@lru_cache(maxsize=4)
def load_bands(path: str | Path = CTCAE_FILE) -> tuple[Band, ...]:
    """Read the CTCAE band table; a malformed row raises ValueError naming its line and the fix."""
    bands = []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            where = f"{Path(path).name} line {line}"
            if row["when"] not in _WHEN:
                raise ValueError(f"{where}: when={row['when']!r}; use one of {', '.join(repr(w) for w in _WHEN)}")
            if not row["source"].strip():
                raise ValueError(f"{where}: every band needs a source")
            bands.append(
                Band(
                    analyte=row["analyte"].strip(),
                    direction=row["direction"].strip(),
                    grade=int(row["grade"]) if row["grade"].strip() else None,
                    term=row["term"].strip(),
                    lower=_parse_bound(row["lower"], row["lower_closed"], where),
                    upper=_parse_bound(row["upper"], row["upper_closed"], where),
                    when=row["when"],
                    clinical_note=row["clinical_note"].strip(),
                    criteria_text=row["criteria_text"].strip(),
                    source=row["source"].strip(),
                )
            )
    return tuple(bands)


@lru_cache(maxsize=4)
def load_reference_ranges(path: str | Path = REFERENCE_FILE) -> pd.DataFrame:
    """Default adult limits of normal (analyte, sex '' / F / M, low, high, unit, source)."""
    ranges = pd.read_csv(path, dtype={"analyte": str, "sex": str, "unit": str, "source": str}, keep_default_na=False)
    ranges["low"] = pd.to_numeric(ranges["low"])
    ranges["high"] = pd.to_numeric(ranges["high"])
    return ranges


def check_version(version: str) -> str:
    """`version` if lenadash has its table, else ValueError naming the versions it has."""
    if version not in VERSIONS:
        raise ValueError(f"unknown grading version {version!r}; use one of {', '.join(VERSIONS)}")
    return version


def bands(version: str = DEFAULT_VERSION) -> tuple[Band, ...]:
    """The bands of one grading version (rules/<version>.csv), read once per version."""
    return load_bands(RULES_DIR / f"{check_version(version)}.csv")


def graded_analytes(version: str = DEFAULT_VERSION) -> tuple[str, ...]:
    """Analyte keys that the version's table knows (with or without a lab threshold)."""
    return tuple(dict.fromkeys(b.analyte for b in bands(version)))


# --- the interpreter --------------------------------------------------------------------------

_SOURCE_WORDS = {1: "from the result's reference range", 2: "from default range (rules/reference_ranges.csv)"}
_BASELINE_WORDS = {
    0: "",
    1: "no baseline: ULN bands",
    2: "baseline normal: ULN bands",
    3: "baseline abnormal: bands are multiples of baseline",
    4: "baseline-relative band (x baseline)",
    5: "baseline not above ULN: ULN bands",
    6: "baseline above ULN: bands are multiples of baseline",
}
_CALCIUM_WORDS = {
    0: "",
    1: "corrected calcium = Ca + 0.8 x (4.0 - albumin of the same date)",
    2: "no albumin on the same date: graded on uncorrected calcium",
}
_COMPARATOR_WORDS = {
    0: "",
    1: "reported with '<': graded as just below the number",
    2: "reported with '>': graded as just above the number",
    3: "reported with '<=' or '>=': graded at the number",
}


@overload
def _scaled(x: np.ndarray) -> np.ndarray: ...
@overload
def _scaled(x: np.float64) -> np.float64: ...
def _scaled(x: np.ndarray | np.float64) -> np.ndarray | np.float64:
    return np.rint(x * _SCALE)


def _bound_values(bound: Bound, lln: np.ndarray, uln: np.ndarray, base: np.ndarray) -> np.ndarray:
    ref = {None: None, "LLN": lln, "ULN": uln, "BASELINE": base}[bound.ref]
    if ref is None:
        return np.full(lln.shape, _scaled(np.float64(bound.factor)))
    return _scaled(bound.factor * ref)


def _compare(value: np.ndarray, bound: Bound | None, limit: np.ndarray | None, lower: bool):
    """(certainly inside, possibly inside) for one end; a missing limit leaves 'possibly' open."""
    if bound is None:
        ones = np.ones(value.shape, dtype=bool)
        return ones, ones
    assert limit is not None, "a band's bound always comes with its limit values (_bound_values)"
    missing = np.isnan(limit)
    if lower:
        ok = value >= limit if bound.closed else value > limit
    else:
        ok = value <= limit if bound.closed else value < limit
    ok &= ~missing
    return ok, ok | missing


def _when_masks(when: str, base: np.ndarray, lln: np.ndarray, uln: np.ndarray, base_s: np.ndarray):
    """(certainly applies, possibly applies) per row for a band's `when`; a missing limit leaves it possible."""
    has_base = ~np.isnan(base)
    if when in ("", "not_known_fasting"):  # no fasting flag in lenadash: no result is known to be fasting
        t = np.ones(base.shape, dtype=bool)
        return t, t
    if when == "fasting":
        f = np.zeros(base.shape, dtype=bool)
        return f, f
    if when == "baseline":
        return has_base, has_base
    if when == "baseline_below_lln":
        no_lln = np.isnan(lln)
        certain = has_base & ~no_lln & (base_s < _scaled(lln))
        return certain, certain | (has_base & no_lln)
    no_uln = np.isnan(uln)
    uln_s = _scaled(uln)
    if when in ("baseline_normal", "baseline_not_above_uln"):
        certain = ~has_base | (~no_uln & (base_s <= uln_s))
        return certain, certain | (has_base & no_uln)
    # baseline_abnormal, baseline_above_uln
    certain = has_base & ~no_uln & (base_s > uln_s)
    return certain, certain | (has_base & no_uln)


class _Texts:
    """Distinct strings behind small integer ids, so 1M rows carry ids and the text is built once."""

    def __init__(self, *initial: str):
        self.items: list[str] = list(initial)
        self._ids = {t: i for i, t in enumerate(self.items)}

    def id(self, text: str) -> int:
        if text not in self._ids:
            self._ids[text] = len(self.items)
            self.items.append(text)
        return self._ids[text]

    def column(self, ids: np.ndarray, index: pd.Index) -> pd.Series:
        # pyarrow `take` builds the string column without a Python object per row
        return pd.Series(pa.array(self.items, type=pa.string()).take(pa.array(ids)), index=index, dtype="str")


def _factorized(series: pd.Series, normalise) -> tuple[np.ndarray, list[str]]:
    """Codes per row and the normalised distinct values (blank/NA -> "")."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    names = [normalise(str(u)) for u in uniques] + [""]
    return np.where(codes < 0, len(uniques), codes), names


_LIMITS: list = []  # [(the reference ranges frame, {analyte: {sex: (low, high)}})]: the table read once


def _limits_of(analyte: str) -> dict[str, tuple[float, float]]:
    """{sex ('' / F / M): (low, high)} of an analyte: the first row of each in rules/reference_ranges.csv,
    as plain numbers (a pandas filter per analyte and sex cost ~0.05 s per assess call, whatever its size)."""
    ranges = load_reference_ranges()
    if not _LIMITS or _LIMITS[0][0] is not ranges:
        table: dict[str, dict[str, tuple[float, float]]] = {}
        for a, sex, low, high in zip(ranges["analyte"], ranges["sex"], ranges["low"], ranges["high"]):
            table.setdefault(a, {}).setdefault(sex, (low, high))
        _LIMITS[:] = [(ranges, table)]
    return _LIMITS[0][1].get(analyte, {})


def _default_limits(analyte: str, sex_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Default LLN/ULN per row from rules/reference_ranges.csv (sex-specific where the row's sex is known)."""
    rows = _limits_of(analyte)
    lln = np.full(len(sex_code), np.nan)
    uln = np.full(len(sex_code), np.nan)
    for code, sex in ((0, ""), (1, "F"), (2, "M")):
        match = rows.get(sex)
        if match is not None:
            where = slice(None) if code == 0 else sex_code == code
            lln[where], uln[where] = match
    return lln, uln


def _albumin_lookup(labs: pd.DataFrame, values: np.ndarray, is_albumin: np.ndarray):
    """A function giving, for row indices, the albumin of the same patient and calendar date (latest draw wins)."""
    if "mrn" not in labs or "collected_at" not in labs or not is_albumin.any():
        return lambda idx: np.full(len(idx), np.nan)
    mrn_codes, _ = pd.factorize(labs["mrn"])
    when = pd.to_datetime(labs["collected_at"]).to_numpy()
    day = when.astype("datetime64[D]")
    usable = ~np.isnat(day) & (mrn_codes >= 0)
    days = np.where(usable, day.astype(np.int64), 0)
    # one integer per (patient, calendar date); rows without either get a key no albumin shares
    offset = days[usable].min() if usable.any() else 0
    key = np.where(usable, mrn_codes.astype(np.int64) * 10_000_000 + (days - offset), -1 - np.arange(len(day)))
    alb_idx = np.flatnonzero(is_albumin & usable & ~np.isnan(values))
    order = alb_idx[np.argsort(when[alb_idx], kind="stable")]
    albumin = pd.Series(values[order], index=key[order])
    albumin = albumin[~albumin.index.duplicated(keep="last")]
    return lambda idx: albumin.reindex(key[idx]).to_numpy(dtype=float)


def _note_text(key: int, reasons: list[str]) -> str:
    reason, rest = divmod(key, 1_000_000)
    limit, rest = divmod(rest, 1_000)
    baseline, rest = divmod(rest, 100)
    calcium, comparator = divmod(rest, 10)
    bits = [reasons[reason]] if reasons[reason] else []
    lln_src, uln_src = divmod(limit, 3)
    if lln_src and lln_src == uln_src:
        bits.append(f"LLN and ULN {_SOURCE_WORDS[lln_src]}")
    else:
        bits += [f"{name} {_SOURCE_WORDS[src]}" for name, src in (("LLN", lln_src), ("ULN", uln_src)) if src]
    for words, code in ((_BASELINE_WORDS, baseline), (_CALCIUM_WORDS, calcium), (_COMPARATOR_WORDS, comparator)):
        if words[code]:
            bits.append(words[code])
    return "; ".join(bits)


_NO_VALUE, _NOT_GRADED = 1, 2  # reason ids fixed in grade()


def _grade_analyte(
    rules: list[Band], v: np.ndarray, comparator_code: np.ndarray, lln, uln, base, terms: _Texts, reasons: _Texts
) -> dict[str, np.ndarray]:
    """Run one analyte's bands over its rows: grade (-1 = none), NA mask, term/reason ids, refs used."""
    m = len(v)
    v_s = _scaled(v)
    # '<0.5' lies below 0.5 and '>6' above 6: one millionth is below any reported precision
    v_s = v_s - (comparator_code == 1) + (comparator_code == 2)
    uln_s, base_s = _scaled(uln), _scaled(base)
    no_value = np.isnan(v)

    grade = np.full(m, -1, dtype=np.int64)
    refs = np.zeros(m, dtype=np.int64)
    note = np.zeros(m, dtype=np.int32)
    term = np.zeros(m, dtype=np.int32)
    no_threshold = np.zeros(m, dtype=np.int32)  # reason id of a matched 'no lab threshold' row
    no_threshold_term = np.zeros(m, dtype=np.int32)
    evaluated: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # (grade, refs, certain, possible)
    for band in rules:
        w_t, w_p = _when_masks(band.when, base, lln, uln, base_s)
        lo = _bound_values(band.lower, lln, uln, base) if band.lower else None
        hi = _bound_values(band.upper, lln, uln, base) if band.upper else None
        lo_t, lo_p = _compare(v_s, band.lower, lo, lower=True)
        hi_t, hi_p = _compare(v_s, band.upper, hi, lower=False)
        certain = w_t & lo_t & hi_t & ~no_value
        possible = w_p & lo_p & hi_p & ~no_value
        if band.grade is None:
            no_threshold[certain] = reasons.id(band.clinical_note)
            no_threshold_term[certain] = terms.id(band.term)
            continue
        worse = certain & (band.grade > grade)  # several matching bands: the worst grade wins
        grade[worse] = band.grade
        refs[worse] = band.refs
        note[worse] = reasons.id(band.clinical_note) if band.clinical_note else 0
        term[worse] = terms.id(band.term)
        evaluated.append((band.grade, band.refs, certain, possible))

    # A band that might match (one of its limits is missing) and would grade worse leaves the grade unknown.
    doubt_refs = np.zeros(m, dtype=np.int64)
    for band_grade, band_refs, certain, possible in evaluated:
        doubt_refs[possible & ~certain & (band_grade > grade)] |= band_refs
    unknown = doubt_refs != 0
    missing_lln = ((doubt_refs & _LLN) != 0) & np.isnan(lln)
    missing_uln = ((doubt_refs & _ULN) != 0) & np.isnan(uln)

    graded_terms = list(dict.fromkeys(b.term for b in rules if b.grade is not None))
    is_zero = (grade < 0) & ~unknown & ~no_value & (no_threshold == 0) & bool(graded_terms)
    grade = np.where(is_zero, 0, grade)
    is_na = no_value | unknown | (grade < 0)

    reason = np.where(no_threshold > 0, no_threshold, note)
    missing_text = np.select(
        [missing_lln & missing_uln, missing_lln, missing_uln],
        [reasons.id("no LLN or ULN"), reasons.id("no LLN"), reasons.id("no ULN")],
        reasons.id("a limit needed for this band is missing"),
    )
    reason = np.where(unknown, missing_text, reason)
    reason = np.where(no_value, _NO_VALUE, reason)

    zero_term = terms.id(" / ".join(graded_terms)) if graded_terms else 0
    term = np.where(no_threshold > 0, no_threshold_term, np.where(grade > 0, term, zero_term))

    # which limits the note names: the winning band's, or for grade 0 those of the grade 1 bands
    refs = np.where(is_na, 0, np.where(is_zero, _grade1_refs(rules), refs))
    baseline_code = np.where(is_na, 0, _baseline_codes(rules, refs, base, uln, base_s, uln_s))
    return {"grade": grade, "na": is_na, "term": term, "reason": reason, "refs": refs, "baseline": baseline_code}


def _grade1_refs(rules: list[Band]) -> int:
    """The limits (reference bits) the grade 1 bands use: what a grade 0 note names."""
    refs = 0
    for b in rules:
        if b.grade == 1 and b.when not in _WHEN_ABOVE_ULN:
            refs |= b.refs
    return refs


def _baseline_codes(
    rules: list[Band], refs: np.ndarray, base: np.ndarray, uln: np.ndarray, base_s: np.ndarray, uln_s: np.ndarray
) -> np.ndarray:
    """Per row, what the baseline did (_BASELINE_WORDS keys): picked the bands, gave a band, or was missing."""
    whens = {b.when for b in rules}
    if whens & {"baseline_normal", "baseline_abnormal"}:  # v5: baseline normal/abnormal picks the bands
        has_base = ~np.isnan(base)
        abnormal = has_base & ~np.isnan(uln) & (base_s > uln_s)
        return np.select([~has_base, abnormal], [1, 3], 2)
    if whens & {"baseline_not_above_uln", "baseline_above_uln"}:  # v6: a baseline above the ULN picks them
        has_base = ~np.isnan(base)
        above = has_base & ~np.isnan(uln) & (base_s > uln_s)
        return np.select([~has_base, above], [1, 6], 5)
    if "baseline_below_lln" in whens:  # v6 creatinine: x-baseline bands only for a baseline below the LLN
        return np.where((refs & _BASELINE) != 0, 4, np.where(np.isnan(base), 1, 0))
    if "baseline" in whens:  # baseline bands beside the ULN bands
        return np.where((refs & _BASELINE) != 0, 4, np.where(np.isnan(base), 1, 0))
    return np.zeros(len(base), dtype=np.int64)


def grade(labs: pd.DataFrame, version: str = DEFAULT_VERSION) -> pd.DataFrame:
    """Grade every result by a CTCAE version (rules/<version>.csv, default v5.0); returns a copy of labs.

    `version` is `ctcae_v5` or `ctcae_v6` (the rule profile pins it: profiles.csv `grading`).

    Added: `grade` (Int64; NA = no grade possible, `grade_note` says why), `grade_term` (CTCAE term),
    `grade_note` (why NA, or which LLN/ULN/baseline was used, or what clinical information a higher
    grade needs), `graded_value` (the number compared with the bands: corrected calcium).
    Optional inputs: `baseline_value` (the patient's baseline of the same analyte; NaN = none: ULN
    bands apply), `sex` (F/M, picks the sex-specific default range), `mrn` + `collected_at` (pair
    calcium with the same-date albumin). Source: NCI CTCAE v5.0 / v6.0; every choice in docs/grading.md.
    A term the version lacks (v6: lymphocyte count decreased) grades NA with that reason.
    """
    missing = [c for c in ("analyte", "value") if c not in labs]
    if missing:
        raise ValueError(
            f"grade() needs the labs columns {missing}; pass the results DataFrame from ingest.read_labs() "
            "or store.load_labs() (docs/architecture.md, 'labs')"
        )
    out = labs.copy(deep=False)  # copy-on-write: the added columns never reach the caller's frame
    g = _Grading(out, check_version(version))
    by_analyte: dict[str, list[Band]] = {}
    for b in bands(version):
        by_analyte.setdefault(b.analyte, []).append(b)
    albumin_codes = [k for k, a in enumerate(g.analytes) if a == "albumin"]
    albumin_of = _albumin_lookup(out, g.values, np.isin(g.codes, albumin_codes))
    for k, analyte in enumerate(g.analytes):
        rules = by_analyte.get(analyte)
        if rules:  # else the reason stays "analyte not graded"
            g.grade_rows(analyte, rules, np.flatnonzero(g.codes == k), albumin_of)
    return g.add_columns(out)


def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats (NaN where absent or not a number)."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _comparator_codes(frame: pd.DataFrame) -> np.ndarray:
    """0 none, 1 '<', 2 '>', 3 '<=' or '>=' per row."""
    if "comparator" not in frame:
        return np.zeros(len(frame), dtype=np.int64)
    c_codes, c_names = _factorized(frame["comparator"], str.strip)
    lookup = np.array([{"<": 1, ">": 2, "<=": 3, ">=": 3}.get(c, 0) for c in c_names], dtype=np.int64)
    return lookup[c_codes]


def _sex_codes(frame: pd.DataFrame) -> np.ndarray:
    """0 unknown, 1 F, 2 M per row."""
    if "sex" not in frame:
        return np.zeros(len(frame), dtype=np.int64)
    s_codes, s_names = _factorized(frame["sex"], lambda s: s.strip().upper())
    return np.array([{"F": 1, "M": 2}.get(s, 0) for s in s_names], dtype=np.int64)[s_codes]


class _Grading:
    """The inputs of grade() as arrays, and the per-row results it fills in analyte by analyte."""

    def __init__(self, out: pd.DataFrame, version: str = DEFAULT_VERSION):
        n = len(out)
        self.values, self.baseline = _numeric(out, "value"), _numeric(out, "baseline_value")
        self.ref_low, self.ref_high = _numeric(out, "ref_low"), _numeric(out, "ref_high")
        self.codes, self.analytes = _factorized(out["analyte"], lambda a: a.strip().lower())
        self.comparator_code = _comparator_codes(out)
        self.sex_code = _sex_codes(out)
        self.grade = np.full(n, -1, dtype=np.int64)
        self.na = np.ones(n, dtype=bool)
        self.graded_value = np.round(self.values, DECIMALS)
        self.terms = _Texts("")
        label = "CTCAE v5" if version == DEFAULT_VERSION else VERSIONS[version]
        self.reasons = _Texts("", "no numeric value", f"analyte not graded: no {label} rule in rules/{version}.csv")
        self.term_id = np.zeros(n, dtype=np.int64)
        self.reason_id = np.full(n, _NOT_GRADED, dtype=np.int64)
        self.limit_code = np.zeros(n, dtype=np.int64)  # LLN source x 3 + ULN source (0 none, 1 result, 2 default)
        self.baseline_code = np.zeros(n, dtype=np.int64)
        self.calcium_code = np.zeros(n, dtype=np.int64)

    def grade_rows(self, analyte: str, rules: list[Band], idx: np.ndarray, albumin_of) -> None:
        """Grade the rows `idx` of one analyte against its bands."""
        v = self.values[idx]
        if analyte == "calcium":  # CTCAE grades corrected calcium
            albumin = albumin_of(idx)
            has_albumin = ~np.isnan(albumin)
            v = np.where(has_albumin, v + 0.8 * (4.0 - albumin), v)
            self.calcium_code[idx] = np.where(has_albumin, 1, 2)
            self.graded_value[idx] = np.round(v, DECIMALS)
        default_lln, default_uln = _default_limits(analyte, self.sex_code[idx])
        own_lln, own_uln = self.ref_low[idx], self.ref_high[idx]
        lln = np.where(np.isnan(own_lln), default_lln, own_lln)
        uln = np.where(np.isnan(own_uln), default_uln, own_uln)
        r = _grade_analyte(rules, v, self.comparator_code[idx], lln, uln, self.baseline[idx], self.terms, self.reasons)
        lln_src = np.where(~np.isnan(own_lln), 1, np.where(np.isnan(default_lln), 0, 2))
        uln_src = np.where(~np.isnan(own_uln), 1, np.where(np.isnan(default_uln), 0, 2))
        self.limit_code[idx] = np.where((r["refs"] & _LLN) != 0, lln_src, 0) * 3 + np.where(
            (r["refs"] & _ULN) != 0, uln_src, 0
        )
        self.grade[idx], self.na[idx] = r["grade"], r["na"]
        self.term_id[idx], self.reason_id[idx], self.baseline_code[idx] = r["term"], r["reason"], r["baseline"]

    def add_columns(self, out: pd.DataFrame) -> pd.DataFrame:
        """grade, grade_term, grade_note and graded_value added to `out`."""
        reason_id = np.where(np.isnan(self.values), _NO_VALUE, self.reason_id)
        bare = (reason_id == _NO_VALUE) | (reason_id == _NOT_GRADED)  # nothing else to say about these rows
        calcium_code = np.where(bare, 0, self.calcium_code)
        comparator_code = np.where(bare, 0, self.comparator_code)
        # one note text per distinct combination of parts, then spread to the rows
        key = (
            reason_id * 1_000_000
            + self.limit_code * 1_000
            + self.baseline_code * 100
            + calcium_code * 10
            + comparator_code
        )
        combo, combos = pd.factorize(key)
        notes = _Texts(*[_note_text(int(c), self.reasons.items) for c in combos])
        out["grade"] = pd.arrays.IntegerArray(np.where(self.na, 0, self.grade), self.na)
        out["grade_term"] = self.terms.column(self.term_id, out.index)
        out["grade_note"] = notes.column(combo, out.index)
        out["graded_value"] = self.graded_value
        return out


def grade_value(
    analyte: str,
    value: float,
    *,
    ref_low: float | None = None,
    ref_high: float | None = None,
    baseline: float | None = None,
    albumin: float | None = None,
    comparator: str = "",
    sex: str | None = None,
    version: str = DEFAULT_VERSION,
) -> tuple[int | None, str, str]:
    """Grade one result by a CTCAE version (default v5.0) through the same interpreter as grade().

    Returns (grade, term, note).

    grade None = no grade possible (the note says why: no lab threshold, no LLN/ULN, no value).
    `baseline` None = no baseline (ULN bands); `albumin` (g/dL, same date) corrects calcium;
    None for the limits = the default adult range in rules/reference_ranges.csv.
    """
    nan = float("nan")
    day = pd.Timestamp("2000-01-01")
    rows = [
        {
            "mrn": "scalar",
            "collected_at": day,
            "analyte": analyte,
            "value": nan if value is None else float(value),
            "comparator": comparator or "",
            "ref_low": nan if ref_low is None else float(ref_low),
            "ref_high": nan if ref_high is None else float(ref_high),
            "baseline_value": nan if baseline is None else float(baseline),
            "sex": sex or "",
        }
    ]
    if albumin is not None and not (isinstance(albumin, float) and math.isnan(albumin)):
        rows.append(
            {
                **rows[0],
                "analyte": "albumin",
                "value": float(albumin),
                "comparator": "",
                "ref_low": nan,
                "ref_high": nan,
                "baseline_value": nan,
            }
        )
    graded = grade(pd.DataFrame(rows), version=version).iloc[0]
    g = graded["grade"]
    return (None if pd.isna(g) else int(g)), str(graded["grade_term"]), str(graded["grade_note"])
