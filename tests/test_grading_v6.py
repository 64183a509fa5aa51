"""CTCAE v6.0 grading (rules/ctcae_v6.csv) through the one interpreter, against the NCI text of each band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lenadash.clinical import grading
from lenadash.clinical.grading import grade, grade_value

V6 = "ctcae_v6"
# Limits given explicitly so each row reads as the NCI text does (not the default ranges).
ANC = {"ref_low": 1.8, "ref_high": 7.7}
PLT = {"ref_low": 150.0, "ref_high": 450.0}
CREA = {"ref_low": 0.6, "ref_high": 1.2}
AST = {"ref_low": 10.0, "ref_high": 40.0}
BILI = {"ref_high": 1.2}
ALP = {"ref_low": 44.0, "ref_high": 120.0}
GLU = {"ref_low": 70.0, "ref_high": 99.0}
NA_ = {"ref_low": 135.0, "ref_high": 145.0}


# (analyte, value, limits and baseline, expected v6 grade (None = no grade), NCI words of that band or the note)
V6_BOUNDARIES = [
    # Neutrophil count decreased: every band one grade milder than v5, G1 without the LLN
    ("anc", 1.7, ANC, 0, None),  # below the LLN, not below 1.5: v5 grade 1, v6 grade 0
    ("anc", 1.5, ANC, 0, None),
    ("anc", 1.49, ANC, 1, "<1.5 - 1.0 x 10^9/L"),
    ("anc", 1.0, ANC, 1, "<1.5 - 1.0 x 10^9/L"),
    ("anc", 0.99, ANC, 2, "<1.0 - 0.5 x 10^9/L"),
    ("anc", 0.5, ANC, 2, "<1.0 - 0.5 x 10^9/L"),
    ("anc", 0.49, ANC, 3, "<0.5 - 0.1 x 10^9/L"),
    ("anc", 0.1, ANC, 3, "<0.5 - 0.1 x 10^9/L"),
    ("anc", 0.09, ANC, 4, "<0.1 x 10^9/L"),
    # Thrombocytopenia: G3 < 50 - 10, G4 < 10
    ("plt", 150.0, PLT, 0, None),
    ("plt", 149.0, PLT, 1, "<LLN - 75.0 x 10^9/L"),
    ("plt", 75.0, PLT, 1, "<LLN - 75.0 x 10^9/L"),
    ("plt", 74.9, PLT, 2, "<75.0 - 50.0 x 10^9/L"),
    ("plt", 50.0, PLT, 2, "<75.0 - 50.0 x 10^9/L"),
    ("plt", 49.9, PLT, 3, "<50.0 - 10.0 x 10^9/L"),
    ("plt", 10.0, PLT, 3, "<50.0 - 10.0 x 10^9/L"),
    ("plt", 9.9, PLT, 4, "<10.0 x 10^9/L"),
    # Lymphocyte count decreased: no v6 term, no grade with that reason
    ("alc", 0.1, {}, None, "no CTCAE v6.0 term"),
    ("alc", 0.9, {}, None, "no CTCAE v6.0 term"),
    # Creatinine increased: x baseline only when the baseline is below the LLN (0.6)
    ("creatinine", 0.75, {**CREA, "baseline": 0.5}, 0, None),  # 1.5 x baseline: not above
    ("creatinine", 0.76, {**CREA, "baseline": 0.5}, 2, ">1.5 - 3.0 x baseline if baseline is below LLN"),
    ("creatinine", 1.5, {**CREA, "baseline": 0.5}, 2, ">1.5 - 3.0 x baseline if baseline is below LLN"),
    ("creatinine", 1.51, {**CREA, "baseline": 0.5}, 3, ">3.0 x baseline if baseline is below LLN"),
    ("creatinine", 1.0, {**CREA, "baseline": 0.6}, 0, None),  # baseline at the LLN: ULN bands only
    ("creatinine", 1.19, {**CREA, "baseline": 0.7}, 0, None),  # 1.7 x a normal baseline: v5 grade 2
    ("creatinine", 1.2, CREA, 0, None),
    ("creatinine", 1.21, CREA, 1, ">ULN - 1.5 x ULN"),
    ("creatinine", 1.8, CREA, 1, ">ULN - 1.5 x ULN"),
    ("creatinine", 1.81, CREA, 2, ">1.5 - 3.0 x ULN"),
    ("creatinine", 3.6, CREA, 2, ">1.5 - 3.0 x ULN"),
    ("creatinine", 3.61, CREA, 3, ">3.0 - 6.0 x ULN"),
    ("creatinine", 7.2, CREA, 3, ">3.0 - 6.0 x ULN"),
    ("creatinine", 7.21, CREA, 4, ">6.0 x ULN"),
    # AST / ALT, baseline above the ULN (40): multiples of baseline 80
    ("ast", 79.0, {**AST, "baseline": 80.0}, 0, None),
    ("ast", 80.0, {**AST, "baseline": 80.0}, 1, "1.0 - 1.5 x baseline if baseline was >ULN"),
    ("ast", 120.0, {**AST, "baseline": 80.0}, 1, "1.0 - 1.5 x baseline if baseline was >ULN"),
    ("ast", 121.0, {**AST, "baseline": 80.0}, 2, ">1.5 - 2.0 x baseline if baseline was >ULN"),
    ("ast", 160.0, {**AST, "baseline": 80.0}, 2, ">1.5 - 2.0 x baseline if baseline was >ULN"),
    ("ast", 161.0, {**AST, "baseline": 80.0}, 3, ">2.0 - 4.0 x baseline if baseline was >ULN"),
    ("ast", 320.0, {**AST, "baseline": 80.0}, 3, ">2.0 - 4.0 x baseline if baseline was >ULN"),
    ("ast", 321.0, {**AST, "baseline": 80.0}, 4, ">4.0 x baseline if baseline was >ULN"),
    ("alt", 80.0, {**AST, "baseline": 80.0}, 1, "1.0 - 1.5 x baseline if baseline was >ULN"),
    ("alt", 161.0, {**AST, "baseline": 80.0}, 3, ">2.0 - 4.0 x baseline if baseline was >ULN"),
    ("alt", 321.0, {**AST, "baseline": 80.0}, 4, ">4.0 x baseline if baseline was >ULN"),
    # AST / ALT, baseline normal (at the ULN) or none: ULN bands
    ("alt", 40.0, {**AST, "baseline": 40.0}, 0, None),
    ("alt", 41.0, {**AST, "baseline": 40.0}, 1, ">ULN - 3.0 x ULN if baseline was normal or less than normal"),
    ("alt", 120.0, AST, 1, ">ULN - 3.0 x ULN if baseline was normal or less than normal"),
    ("alt", 121.0, AST, 2, ">3.0 - 5.0 x ULN if baseline was normal or less than normal"),
    ("alt", 201.0, AST, 3, ">5.0 - 20.0 x ULN if baseline was normal or less than normal"),
    ("alt", 801.0, AST, 4, ">20.0 x ULN if baseline was normal or less than normal"),
    # Blood bilirubin increased, baseline above the ULN (1.2): multiples of baseline 2.0
    ("bilirubin", 1.99, {**BILI, "baseline": 2.0}, 0, None),
    ("bilirubin", 2.0, {**BILI, "baseline": 2.0}, 1, "1.0 - 1.5 x baseline if baseline was >ULN"),
    ("bilirubin", 3.0, {**BILI, "baseline": 2.0}, 1, "1.0 - 1.5 x baseline if baseline was >ULN"),
    ("bilirubin", 3.01, {**BILI, "baseline": 2.0}, 2, ">1.5 - 2.5 x baseline if baseline was >ULN"),
    ("bilirubin", 5.0, {**BILI, "baseline": 2.0}, 2, ">1.5 - 2.5 x baseline if baseline was >ULN"),
    ("bilirubin", 5.01, {**BILI, "baseline": 2.0}, 3, ">2.5 - 10.0 x baseline if baseline was >ULN"),
    ("bilirubin", 20.0, {**BILI, "baseline": 2.0}, 3, ">2.5 - 10.0 x baseline if baseline was >ULN"),
    ("bilirubin", 20.01, {**BILI, "baseline": 2.0}, 4, ">10.0 x baseline if baseline was >ULN"),
    ("bilirubin", 1.81, BILI, 2, ">1.5 - 3.0 x ULN if baseline was normal or less than normal"),
    # Alkaline phosphatase: grade 1 only, "> baseline and ULN"
    ("alp", 120.0, ALP, 0, None),
    ("alp", 121.0, ALP, 1, ">Baseline and ULN"),
    ("alp", 2500.0, ALP, 1, ">Baseline and ULN"),  # 20.8 x ULN: v5 grade 4
    ("alp", 200.0, {**ALP, "baseline": 200.0}, 0, None),
    ("alp", 201.0, {**ALP, "baseline": 200.0}, 1, ">Baseline and ULN"),
    ("alp", 121.0, {**ALP, "baseline": 100.0}, 1, ">Baseline and ULN"),
    # Hyperglycemia: G3/G4 from any sample; G1/G2 need a fasting sample, which lenadash cannot know
    ("glucose", 99.0, GLU, 0, None),
    ("glucose", 100.0, GLU, None, "grades 1-2 need a fasting glucose"),
    ("glucose", 250.0, GLU, None, "grades 1-2 need a fasting glucose"),
    ("glucose", 251.0, GLU, 3, ">250 - 500 mg/dL"),
    ("glucose", 500.0, GLU, 3, ">250 - 500 mg/dL"),
    ("glucose", 501.0, GLU, 4, ">500 mg/dL"),
    # Hyponatremia: G2 125 - <130 (no gap at 129.5), G3 120 - <125
    ("sodium", 135.0, NA_, 0, None),
    ("sodium", 130.0, NA_, 1, "<LLN - 130 mmol/L"),
    ("sodium", 129.9, NA_, 2, "125 - <130 mmol/L"),
    ("sodium", 129.5, NA_, 2, "125 - <130 mmol/L"),
    ("sodium", 125.0, NA_, 2, "125 - <130 mmol/L"),
    ("sodium", 124.9, NA_, 3, "120 - <125 mmol/L"),
    ("sodium", 120.0, NA_, 3, "120 - <125 mmol/L"),
    ("sodium", 119.9, NA_, 4, "<120 mmol/L"),
]


@pytest.mark.parametrize(("analyte", "value", "kw", "expected", "nci"), V6_BOUNDARIES)
def test_v6_bands_against_nci_text(analyte, value, kw, expected, nci):
    got, term, note = grade_value(analyte, value, version=V6, **kw)
    assert got == expected, (analyte, value, kw, term, note)
    if expected is None:
        assert nci in note
    elif expected > 0:
        texts = [b.criteria_text for b in grading.bands(V6) if b.analyte == analyte and b.grade == expected]
        assert any(nci in t for t in texts), f"{nci!r} is not the NCI text of {analyte} grade {expected}: {texts}"


def test_every_v6_threshold_is_in_the_boundary_table():
    """Each numeric bound of a graded v6 band of these analytes appears as a tested value (at the threshold)."""
    tested = {(a, round(v, 6)) for a, v, kw, _, _ in V6_BOUNDARIES if "baseline" not in kw}
    for b in grading.bands(V6):
        if b.grade is None or b.when == "fasting":  # fasting rows never apply (no fasting flag)
            continue
        if (b.analyte, b.direction) not in {("anc", "low"), ("plt", "low"), ("glucose", "high"), ("sodium", "low")}:
            continue
        for bound in (b.lower, b.upper):
            if bound is not None and bound.ref is None:
                assert (b.analyte, bound.factor) in tested, (b.analyte, b.grade, bound)


def test_v5_stays_the_default_and_differs_where_v6_changed():
    assert grade_value("anc", 1.7, **ANC)[0] == 1  # v5: < LLN - 1.5
    assert grade_value("plt", 20.0, **PLT)[0] == 4
    assert grade_value("alc", 0.1)[0] == 4
    assert grade_value("alp", 2500.0, **ALP)[0] == 4
    assert grade_value("glucose", 300.0, **GLU)[0] is None
    assert grade_value("creatinine", 1.19, **CREA, baseline=0.7)[0] == 2  # v5: any baseline
    assert grade_value("plt", 20.0, **PLT, version=V6)[0] == 3


def test_frame_grading_takes_the_version_and_caches_bands_per_version():
    labs = pd.DataFrame(
        {"analyte": ["anc", "plt", "alc", "glucose"], "value": [0.4, 9.0, 0.1, 600.0], "ref_low": np.nan}
    )
    v5 = grade(labs)
    v6 = grade(labs, version=V6)
    assert v5["grade"].tolist() == [4, 4, 4, pd.NA]
    assert v6["grade"].tolist() == [3, 4, pd.NA, 4]
    assert v6["grade_term"].tolist()[1] == "Thrombocytopenia"
    assert grading.bands(V6) is grading.bands(V6)
    assert grading.bands() is grading.bands("ctcae_v5")
    assert "alc" in grading.graded_analytes(V6)


def test_unknown_version_names_the_known_ones():
    with pytest.raises(ValueError, match="ctcae_v5, ctcae_v6"):
        grade_value("anc", 1.0, version="ctcae_v7")


def test_v6_alc_and_unknown_analyte_reasons_name_the_version():
    labs = pd.DataFrame({"analyte": ["alc", "ferritin"], "value": [0.3, 500.0]})
    notes = grade(labs, version=V6)["grade_note"].tolist()
    assert "no CTCAE v6.0 term" in notes[0]
    assert notes[1] == "analyte not graded: no CTCAE v6.0 rule in rules/ctcae_v6.csv"
    assert grade(labs)["grade_note"].tolist()[1] == "analyte not graded: no CTCAE v5 rule in rules/ctcae_v5.csv"


def test_v6_baseline_below_lln_uses_the_default_lln():
    """Creatinine x-baseline band: a result without its own LLN compares the baseline with the default LLN."""
    labs = pd.DataFrame(
        {"analyte": ["creatinine"], "value": [0.9], "baseline_value": [0.5], "ref_low": [np.nan], "ref_high": [1.2]}
    )
    out = grade(labs.assign(analyte="creatinine"), version=V6)
    # the default range gives the LLN (0.6): baseline 0.5 is below it, 0.9 = 1.8 x baseline -> grade 2
    assert int(out["grade"].iloc[0]) == 2


@pytest.mark.parametrize("analyte", ["anc", "plt", "wbc", "hgb", "sodium", "albumin"])
def test_v6_a_lower_count_never_gets_a_better_grade(analyte):
    values = np.round(np.linspace(0.0, 200.0, 4001), 2)
    graded = grade(pd.DataFrame({"analyte": analyte, "value": values}), version=V6)["grade"]
    low_grades = graded.fillna(0).astype(int).to_numpy()
    if analyte == "sodium":  # hyponatremia only below the LLN; above it hypernatremia rises again
        low_grades = low_grades[values < 135]
    assert (np.diff(low_grades) <= 0).all()
