"""CTCAE v5.0 grading of lab results, vectorised; the bands are rows of rules/ctcae_v5.csv."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

RULES_DIR = Path(__file__).parent / "rules"
CTCAE_FILE = RULES_DIR / "ctcae_v5.csv"
REFERENCE_FILE = RULES_DIR / "reference_ranges.csv"

# Values and thresholds are compared as integers in millionths: any float noise
# (0.1 * 3 == 0.30000000000000004) vanishes, and no lab reports finer than 1e-6.
DECIMALS = 6
_SCALE = 10.0**DECIMALS

# Reference bits: which limits a band's bounds refer to.
_LLN, _ULN, _BASELINE = 1, 2, 4
_REF_BITS = {"LLN": _LLN, "ULN": _ULN, "BASELINE": _BASELINE}
_BOUND = re.compile(r"^\s*(?:(?P<k>\d+(?:\.\d+)?)\s*\*\s*)?(?P<ref>LLN|ULN|BASELINE)\s*$|^\s*(?P<num>\d+(?:\.\d+)?)\s*$")
_WHEN = ("", "baseline", "baseline_normal", "baseline_abnormal")
_TRUE = {"true": True, "false": False, "": False}


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
        raise ValueError(f"{where}: inclusive flag {closed!r} must be true or false")
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


def graded_analytes() -> tuple[str, ...]:
    """Analyte keys that rules/ctcae_v5.csv knows (with or without a lab threshold)."""
    return tuple(dict.fromkeys(b.analyte for b in load_bands()))


# --- the interpreter --------------------------------------------------------------------------

_SOURCE_WORDS = {1: "from the result's reference range", 2: "from default range (rules/reference_ranges.csv)"}
_BASELINE_WORDS = {
    0: "",
    1: "no baseline: ULN bands",
    2: "baseline normal: ULN bands",
    3: "baseline abnormal: bands are multiples of baseline",
    4: "baseline-relative band (x baseline)",
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


def _scaled(x: np.ndarray) -> np.ndarray:
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
    missing = np.isnan(limit)
    if lower:
        ok = value >= limit if bound.closed else value > limit
    else:
        ok = value <= limit if bound.closed else value < limit
    ok &= ~missing
    return ok, ok | missing


def _when_masks(when: str, base: np.ndarray, uln: np.ndarray, base_s: np.ndarray, uln_s: np.ndarray):
    has_base = ~np.isnan(base)
    if when == "":
        t = np.ones(base.shape, dtype=bool)
        return t, t
    if when == "baseline":
        return has_base, has_base
    no_uln = np.isnan(uln)
    if when == "baseline_normal":
        certain = ~has_base | (~no_uln & (base_s <= uln_s))
        return certain, certain | (has_base & no_uln)
    # baseline_abnormal
    certain = has_base & ~no_uln & (base_s > uln_s)
    return certain, certain | (has_base & no_uln)


def _limits(labs: pd.DataFrame, idx: np.ndarray, analyte: str, sex: np.ndarray | None):
    """LLN/ULN per row (result's own range first, then the default) and their source codes."""
    ranges = load_reference_ranges()
    rows = ranges[ranges["analyte"] == analyte]
    n = len(idx)
    out = {}
    for col, default_col in (("ref_low", "low"), ("ref_high", "high")):
        own = labs[col].to_numpy(dtype=float, na_value=np.nan)[idx] if col in labs else np.full(n, np.nan)
        default = np.full(n, np.nan)
        generic = rows[rows["sex"] == ""]
        if len(generic):
            default[:] = generic[default_col].iloc[0]
        if sex is not None:
            for s in ("F", "M"):
                specific = rows[rows["sex"] == s]
                if len(specific):
                    default[sex[idx] == s] = specific[default_col].iloc[0]
        has_own = ~np.isnan(own)
        value = np.where(has_own, own, default)
        source = np.where(has_own, 1, np.where(np.isnan(default), 0, 2)).astype(np.int8)
        out[col] = (value, source)
    return out["ref_low"], out["ref_high"]


def _albumin_for_calcium(labs: pd.DataFrame, codes: np.ndarray, uniques, ca_idx: np.ndarray) -> np.ndarray:
    """Albumin (g/dL) of the same patient and calendar date for each calcium row; the latest draw wins."""
    out = np.full(len(ca_idx), np.nan)
    if "mrn" not in labs or "collected_at" not in labs or "albumin" not in list(uniques):
        return out
    alb_idx = np.flatnonzero(codes == list(uniques).index("albumin"))
    values = labs["value"].to_numpy(dtype=float, na_value=np.nan)
    alb_idx = alb_idx[~np.isnan(values[alb_idx])]
    if not len(alb_idx):
        return out
    mrn_codes, _ = pd.factorize(labs["mrn"].to_numpy(dtype=object))
    when = pd.to_datetime(labs["collected_at"]).to_numpy()
    day = when.astype("datetime64[D]")
    usable = ~np.isnat(day) & (mrn_codes >= 0)
    days = np.where(usable, day.astype(np.int64), 0)
    # one integer per (patient, calendar date); rows without either get a key no albumin shares
    key = np.where(usable, mrn_codes.astype(np.int64) * 10_000_000 + (days - days[usable].min(initial=0)), -1 - np.arange(len(day)))
    alb_idx = alb_idx[usable[alb_idx]]
    if not len(alb_idx):
        return out
    order = np.argsort(when[alb_idx], kind="stable")
    alb = pd.Series(values[alb_idx][order], index=key[alb_idx][order])
    alb = alb[~alb.index.duplicated(keep="last")]
    return alb.reindex(key[ca_idx]).to_numpy(dtype=float)


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


def grade(labs: pd.DataFrame) -> pd.DataFrame:
    """Grade every result by CTCAE v5.0 (rules/ctcae_v5.csv); returns a copy of labs with added columns.

    Added: `grade` (Int64; NA = no grade possible, `grade_note` says why), `grade_term` (CTCAE term),
    `grade_note` (why NA, or which LLN/ULN/baseline was used, or what clinical information a higher
    grade needs), `graded_value` (the number compared with the bands: corrected calcium, comparator
    applied). Optional inputs: `baseline_value` (the patient's baseline of the same analyte; NaN =
    none: ULN bands apply), `sex` (F/M, picks the sex-specific default range), `mrn`+`collected_at`
    (pair calcium with the same-date albumin). Source: NCI CTCAE v5.0; see docs/grading.md.
    """
    missing = [c for c in ("analyte", "value") if c not in labs]
    if missing:
        raise ValueError(
            f"grade() needs the labs columns {missing}; pass the results DataFrame from ingest.read_labs() "
            "or store.load_labs() (docs/architecture.md, 'labs')"
        )
    out = labs.copy()
    n = len(out)
    bands = load_bands()
    values = out["value"].to_numpy(dtype=float, na_value=np.nan)
    comparator = (
        out["comparator"].fillna("").astype(str).to_numpy(dtype=object) if "comparator" in out else np.full(n, "", dtype=object)
    )
    baseline = (
        pd.to_numeric(out["baseline_value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if "baseline_value" in out
        else np.full(n, np.nan)
    )
    sex = out["sex"].fillna("").astype(str).str.upper().to_numpy(dtype=object) if "sex" in out else None
    codes, uniques = pd.factorize(out["analyte"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object))

    grade_out = np.full(n, -1, dtype=np.int64)
    na_out = np.ones(n, dtype=bool)
    graded_value = values.copy()
    # note parts as small codes, joined into text once per distinct combination
    term_code = np.zeros(n, dtype=np.int32)
    reason_code = np.zeros(n, dtype=np.int32)
    limit_code = np.zeros(n, dtype=np.int32)  # lln_source * 3 + uln_source, 0 = not mentioned
    baseline_code = np.zeros(n, dtype=np.int8)
    calcium_code = np.zeros(n, dtype=np.int8)
    comparator_code = np.zeros(n, dtype=np.int8)
    terms: list[str] = [""]
    reasons: list[str] = ["", "no numeric value", "analyte not graded: no CTCAE v5 rule in rules/ctcae_v5.csv"]

    def text_id(table: list[str], text: str) -> int:
        if text not in table:
            table.append(text)
        return table.index(text)

    by_analyte: dict[str, list[Band]] = {}
    for b in bands:
        by_analyte.setdefault(b.analyte, []).append(b)

    for k, analyte in enumerate(uniques):
        idx = np.flatnonzero(codes == k)
        rules = by_analyte.get(analyte)
        if not rules:
            reason_code[idx] = 2
            continue
        v = values[idx]
        if analyte == "calcium":
            alb = _albumin_for_calcium(out, codes, uniques, idx)
            has_alb = ~np.isnan(alb)
            v = np.where(has_alb, v + 0.8 * (4.0 - alb), v)
            calcium_code[idx] = np.where(has_alb, 1, 2)
        comp = comparator[idx]
        v_s = _scaled(v)
        v_s = np.where(comp == "<", v_s - 1, np.where(comp == ">", v_s + 1, v_s))
        comparator_code[idx] = np.select([comp == "<", comp == ">", (comp == "<=") | (comp == ">=")], [1, 2, 3], 0)
        graded_value[idx] = np.round(v, DECIMALS)
        (lln, lln_src), (uln, uln_src) = _limits(out, idx, analyte, sex)
        base = baseline[idx]
        lln_s, uln_s, base_s = _scaled(lln), _scaled(uln), _scaled(base)
        no_value = np.isnan(v)

        g_def = np.full(len(idx), -1, dtype=np.int64)
        win_refs = np.zeros(len(idx), dtype=np.int64)
        win_note = np.zeros(len(idx), dtype=np.int32)
        win_term = np.zeros(len(idx), dtype=np.int32)
        no_threshold = np.zeros(len(idx), dtype=np.int32)
        evaluated = []
        for band in rules:
            w_t, w_p = _when_masks(band.when, base, uln, base_s, uln_s)
            lo = _bound_values(band.lower, lln, uln, base) if band.lower else None
            hi = _bound_values(band.upper, lln, uln, base) if band.upper else None
            lo_t, lo_p = _compare(v_s, band.lower, lo, lower=True)
            hi_t, hi_p = _compare(v_s, band.upper, hi, lower=False)
            certain = w_t & lo_t & hi_t & ~no_value
            possible = w_p & lo_p & hi_p & ~no_value
            if band.grade is None:
                no_threshold[certain] = text_id(reasons, band.clinical_note)
                continue
            better = certain & (band.grade > g_def)
            g_def[better] = band.grade
            win_refs[better] = band.refs
            win_note[better] = text_id(reasons, band.clinical_note) if band.clinical_note else 0
            win_term[better] = text_id(terms, band.term)
            evaluated.append((band, certain, possible))

        # A band that might match (a limit is missing) and would grade worse leaves the grade unknown.
        unknown_refs = np.zeros(len(idx), dtype=np.int64)
        for band, certain, possible in evaluated:
            doubt = possible & ~certain & (band.grade > g_def)
            unknown_refs[doubt] |= band.refs
        unknown = unknown_refs != 0
        missing_lln = ((unknown_refs & _LLN) != 0) & np.isnan(lln)
        missing_uln = ((unknown_refs & _ULN) != 0) & np.isnan(uln)

        graded_terms = [b.term for b in rules if b.grade is not None]
        zero_term = text_id(terms, " / ".join(dict.fromkeys(graded_terms))) if graded_terms else 0
        is_zero = (g_def < 0) & ~unknown & ~no_value & (no_threshold == 0) & bool(graded_terms)
        final = np.where(is_zero, 0, g_def)
        is_na = no_value | unknown | (final < 0)

        reason = np.where(no_threshold > 0, no_threshold, win_note)
        reason = np.where(no_value, 1, reason)
        missing_text = np.select(
            [missing_lln & missing_uln, missing_lln, missing_uln],
            [text_id(reasons, "no LLN or ULN"), text_id(reasons, "no LLN"), text_id(reasons, "no ULN")],
            text_id(reasons, "a limit needed for this band is missing"),
        )
        reason = np.where(unknown & ~no_value, missing_text, reason)
        if not graded_terms and not no_threshold.any():
            reason = np.where(no_value, 1, text_id(reasons, "no lab threshold"))

        # which limits to name: the winning band's, or for grade 0 those of the grade 1 bands
        zero_refs = 0
        for b in rules:
            if b.grade == 1 and b.when != "baseline_abnormal":
                zero_refs |= b.refs
        refs_used = np.where(is_zero, zero_refs, win_refs)
        refs_used = np.where(is_na, 0, refs_used)
        lln_named = np.where((refs_used & _LLN) != 0, lln_src, 0)
        uln_named = np.where((refs_used & _ULN) != 0, uln_src, 0)
        limit_code[idx] = lln_named * 3 + uln_named

        if any(b.when for b in rules):
            uses_base = (refs_used & _BASELINE) != 0
            has_base = ~np.isnan(base)
            abnormal = has_base & ~np.isnan(uln) & (base_s > uln_s)
            if any(b.when.startswith("baseline_") for b in rules):
                code = np.select([~has_base, abnormal], [1, 3], 2)
            else:
                code = np.where(uses_base, 4, np.where(has_base, 0, 1))
            baseline_code[idx] = np.where(is_na | no_value, 0, code)

        grade_out[idx] = final
        na_out[idx] = is_na
        reason_code[idx] = reason
        term_code[idx] = np.where(is_zero, zero_term, np.where(no_value | (g_def < 0), zero_term, win_term))
        if graded_terms:
            # the no-threshold direction (hyperglycemia) names its own term
            for band in rules:
                if band.grade is None and band.term:
                    tid = text_id(terms, band.term)
                    term_code[idx] = np.where(no_threshold == text_id(reasons, band.clinical_note), tid, term_code[idx])

    # join note parts once per distinct combination of codes
    key = (
        reason_code.astype(np.int64) * 1_000_000
        + limit_code.astype(np.int64) * 1_000
        + baseline_code.astype(np.int64) * 100
        + calcium_code.astype(np.int64) * 10
        + comparator_code.astype(np.int64)
    )
    combo, combos = pd.factorize(key)
    note_texts = [_note_text(int(c), reasons) for c in combos]

    out["grade"] = pd.arrays.IntegerArray(np.where(na_out, 0, grade_out), na_out.copy())
    out["grade_term"] = pd.Series(np.asarray(terms, dtype=object)[term_code], index=out.index, dtype="str")
    out["grade_note"] = pd.Series(np.asarray(note_texts, dtype=object)[combo], index=out.index, dtype="str") if n else pd.Series([], dtype="str")
    out["graded_value"] = graded_value
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
) -> tuple[int | None, str, str]:
    """Grade one result by CTCAE v5.0 through the same interpreter as grade(): (grade, term, note).

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
        rows.append({**rows[0], "analyte": "albumin", "value": float(albumin), "comparator": "", "ref_low": nan,
                     "ref_high": nan, "baseline_value": nan})
    graded = grade(pd.DataFrame(rows)).iloc[0]
    g = graded["grade"]
    return (None if pd.isna(g) else int(g)), str(graded["grade_term"]), str(graded["grade_note"])
