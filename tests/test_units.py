"""Unit table: every alias converts to the canonical unit; spelling variants fold; LOINC and name mapping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenadash.config import RULES_DIR
from lenadash.ingest import read_labs
from lenadash.vocab import analytes, units

# a value that is ordinary for each measure, in the canonical unit
TYPICAL = {
    "wbc": 5.0,
    "anc": 2.0,
    "alc": 1.5,
    "plt": 200.0,
    "hgb": 12.0,
    "sodium": 140.0,
    "potassium": 4.2,
    "chloride": 100.0,
    "co2": 25.0,
    "bun": 14.0,
    "urea": 14.0,
    "glucose": 95.0,
    "creatinine": 1.0,
    "calcium": 9.5,
    "albumin": 4.0,
    "total_protein": 7.0,
    "alp": 80.0,
    "ast": 25.0,
    "alt": 25.0,
    "bilirubin": 0.8,
}

ALIASES = [(m, row.unit, row.factor) for row in analytes.UNIT_FACTORS for m in row.measures]


def _one_result(name: str, value: str, unit: str) -> pd.DataFrame:  # noqa: F821
    data = f"mrn,collected_at,analyte,value,unit\nP1,2026-01-19 08:30,{name},{value},{unit}\n".encode()
    return read_labs(data, file_name="t.csv")


@pytest.mark.parametrize(("measure", "unit", "factor"), ALIASES, ids=[f"{m}-{u}" for m, u, _ in ALIASES])
def test_every_unit_alias_converts_through_read_labs(measure, unit, factor):
    raw = TYPICAL[measure] / factor
    imp = _one_result(measure, f"{raw:.10g}", unit)
    assert imp.problems.empty, imp.problems.to_dict("records")
    row = imp.results.iloc[0]
    assert row["analyte"] == analytes.MEASURE_ANALYTE[measure]
    assert row["unit"] == units.canonical_unit(measure)
    assert row["value"] == pytest.approx(TYPICAL[measure], rel=1e-6)
    assert row["raw_unit"] == unit and row["raw_value"] == f"{raw:.10g}"


COUNT_SPELLINGS_1 = [
    "K/uL",
    "10^3/uL",
    "x10E3/uL",
    "10*3/uL",
    "10^9/L",
    "G/L",
    "/nL",
    "Thou/mcL",
    "x10^9/L",
    "k/ul",
    "10^9 / L",
    "x10E9/L",
    "10E3/µL",
    "10³/µL",
    "×10^9/L",
    "K/µL",
    "10^3/mm3",
    "THOU/UL",
]
COUNT_SPELLINGS_MILLI = ["/uL", "cells/uL", "/mm3", "/mcL", "/µL", "cells/mcL", "/cumm", "Cells/uL"]


@pytest.mark.parametrize("spelling", COUNT_SPELLINGS_1)
def test_count_spellings_equal_10e9_per_litre(spelling):
    assert units.factor("plt", spelling) == 1.0


@pytest.mark.parametrize("spelling", COUNT_SPELLINGS_MILLI)
def test_per_microlitre_spellings_are_a_thousand_times_larger(spelling):
    assert units.factor("anc", spelling) == 0.001


@pytest.mark.parametrize(
    ("measure", "spelling", "factor"),
    [
        ("hgb", "g/L", 0.1),
        ("hgb", "G/L", 0.1),
        ("hgb", "mmol/L", 1.611),
        ("hgb", "g/dl", 1.0),
        ("creatinine", "umol/L", 1 / 88.4),
        ("creatinine", "µmol/L", 1 / 88.4),
        ("creatinine", "μmol/l", 1 / 88.4),
        ("creatinine", "mcmol/L", 1 / 88.4),
        ("bilirubin", "umol/L", 1 / 17.1),
        ("glucose", "mmol/L", 18.0),
        ("calcium", "mmol/L", 4.008),
        ("albumin", "g/L", 0.1),
        ("total_protein", "g/l", 0.1),
        ("urea", "mmol/L", 2.8),
        ("bun", "mmol/L", 2.8),
        ("sodium", "mEq/L", 1.0),
        ("potassium", "meq/l", 1.0),
        ("alt", "IU/L", 1.0),
        ("ast", "u/l", 1.0),
        ("alp", "U/L", 1.0),
        ("alt", "µkat/L", 60.0),
    ],
)
def test_unit_spelling_variants_against_domain(measure, spelling, factor):
    assert units.factor(measure, spelling) == pytest.approx(factor)


def test_unknown_or_blank_unit_has_no_factor():
    assert units.factor("plt", "") is None
    assert units.factor("plt", "fL") is None
    assert units.factor("hgb", "K/uL") is None  # a count unit is not a haemoglobin unit


def test_unit_table_rows_all_carry_a_source_and_a_known_measure():
    for row in analytes.UNIT_FACTORS:
        assert row.source
        assert set(row.measures) <= set(analytes.MEASURE_ANALYTE)
    for row in analytes.PLAUSIBILITY + tuple(analytes.ANALYTES) + analytes.LOINC_CODES:
        assert row.source


@pytest.mark.parametrize(
    ("code", "analyte", "implied"),
    [
        ("6690-2", "wbc", None),
        ("751-8", "anc", None),
        ("731-0", "alc", None),
        ("718-7", "hgb", None),
        ("777-3", "plt", None),
        ("26515-7", "plt", None),
        ("2951-2", "sodium", None),
        ("2823-3", "potassium", None),
        ("2075-0", "chloride", None),
        ("2028-9", "co2", None),
        ("3094-0", "bun", None),
        ("2345-7", "glucose", None),
        ("2160-0", "creatinine", None),
        ("14682-9", "creatinine", "umol/L"),
        ("17861-6", "calcium", None),
        ("1751-7", "albumin", None),
        ("2885-2", "total_protein", None),
        ("6768-6", "alp", None),
        ("1920-8", "ast", None),
        ("1742-6", "alt", None),
        ("1975-2", "bilirubin", None),
        ("14631-6", "bilirubin", "umol/L"),
    ],
)
def test_loinc_codes_from_domain_map(code, analyte, implied):
    measure, loinc, unit, reason = units.identify("whatever the name says", code)
    assert (analytes.MEASURE_ANALYTE[measure], loinc, unit, reason) == (analyte, code, implied, "")


@pytest.mark.parametrize(
    ("name", "analyte"),
    [
        ("WBC", "wbc"),
        ("Leukozyten", "wbc"),
        ("ANC", "anc"),
        ("Neut #", "anc"),
        ("NEUT#", "anc"),
        ("Segs abs", "anc"),
        ("Neutrophils Absolute", "anc"),
        ("Neutrophile abs.", "anc"),
        ("Lymphocytes, absolute", "alc"),
        ("Hb", "hgb"),
        ("Haemoglobin", "hgb"),
        ("Hämoglobin", "hgb"),
        ("PLT", "plt"),
        ("Thrombocytes", "plt"),
        ("Thrombozyten", "plt"),
        ("Kreatinin", "creatinine"),
        ("Harnstoff", "bun"),
        ("BUN", "bun"),
        ("Natrium", "sodium"),
        ("Kalium", "potassium"),
        ("SGPT", "alt"),
        ("GOT", "ast"),
        ("Alk Phos", "alp"),
        ("Total Bilirubin", "bilirubin"),
        ("total_protein", "total_protein"),
        ("Gesamteiweiß", "total_protein"),
        ("CO2", "co2"),
        ("Glucose", "glucose"),
        ("Albumin", "albumin"),
        ("Calcium", "calcium"),
        ("Chloride", "chloride"),
        ("Plaquettes", "plt"),
    ],
)
def test_name_synonyms(name, analyte):
    measure, _, _, reason = units.identify(name)
    assert reason == "" and analytes.MEASURE_ANALYTE[measure] == analyte


@pytest.mark.parametrize("name", ["Neutrophils %", "Neut %", "Lymphocytes (%)", "Neutrophile rel.", "Lymph %"])
def test_percent_differentials_are_not_counts(name):
    assert units.identify(name)[3] == "percentage, not a count"


@pytest.mark.parametrize(
    "name",
    [
        "MCV",
        "RDW",
        "MCH",
        "Ferritin",
        "",
        "Ionized Calcium",
        "pCO2",
        "Creatinine, urine",
        "Granulocytes abs",
        "Glucose POC",
    ],
)
def test_other_tests_are_unknown(name):
    assert units.identify(name)[0] is None and units.identify(name)[3] == "unknown analyte"


# Worked examples from DOMAIN.md §6, written out by hand rather than computed from the unit table.
@pytest.mark.parametrize(
    ("measure", "value", "unit", "canonical"),
    [
        ("creatinine", 106.08, "umol/L", 1.2),  # creatinine umol/L = 88.4 x mg/dL
        ("hgb", 120.0, "g/L", 12.0),  # Hgb g/L = 10 x g/dL
        ("glucose", 5.5, "mmol/L", 99.0),  # glucose mmol/L = mg/dL / 18.0
        ("calcium", 2.5, "mmol/L", 10.02),  # calcium mmol/L = mg/dL / 4.008
        ("bilirubin", 17.1, "umol/L", 1.0),  # bilirubin umol/L = 17.1 x mg/dL
        ("albumin", 35.0, "g/L", 3.5),  # albumin g/L = 10 x g/dL
        ("plt", 30000.0, "/mcL", 30.0),  # 30,000/mcL = 30 x 10^9/L
        ("anc", 1500.0, "cells/uL", 1.5),  # counts per uL are 1000 times the 10^9/L number
        ("wbc", 5.2, "K/uL", 5.2),  # K/uL = 10^3/uL = 10^9/L
        ("plt", 150.0, "10^3/uL", 150.0),
    ],
)
def test_conversions_against_domain(measure, value, unit, canonical):
    assert units.convert(value, measure, unit) == pytest.approx(canonical, rel=1e-9)


# How many of each spelling make one canonical unit, stated from the sources independently of
# lenadash.vocab.analytes.UNIT_FACTORS (which states the opposite direction): canonical x this = value.
PER_MICROLITRE = {"/uL", "/mcL", "cells/uL", "cells/mcL", "/mm3", "cells/mm3", "/cumm", "10^6/L", "#/uL"}
CANONICAL_TO_UNIT = {
    **{(m, u): 1.0 for m in ("hgb",) for u in ("g/dL", "gm/dL", "g%")},
    ("hgb", "g/L"): 10.0,
    ("hgb", "mmol/L"): 10 / 16.1145,  # Hgb (Fe): 16,114.5 g per mol of haem monomer
    **{(m, u): 1.0 for m in ("sodium", "potassium", "chloride", "co2") for u in ("mmol/L", "mEq/L", "meq/l", "mval/L")},
    ("bun", "mg/dL"): 1.0,
    ("bun", "mmol/L"): 1 / 2.8,
    ("urea", "mmol/L"): 1 / 2.8,
    ("urea", "mg/dL"): 60 / 28,  # urea (60 g/mol) carries two nitrogens (2 x 14 g/mol)
    ("glucose", "mg/dL"): 1.0,
    ("glucose", "mmol/L"): 1 / 18.0,
    ("creatinine", "mg/dL"): 1.0,
    ("creatinine", "umol/L"): 88.4,
    ("bilirubin", "mg/dL"): 1.0,
    ("bilirubin", "umol/L"): 17.1,
    ("calcium", "mg/dL"): 1.0,
    ("calcium", "mmol/L"): 1 / 4.008,
    ("calcium", "mEq/L"): 2 / 4.008,
    **{(m, u): f for m in ("albumin", "total_protein") for u, f in (("g/dL", 1.0), ("g/L", 10.0))},
    **{(m, u): 1.0 for m in ("alp", "ast", "alt") for u in ("U/L", "IU/L", "units/L", "IE/L", "UI/L")},
    **{(m, u): f for m in ("alp", "ast", "alt") for u, f in (("ukat/L", 1 / 60), ("nkat/L", 1000 / 60))},
}
# The unit table rounds these factors (28/60 to 0.4667, 1.61145 to 1.611); every other one is exact.
ROUNDED = {("urea", "mg/dL"): 1e-4, ("hgb", "mmol/L"): 5e-4}


def _canonical_to(measure: str, unit: str) -> float:
    if measure in analytes.COUNTS:
        return 1000.0 if unit in PER_MICROLITRE else 1.0
    return CANONICAL_TO_UNIT[(measure, unit)]


@settings(max_examples=200, deadline=None)
@given(
    alias=st.sampled_from(ALIASES),
    x=st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False),
)
def test_conversion_round_trips(alias, x):
    measure, unit, _ = alias
    canonical = units.convert(x, measure, unit)
    assert canonical is not None
    back = canonical * _canonical_to(measure, unit)
    assert math.isclose(back, x, rel_tol=ROUNDED.get((measure, unit), 1e-9)), (measure, unit, x, canonical, back)
    # the analyte's canonical spelling converts by 1 (urea's is BUN's mg/dL: urea mg/dL is a unit of its own)
    analyte = analytes.MEASURE_ANALYTE[measure]
    assert units.convert(canonical, analyte, units.canonical_unit(analyte)) == canonical


def test_usual_ranges_follow_the_grading_default_ranges():
    import csv

    path = RULES_DIR / "reference_ranges.csv"
    with path.open(newline="") as fh:
        defaults = {r["analyte"]: r for r in csv.DictReader(fh) if r["sex"] == ""}
    assert set(analytes.USUAL_RANGE) == {a.key for a in analytes.ANALYTES}
    for key, (low, high) in analytes.USUAL_RANGE.items():
        row = defaults[key]
        assert float(row["high"]) == high and row["unit"] == analytes.CANONICAL_UNIT[key]
        if row["low"]:
            assert float(row["low"]) == low
