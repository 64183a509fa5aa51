"""CTCAE v5.0 grading: boundary tables per band, missing limits, calcium, comparators, float noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenadash.clinical import grading
from lenadash.clinical.grading import grade, grade_value, load_bands

NAN = float("nan")


def _g(analyte, value, **kw):
    return grade_value(analyte, value, **kw)[0]


# --- one boundary table per CTCAE term: just below, at, just above every threshold -----------
# Expected grades are read off the CTCAE v5.0 tables by hand (DOMAIN.md section 4), not from the CSV.

ANC = [  # LLN 2.0
    (2.01, 0),
    (2.0, 0),
    (1.99, 1),
    (1.51, 1),
    (1.5, 1),
    (1.49, 2),
    (1.01, 2),
    (1.0, 2),
    (0.99, 3),
    (0.51, 3),
    (0.5, 3),
    (0.49, 4),
    (0.0, 4),
]


@pytest.mark.parametrize("value, expected", ANC)
def test_neutrophil_count_decreased_against_label(value, expected):
    assert _g("anc", value, ref_low=2.0, ref_high=7.5) == expected


PLT = [  # LLN 150
    (151, 0),
    (150, 0),
    (149.9, 1),
    (75.1, 1),
    (75, 1),
    (74.9, 2),
    (50.1, 2),
    (50, 2),
    (49.9, 3),
    (25.1, 3),
    (25, 3),
    (24.9, 4),
    (1, 4),
]


@pytest.mark.parametrize("value, expected", PLT)
def test_platelet_count_decreased_against_label(value, expected):
    assert _g("plt", value, ref_low=150, ref_high=400) == expected


WBC = [  # LLN 4.0
    (4.01, 0),
    (4.0, 0),
    (3.99, 1),
    (3.01, 1),
    (3.0, 1),
    (2.99, 2),
    (2.01, 2),
    (2.0, 2),
    (1.99, 3),
    (1.01, 3),
    (1.0, 3),
    (0.99, 4),
]


@pytest.mark.parametrize("value, expected", WBC)
def test_white_blood_cell_decreased_against_label(value, expected):
    assert _g("wbc", value, ref_low=4.0, ref_high=11.0) == expected


ALC = [  # LLN 1.0
    (1.01, 0),
    (1.0, 0),
    (0.99, 1),
    (0.81, 1),
    (0.8, 1),
    (0.79, 2),
    (0.51, 2),
    (0.5, 2),
    (0.49, 3),
    (0.21, 3),
    (0.2, 3),
    (0.19, 4),
]


@pytest.mark.parametrize("value, expected", ALC)
def test_lymphocyte_count_decreased_against_label(value, expected):
    assert _g("alc", value, ref_low=1.0, ref_high=4.0) == expected


HGB = [  # LLN 12.0; grade 4 is clinical only, so the lab-only ceiling is 3
    (12.1, 0),
    (12.0, 0),
    (11.9, 1),
    (10.1, 1),
    (10.0, 1),
    (9.9, 2),
    (8.1, 2),
    (8.0, 2),
    (7.9, 3),
    (4.0, 3),
]


@pytest.mark.parametrize("value, expected", HGB)
def test_anemia_against_label(value, expected):
    assert _g("hgb", value, ref_low=12.0, ref_high=16.0) == expected


def test_anemia_grade_4_needs_clinical_information():
    g, term, note = grade_value("hgb", 5.0, ref_low=12.0)
    assert (g, term) == (3, "Anemia")
    assert "grade 4" in note and "clinical information" in note


CREATININE_ULN = [  # ULN 1.0, no baseline: ULN bands only
    (1.0, 0),
    (1.01, 1),
    (1.5, 1),
    (1.51, 2),
    (3.0, 2),
    (3.01, 3),
    (6.0, 3),
    (6.01, 4),
]


@pytest.mark.parametrize("value, expected", CREATININE_ULN)
def test_creatinine_increased_uln_bands_against_label(value, expected):
    assert _g("creatinine", value, ref_low=0.6, ref_high=1.0) == expected


CREATININE_BASELINE = [  # ULN 1.0, baseline 0.5: the worse of "x baseline" and "x ULN"
    (0.75, 0.5, 0),  # 1.5 x baseline exactly: not above it
    (0.76, 0.5, 2),  # >1.5 x baseline (CTCAE wording does not ask for > ULN; see docs/grading.md)
    (1.5, 0.5, 2),  # 3.0 x baseline exactly
    (1.51, 0.5, 3),  # >3.0 x baseline beats the 1.5-3.0 x ULN band
    (1.2, 1.0, 1),  # 1.2 x baseline: only the ULN band applies
    (1.51, NAN, 2),  # baseline missing: ULN bands
    (6.01, 0.5, 4),  # >6 x ULN is grade 4 whatever the baseline
]


@pytest.mark.parametrize("value, baseline, expected", CREATININE_BASELINE)
def test_creatinine_increased_baseline_bands_against_label(value, baseline, expected):
    assert _g("creatinine", value, ref_low=0.6, ref_high=1.0, baseline=baseline) == expected


TRANSAMINASE = [  # (analyte, ULN, baseline, value, grade)
    # baseline normal or missing: multiples of ULN
    ("ast", 40, None, 40, 0),
    ("ast", 40, None, 40.1, 1),
    ("ast", 40, None, 120, 1),
    ("ast", 40, None, 120.1, 2),
    ("ast", 40, None, 200, 2),
    ("ast", 40, None, 200.1, 3),
    ("ast", 40, None, 800, 3),
    ("ast", 40, None, 800.1, 4),
    ("ast", 40, 30, 120.1, 2),  # baseline normal
    ("ast", 40, 40, 120.1, 2),  # baseline at ULN is normal
    # baseline abnormal (60 > ULN 40): multiples of baseline
    ("ast", 40, 60, 89.9, 0),
    ("ast", 40, 60, 90, 1),
    ("ast", 40, 60, 180, 1),
    ("ast", 40, 60, 180.1, 2),
    ("ast", 40, 60, 300, 2),
    ("ast", 40, 60, 300.1, 3),
    ("ast", 40, 60, 1200, 3),
    ("ast", 40, 60, 1200.1, 4),
    ("alt", 50, None, 50, 0),
    ("alt", 50, None, 51, 1),
    ("alt", 50, None, 150, 1),
    ("alt", 50, None, 151, 2),
    ("alt", 50, None, 250, 2),
    ("alt", 50, None, 251, 3),
    ("alt", 50, None, 1000, 3),
    ("alt", 50, None, 1001, 4),
    ("alt", 50, 100, 149, 0),
    ("alt", 50, 100, 150, 1),
    ("alt", 50, 100, 300, 1),
    ("alt", 50, 100, 301, 2),
    ("alt", 50, 100, 500, 2),
    ("alt", 50, 100, 501, 3),
    ("alt", 50, 100, 2000, 3),
    ("alt", 50, 100, 2001, 4),
]


@pytest.mark.parametrize("analyte, uln, baseline, value, expected", TRANSAMINASE)
def test_ast_alt_increased_against_label(analyte, uln, baseline, value, expected):
    assert _g(analyte, value, ref_low=5, ref_high=uln, baseline=baseline) == expected


BILIRUBIN = [  # ULN 1.0
    (None, 1.0, 0),
    (None, 1.01, 1),
    (None, 1.5, 1),
    (None, 1.51, 2),
    (None, 3.0, 2),
    (None, 3.01, 3),
    (None, 10.0, 3),
    (None, 10.01, 4),
    (2.0, 2.0, 0),
    (2.0, 2.01, 1),
    (2.0, 3.0, 1),
    (2.0, 3.01, 2),  # baseline abnormal: x baseline
    (2.0, 6.0, 2),
    (2.0, 6.01, 3),
    (2.0, 20.0, 3),
    (2.0, 20.01, 4),
]


@pytest.mark.parametrize("baseline, value, expected", BILIRUBIN)
def test_blood_bilirubin_increased_against_label(baseline, value, expected):
    assert _g("bilirubin", value, ref_low=0.2, ref_high=1.0, baseline=baseline) == expected


ALP = [  # ULN 100
    (None, 100, 0),
    (None, 101, 1),
    (None, 250, 1),
    (None, 251, 2),
    (None, 500, 2),
    (None, 501, 3),
    (None, 2000, 3),
    (None, 2001, 4),
    (150, 299, 0),
    (150, 300, 1),
    (150, 375, 1),
    (150, 376, 2),  # baseline abnormal
    (150, 750, 2),
    (150, 751, 3),
    (150, 3000, 3),
    (150, 3001, 4),
]


@pytest.mark.parametrize("baseline, value, expected", ALP)
def test_alkaline_phosphatase_increased_against_label(baseline, value, expected):
    assert _g("alp", value, ref_low=40, ref_high=100, baseline=baseline) == expected


POTASSIUM = [  # LLN 3.5, ULN 5.0; hypokalemia grade 2 needs symptoms -> lab-only grade 1
    (3.51, 0),
    (3.5, 0),
    (3.49, 1),
    (3.01, 1),
    (3.0, 1),
    (2.99, 3),
    (2.51, 3),
    (2.5, 3),
    (2.49, 4),
    (5.0, 0),
    (5.01, 1),
    (5.5, 1),
    (5.51, 2),
    (6.0, 2),
    (6.01, 3),
    (7.0, 3),
    (7.01, 4),
]


@pytest.mark.parametrize("value, expected", POTASSIUM)
def test_hypo_hyperkalemia_against_label(value, expected):
    assert _g("potassium", value, ref_low=3.5, ref_high=5.0) == expected


SODIUM = [  # LLN 135, ULN 145; hyponatremia 125-129 symptomatic (grade 3) needs clinical information
    (135, 0),
    (134.9, 1),
    (130, 1),
    (129.9, 2),
    (129, 2),
    (125, 2),
    (124.9, 3),
    (120, 3),
    (119.9, 4),
    (145, 0),
    (145.1, 1),
    (150, 1),
    (150.1, 2),
    (155, 2),
    (155.1, 3),
    (160, 3),
    (160.1, 4),
]


@pytest.mark.parametrize("value, expected", SODIUM)
def test_hypo_hypernatremia_against_label(value, expected):
    assert _g("sodium", value, ref_low=135, ref_high=145) == expected


CALCIUM = [  # LLN 8.5, ULN 10.2, no albumin: uncorrected
    (8.5, 0),
    (8.49, 1),
    (8.0, 1),
    (7.99, 2),
    (7.0, 2),
    (6.99, 3),
    (6.0, 3),
    (5.99, 4),
    (10.2, 0),
    (10.21, 1),
    (11.5, 1),
    (11.51, 2),
    (12.5, 2),
    (12.51, 3),
    (13.5, 3),
    (13.51, 4),
]


@pytest.mark.parametrize("value, expected", CALCIUM)
def test_hypo_hypercalcemia_against_label(value, expected):
    assert _g("calcium", value, ref_low=8.5, ref_high=10.2) == expected


ALBUMIN = [  # LLN 3.5; grade 4 clinical only
    (3.5, 0),
    (3.49, 1),
    (3.0, 1),
    (2.99, 2),
    (2.0, 2),
    (1.99, 3),
    (1.0, 3),
]


@pytest.mark.parametrize("value, expected", ALBUMIN)
def test_hypoalbuminemia_against_label(value, expected):
    assert _g("albumin", value, ref_low=3.5, ref_high=5.0) == expected


GLUCOSE = [  # LLN 70, ULN 99; hyperglycemia has no lab threshold in v5
    (70, 0),
    (69.9, 1),
    (55, 1),
    (54.9, 2),
    (40, 2),
    (39.9, 3),
    (30, 3),
    (29.9, 4),
    (99, 0),
    (99.1, None),
    (400, None),
]


@pytest.mark.parametrize("value, expected", GLUCOSE)
def test_hypoglycemia_against_label(value, expected):
    assert _g("glucose", value, ref_low=70, ref_high=99) == expected


CLINICAL_NOTES = [  # (analyte, value, limits, lab-only grade, words the note must carry)
    ("potassium", 3.2, (3.5, 5.0), 1, "grade 2"),
    ("sodium", 127, (135, 145), 2, "grade 3 if symptomatic"),
    ("albumin", 1.5, (3.5, 5.0), 3, "grade 4"),
    ("hgb", 6.0, (12.0, 16.0), 3, "grade 4"),
    ("glucose", 300, (70, 99), None, "no lab threshold"),
    ("bun", 80, (7, 20), None, "no lab threshold"),
    ("chloride", 80, (98, 107), None, "no lab threshold"),
    ("co2", 10, (22, 29), None, "no lab threshold"),
    ("total_protein", 4.0, (6.0, 8.3), None, "no lab threshold"),
]


@pytest.mark.parametrize("analyte, value, limits, expected, words", CLINICAL_NOTES)
def test_clinical_information_is_named_not_guessed(analyte, value, limits, expected, words):
    g, _, note = grade_value(analyte, value, ref_low=limits[0], ref_high=limits[1])
    assert g == expected
    assert words in note


# --- limits of normal: the result's own, the default, or none ---------------------------------


def test_note_says_which_limit_was_used():
    assert "LLN from the result's reference range" in grade_value("anc", 1.7, ref_low=2.0)[2]
    assert "LLN from default range (rules/reference_ranges.csv)" in grade_value("anc", 1.7)[2]
    assert "ULN from the result's reference range" in grade_value("alt", 60, ref_high=50)[2]


def test_own_range_beats_default():
    # default ANC LLN is 1.8; the result's own LLN 1.6 makes 1.7 normal
    assert _g("anc", 1.7) == 1
    assert _g("anc", 1.7, ref_low=1.6) == 0


def test_default_range_is_sex_specific_when_sex_is_known():
    # hgb 12.5: above the female LLN (12.0), below the male LLN (13.5); unknown sex uses the lower LLN
    assert _g("hgb", 12.5, sex="F") == 0
    assert _g("hgb", 12.5, sex="M") == 1
    assert _g("hgb", 12.5) == 0


NO_LIMITS = [  # no result range and no default: grade only what the fixed thresholds settle
    ("anc", 1.7, None, None, "no LLN"),  # G1 vs G0 needs the LLN
    ("anc", 1.2, None, 2, ""),
    ("anc", 0.3, None, 4, ""),
    ("plt", 60, None, 2, ""),
    ("creatinine", 1.4, None, None, "no ULN"),
    ("creatinine", 1.4, 0.4, None, "no ULN"),  # >3x baseline, but >6x ULN (grade 4) cannot be excluded
    ("alt", 300, 100, None, "no ULN"),  # baseline normal or abnormal cannot be told
    ("potassium", 2.7, None, 3, ""),
    ("potassium", 5.2, None, None, "ULN"),  # hyperkalemia G1 vs normal needs the ULN
    ("potassium", 5.7, None, 2, ""),
    ("calcium", 9.0, None, None, "no LLN or ULN"),
]


@pytest.mark.parametrize("analyte, value, baseline, expected, words", NO_LIMITS)
def test_missing_limits_of_normal(monkeypatch, analyte, value, baseline, expected, words):
    empty = grading.load_reference_ranges().iloc[0:0]
    monkeypatch.setattr(grading, "load_reference_ranges", lambda *a, **k: empty)
    g, _, note = grade_value(analyte, value, baseline=baseline)
    assert g == expected
    assert words in note


def test_baseline_missing_uses_uln_bands_and_says_so():
    g, _, note = grade_value("alt", 160, ref_high=50)
    assert g == 2
    assert "no baseline: ULN bands" in note
    assert "baseline abnormal" in grade_value("alt", 160, ref_high=50, baseline=100)[2]


# --- corrected calcium --------------------------------------------------------------------------

CORRECTED_CALCIUM = [  # (Ca, albumin, corrected by hand, grade with LLN 8.5 / ULN 10.2)
    (7.6, 2.0, 9.2, 0),  # 7.6 + 0.8 x 2.0
    (8.0, 4.0, 8.0, 1),  # albumin 4.0: no correction
    (9.0, 5.0, 8.2, 1),  # albumin above 4.0 lowers it
    (10.8, 2.5, 12.0, 2),  # 10.8 + 1.2
    (6.4, 2.0, 8.0, 1),  # 6.4 + 1.6 = 8.0 exactly: grade 1, not 2 (float noise)
    (5.6, 1.5, 7.6, 2),
]


@pytest.mark.parametrize("ca, albumin, corrected, expected", CORRECTED_CALCIUM)
def test_corrected_calcium_against_label(ca, albumin, corrected, expected):
    g, term, note = grade_value("calcium", ca, ref_low=8.5, ref_high=10.2, albumin=albumin)
    assert g == expected
    assert "corrected calcium" in note
    labs = pd.DataFrame(
        {
            "mrn": ["P1", "P1"],
            "collected_at": pd.to_datetime(["2026-01-05 08:00", "2026-01-05 08:00"]),
            "analyte": ["calcium", "albumin"],
            "value": [ca, albumin],
            "ref_low": [8.5, 3.5],
            "ref_high": [10.2, 5.0],
        }
    )
    assert grade(labs)["graded_value"].iloc[0] == pytest.approx(corrected)


def test_calcium_pairs_albumin_of_same_patient_and_date_only():
    labs = pd.DataFrame(
        {
            "mrn": ["P1", "P1", "P2", "P1", "P3", "P3", "P3"],
            "collected_at": pd.to_datetime(
                [
                    "2026-01-05 08:00",  # P1 calcium
                    "2026-01-06 08:00",  # P1 albumin, next day: does not count
                    "2026-01-05 08:00",  # P2 albumin, same day other patient: does not count
                    "2026-01-07 09:00",  # P1 calcium without albumin
                    "2026-01-05 07:00",  # P3 calcium
                    "2026-01-05 06:00",  # P3 albumin, earlier the same day
                    "2026-01-05 18:00",  # P3 albumin, later the same day: the latest wins
                ]
            ),
            "analyte": ["calcium", "albumin", "albumin", "calcium", "calcium", "albumin", "albumin"],
            "value": [7.9, 2.0, 2.0, 7.9, 7.6, 4.0, 2.0],
            "ref_low": [8.5, 3.5, 3.5, 8.5, 8.5, 3.5, 3.5],
            "ref_high": [10.2, 5.0, 5.0, 10.2, 10.2, 5.0, 5.0],
        }
    )
    out = grade(labs)
    assert out["grade"].iloc[0] == 2  # 7.9 uncorrected
    assert "no albumin on the same date" in out["grade_note"].iloc[0]
    assert out["grade"].iloc[3] == 2
    assert out["graded_value"].iloc[4] == pytest.approx(9.2)  # 7.6 + 0.8 x (4.0 - 2.0)
    assert out["grade"].iloc[4] == 0


# --- comparators and float noise ----------------------------------------------------------------

COMPARATORS = [
    ("anc", 0.5, "<", 4),  # "<0.5" is below 0.5: grade 4 although 0.5 itself is grade 3
    ("anc", 0.5, "", 3),
    ("anc", 0.5, "<=", 3),  # "at most 0.5": graded at the number
    ("plt", 25, "<", 4),
    ("creatinine", 6.0, ">", 4),  # ">6.0" with ULN 1.0 is above 6 x ULN
    ("creatinine", 6.0, "", 3),
    ("alt", 150, ">", 2),  # ">150" with ULN 50 is above 3 x ULN
]


@pytest.mark.parametrize("analyte, value, comparator, expected", COMPARATORS)
def test_comparator_values(analyte, value, comparator, expected):
    limits = {"anc": (2.0, 7.5), "plt": (150, 400), "creatinine": (0.6, 1.0), "alt": (7, 50)}[analyte]
    assert _g(analyte, value, ref_low=limits[0], ref_high=limits[1], comparator=comparator) == expected


FLOAT_NOISE = [  # (analyte, value, ref_low, ref_high, expected) where the float is a hair off the threshold
    ("alc", 0.7 + 0.1, 1.0, 4.0, 1),  # 0.7999999999999999 is 0.8: grade 1, not 2
    ("creatinine", 0.1 * 3, 0.1, 0.3, 0),  # 0.30000000000000004 is its ULN 0.3: not above it
    ("albumin", 4.1 - 1.1, 3.5, 5.0, 1),  # 2.9999999999999996 is 3.0: grade 1, not 2
    ("anc", 1.1 + 0.4, 2.0, 7.5, 1),  # 1.5000000000000002 is 1.5: grade 1
    ("anc", 0.7 + 0.3 - 0.5, 2.0, 7.5, 3),  # 0.49999999999999994 is 0.5: grade 3, not 4
    ("potassium", 0.1 * 30, 3.5, 5.0, 1),  # 3.0000000000000004 is 3.0: grade 1
    ("creatinine", 2.1, 0.5, 0.7, 2),  # 3.0 x 0.7 = 2.0999999999999996 in floats; 2.1 is 3.0 x ULN: grade 2
    ("bilirubin", 0.3 * 3, 0.1, 0.6, 1),  # 0.8999999999999999 vs 1.5 x 0.6 = 0.8999999999999999: 0.9 = 1.5 x ULN
]


@pytest.mark.parametrize("analyte, value, ref_low, ref_high, expected", FLOAT_NOISE)
def test_float_noise_never_moves_a_band(analyte, value, ref_low, ref_high, expected):
    assert _g(analyte, value, ref_low=ref_low, ref_high=ref_high) == expected


# --- properties ---------------------------------------------------------------------------------

LOW_ANALYTES = {
    "anc": (2.0, 7.5),
    "plt": (150, 400),
    "wbc": (4.0, 11.0),
    "alc": (1.0, 4.0),
    "hgb": (12.0, 16.0),
    "albumin": (3.5, 5.0),
    "potassium": (3.5, 5.0),
    "sodium": (135, 145),
    "calcium": (8.5, 10.2),
    "glucose": (70, 99),
}


def _grades(analyte, values, ref_low, ref_high, baseline=NAN):
    labs = pd.DataFrame(
        {"analyte": analyte, "value": values, "ref_low": ref_low, "ref_high": ref_high, "baseline_value": baseline}
    )
    return grade(labs)["grade"]


@pytest.mark.parametrize("analyte", sorted(LOW_ANALYTES))
@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(min_value=0, max_value=500, allow_nan=False), min_size=2, max_size=30))
def test_a_lower_count_never_grades_better(analyte, values):
    lo, hi = LOW_ANALYTES[analyte]
    ordered = sorted(v for v in values if v <= lo)  # the low-direction side of the range
    if len(ordered) < 2:
        return
    grades = _grades(analyte, ordered, lo, hi).to_numpy(dtype=float, na_value=np.nan)
    assert not np.isnan(grades).any()
    assert (np.diff(grades) <= 0).all(), list(zip(ordered, grades))


@pytest.mark.parametrize(
    "analyte, uln", [("creatinine", 1.0), ("alt", 50), ("ast", 40), ("bilirubin", 1.2), ("alp", 120)]
)
@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False), min_size=2, max_size=30),
    baseline=st.one_of(st.just(NAN), st.floats(min_value=0.1, max_value=500, allow_nan=False)),
)
def test_a_higher_value_never_grades_better(analyte, uln, values, baseline):
    ordered = sorted(values)
    grades = _grades(analyte, ordered, 0.0, uln, baseline).to_numpy(dtype=float, na_value=np.nan)
    assert not np.isnan(grades).any()
    assert (np.diff(grades) >= 0).all(), list(zip(ordered, grades))


# --- the table itself, bad input, speed ---------------------------------------------------------


def test_every_band_has_source_and_criteria_text():
    bands = load_bands()
    assert bands
    for band in bands:
        assert band.source.startswith("CTCAE v5.0")
        if band.grade is not None:
            assert band.criteria_text and band.term


def test_every_canonical_analyte_has_a_rule():
    keys = {
        "wbc",
        "anc",
        "alc",
        "hgb",
        "plt",
        "creatinine",
        "bun",
        "sodium",
        "potassium",
        "chloride",
        "co2",
        "glucose",
        "calcium",
        "albumin",
        "total_protein",
        "ast",
        "alt",
        "alp",
        "bilirubin",
    }
    assert keys <= set(grading.graded_analytes())
    ranges = grading.load_reference_ranges()
    assert keys <= set(ranges["analyte"])
    assert ranges["source"].str.len().gt(0).all()


def test_bad_band_row_names_line_and_fix(tmp_path):
    bad = tmp_path / "bands.csv"
    header = (
        "analyte,direction,grade,term,lower,lower_closed,upper,upper_closed,when,clinical_note,criteria_text,source\n"
    )
    bad.write_text(header + "anc,low,1,X,1.5,true,LLM,false,,,x,CTCAE v5.0\n")
    with pytest.raises(ValueError, match=r"line 2.*'LLM'.*3.0\*ULN"):
        load_bands(bad)


def test_missing_columns_say_how_to_fix():
    with pytest.raises(ValueError, match="value"):
        grade(pd.DataFrame({"analyte": ["anc"]}))


def test_unknown_analyte_and_missing_value_are_explained():
    g, _, note = grade_value("ferritin", 10)
    assert g is None and "no CTCAE v5 rule" in note
    g, _, note = grade_value("anc", NAN)
    assert g is None and "no numeric value" in note


def test_output_dtypes_and_index_kept():
    labs = pd.DataFrame({"analyte": ["anc", "bun"], "value": [0.4, 30.0]}, index=[10, 20])
    out = grade(labs)
    assert str(out["grade"].dtype) == "Int64"
    assert list(out.index) == [10, 20]
    assert out["grade"].iloc[0] == 4 and pd.isna(out["grade"].iloc[1])
    assert "grade" not in labs  # input untouched


def test_vectorised_grading_matches_one_row_at_a_time():
    """grade() over a mixed frame gives each row what grade_value() gives it alone (no leakage between rows or
    analytes). Speed is measured in bench/, not here."""
    rng = np.random.default_rng(7)
    n = 400
    analytes = np.array(sorted(grading.graded_analytes()))
    labs = pd.DataFrame(
        {
            "mrn": [f"P{i}" for i in range(n)],  # one row per patient: calcium meets no albumin of another row
            "collected_at": pd.Timestamp("2026-01-01"),
            "analyte": rng.choice(analytes, n),
            "value": rng.uniform(0, 200, n).round(2),
            "comparator": rng.choice(["", "", "<", ">"], n),
            "ref_low": np.where(rng.random(n) < 0.3, 1.0, np.nan),
            "ref_high": np.where(rng.random(n) < 0.3, 50.0, np.nan),
            "baseline_value": np.where(rng.random(n) < 0.3, 20.0, np.nan),
            "sex": rng.choice(["F", "M", ""], n),
        }
    )
    out = grade(labs)
    for row, graded in zip(labs.itertuples(index=False), out.itertuples(index=False)):
        alone = grade_value(
            row.analyte,
            row.value,
            ref_low=None if np.isnan(row.ref_low) else row.ref_low,
            ref_high=None if np.isnan(row.ref_high) else row.ref_high,
            baseline=None if np.isnan(row.baseline_value) else row.baseline_value,
            comparator=row.comparator,
            sex=row.sex or None,
        )
        batch = (None if pd.isna(graded.grade) else int(graded.grade), graded.grade_term, graded.grade_note)
        assert batch == alone, row


def test_every_rule_row_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "grading.md").read_text(encoding="utf-8")
    for band in load_bands():
        assert band.analyte in doc, f"{band.analyte} missing from docs/grading.md"
        for word in filter(None, band.term.split(" / ")):
            assert word.split()[0] in doc, f"term {band.term!r} missing from docs/grading.md"


def test_band_without_inclusive_flag_is_rejected(tmp_path):
    bad = tmp_path / "bands.csv"
    header = (
        "analyte,direction,grade,term,lower,lower_closed,upper,upper_closed,when,clinical_note,criteria_text,source\n"
    )
    bad.write_text(header + "anc,low,1,X,1.5,,LLN,false,,,x,CTCAE v5.0\n")
    with pytest.raises(ValueError, match="true or false"):
        load_bands(bad)


def test_bands_tile_without_gaps_or_overlaps():
    """Consecutive grades of one term meet at one bound, included on exactly one side (catches CSV typos)."""
    groups: dict[tuple, list] = {}
    for band in load_bands():
        if band.grade is not None and band.when != "baseline":
            groups.setdefault((band.analyte, band.direction, band.when), []).append(band)
    assert groups
    for key, bands in groups.items():
        bands.sort(key=lambda b: b.grade)
        for milder, worse in zip(bands, bands[1:]):
            if key[1] == "low":  # worse grades lie below: the milder band's lower end meets the worse band's upper end
                a, b = milder.lower, worse.upper
            else:
                a, b = milder.upper, worse.lower
            assert (a.factor, a.ref) == (b.factor, b.ref), f"{key} grades {milder.grade}/{worse.grade} do not meet"
            assert a.closed != b.closed, (
                f"{key} grades {milder.grade}/{worse.grade}: the shared bound must be in exactly one band"
            )
