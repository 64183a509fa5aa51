"""Renal: age on the draw date, Cockcroft-Gault worked examples, PI renal bands and alerts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lenadash.clinical.renal import (
    RenalDose,
    age_years,
    age_years_series,
    crcl_ml_min,
    creatinine_umol_l_to_mg_dl,
    load_renal_rules,
    renal_alerts,
    renal_starting_dose,
)

D = dt.date


# --- age --------------------------------------------------------------------------------------

AGES = [
    (D(1950, 3, 10), D(2026, 3, 9), 75),  # day before the birthday
    (D(1950, 3, 10), D(2026, 3, 10), 76),  # on the birthday
    (D(1950, 3, 10), D(2026, 3, 11), 76),
    (D(1952, 2, 29), D(2026, 2, 28), 73),  # leap-day birthday: not yet on 28 Feb
    (D(1952, 2, 29), D(2026, 3, 1), 74),
    (D(1952, 2, 29), D(2028, 2, 29), 76),
    (D(1960, 12, 31), D(2026, 1, 1), 65),
]


@pytest.mark.parametrize("birth, on, expected", AGES)
def test_age_in_whole_years_on_the_draw_date(birth, on, expected):
    assert age_years(birth, on) == expected


def test_age_series_matches_scalar_and_keeps_missing():
    births = [b for b, _, _ in AGES] + [None]
    ons = [o for _, o, _ in AGES] + [D(2026, 1, 1)]
    out = age_years_series(births, ons)
    assert str(out.dtype) == "Int64"
    assert out.iloc[:-1].tolist() == [e for _, _, e in AGES]
    assert pd.isna(out.iloc[-1])
    assert age_years(None, D(2026, 1, 1)) is None


# --- Cockcroft-Gault worked examples (by hand) ---------------------------------------------------

CRCL = [
    # (age, weight, sex, creatinine mg/dL, expected mL/min)
    (60, 72, "M", 1.0, 80.0),  # (140-60) x 72 / (72 x 1.0) = 80
    (60, 72, "F", 1.0, 68.0),  # 80 x 0.85 = 68
    (70, 90, "M", 1.5, 58.333333),  # 70 x 90 / 108 = 6300 / 108 = 58.33
    (80, 60, "F", 2.0, 21.25),  # 60 x 60 / 144 = 25; x 0.85 = 21.25
    (40, 100, "M", 0.8, 173.611111),  # 100 x 100 / 57.6 = 173.61
    (75, 50, "f", 1.3, 29.513888),  # 65 x 50 / 93.6 = 34.72; x 0.85 = 29.51 (sex case-insensitive)
]


@pytest.mark.parametrize("age, weight, sex, creat, expected", CRCL)
def test_cockcroft_gault_worked_examples_against_label(age, weight, sex, creat, expected):
    assert crcl_ml_min(age_years=age, weight_kg=weight, sex=sex, creatinine_mg_dl=creat) == pytest.approx(
        expected, abs=1e-5
    )


@pytest.mark.parametrize(
    "age, weight, sex, creat",
    [
        (None, 70, "M", 1.0),
        (60, None, "M", 1.0),
        (60, 70, None, 1.0),
        (60, 70, "X", 1.0),
        (60, 70, "M", None),
        (60, 70, "M", 0.0),
        (float("nan"), 70, "M", 1.0),
        (60, float("nan"), "F", 1.0),
    ],
)
def test_crcl_unknown_when_an_input_is_missing(age, weight, sex, creat):
    assert crcl_ml_min(age_years=age, weight_kg=weight, sex=sex, creatinine_mg_dl=creat) is None


def test_crcl_on_series():
    idx = [5, 6, 7]
    out = crcl_ml_min(
        age_years=pd.Series([60, 80, 60], index=idx),
        weight_kg=pd.Series([72, 60, np.nan], index=idx),
        sex=pd.Series(["M", "F", "F"], index=idx),
        creatinine_mg_dl=pd.Series([1.0, 2.0, 1.0], index=idx),
    )
    assert list(out.index) == idx
    assert out.iloc[0] == pytest.approx(80.0)
    assert out.iloc[1] == pytest.approx(21.25)
    assert np.isnan(out.iloc[2])


def test_creatinine_umol_l_conversion():
    # 88.4 umol/L = 1.0 mg/dL; 176.8 umol/L = 2.0 mg/dL
    assert creatinine_umol_l_to_mg_dl(88.4) == pytest.approx(1.0)
    assert creatinine_umol_l_to_mg_dl(176.8) == pytest.approx(2.0)
    # a 60-year-old 72 kg man with creatinine 88.4 umol/L: CrCl 80 mL/min
    creat = creatinine_umol_l_to_mg_dl(88.4)
    assert crcl_ml_min(age_years=60, weight_kg=72, sex="M", creatinine_mg_dl=creat) == pytest.approx(80.0)


# --- renal starting dose: band edges per indication group ---------------------------------------

GROUPS = {  # DOMAIN.md section 3, by hand: (>=60, 30-<60, <30, dialysis) doses
    ("MM", "MCL"): (25, 10, 15, 5),
    ("FL", "MZL"): (20, 10, 5, 5),
    ("MM_MAINT", "MDS"): (10, 5, 2.5, 2.5),
}
STANDARD_START = {"MM": 25, "MCL": 25, "FL": 20, "MZL": 20, "MM_MAINT": 10, "MDS": 10}

EDGES = [
    # (crcl, dialysis, band, index into the group's doses, not_studied)
    (60.1, False, ">=60", 0, False),
    (60.0, False, ">=60", 0, False),
    (59.9, False, "30-<60", 1, False),
    (30.0, False, "30-<60", 1, False),
    (29.9, False, "<30", 2, False),
    (11.0, False, "<30", 2, False),
    (10.9, False, "<30", 2, True),
    (7.0, True, "dialysis", 3, False),
    (6.9, True, "dialysis", 3, True),
    (80.0, True, "dialysis", 3, False),  # dialysis wins whatever the CrCl
]
CASES = [(ind, *edge) for group in GROUPS for ind in group for edge in EDGES]


@pytest.mark.parametrize("indication, crcl, dialysis, band, which, not_studied", CASES)
def test_renal_band_edges_against_label(indication, crcl, dialysis, band, which, not_studied):
    dose = renal_starting_dose(indication=indication, crcl_ml_min=crcl, dialysis=dialysis)
    group = next(g for g in GROUPS if indication in g)
    expected = GROUPS[group][which]
    if which == 0:
        expected = STANDARD_START[indication]
        assert dose.regimen == "no change"
    assert (dose.band, dose.dose_mg, dose.not_studied) == (band, expected, not_studied)
    assert dose.source


REGIMENS = [
    ("MM", 45, False, "10 mg daily"),
    ("MM", 20, False, "15 mg every 48 h"),
    ("MM", 20, True, "5 mg daily (after dialysis)"),
    ("MCL", 20, False, "15 mg every 48 h"),
    ("FL", 20, False, "5 mg daily"),
    ("MDS", 45, False, "5 mg daily"),
    ("MM_MAINT", 20, False, "2.5 mg daily"),
]


@pytest.mark.parametrize("indication, crcl, dialysis, regimen", REGIMENS)
def test_renal_regimen_text_against_label(indication, crcl, dialysis, regimen):
    assert renal_starting_dose(indication=indication, crcl_ml_min=crcl, dialysis=dialysis).regimen == regimen


def test_computed_crcl_at_band_edge_is_not_moved_by_float_noise():
    # (140 - 68) x 60 / (72 x 1.0) = 60.0 exactly on paper; the float is compared at 6 decimals
    crcl = crcl_ml_min(age_years=68, weight_kg=60, sex="M", creatinine_mg_dl=1.0)
    assert renal_starting_dose(indication="MM", crcl_ml_min=crcl, dialysis=False).band == ">=60"
    assert renal_starting_dose(indication="MM", crcl_ml_min=60 - 1e-12, dialysis=False).band == ">=60"


def test_unknown_crcl_gives_no_dose():
    dose = renal_starting_dose(indication="MM", crcl_ml_min=None, dialysis=False)
    assert isinstance(dose, RenalDose)
    assert dose.dose_mg is None and dose.band == "unknown"
    assert renal_starting_dose(indication="MM", crcl_ml_min=None, dialysis=True).dose_mg == 5


def test_unknown_indication_says_which_are_known():
    with pytest.raises(ValueError, match="MM_MAINT"):
        renal_starting_dose(indication="CLL", crcl_ml_min=50, dialysis=False)


def test_every_indication_has_every_band_with_source():
    rules = load_renal_rules()
    for ind in STANDARD_START:
        assert sorted(rules.loc[rules["indication"] == ind, "band"]) == sorted([">=60", "30-<60", "<30", "dialysis"])
    assert rules["source"].str.contains("PI").all()


# --- alerts --------------------------------------------------------------------------------------


def test_alert_when_prescribed_start_exceeds_renal_dose():
    alerts = renal_alerts(indication="MM", starting_dose_mg=25, crcl_at_start=45, crcl_latest=45, dialysis=False)
    assert [(n.kind, n.severity) for n in alerts] == [("renal_dose_above_label", "action")]
    assert "exceeds" in alerts[0].text and "10 mg daily" in alerts[0].text and "PI" in alerts[0].source
    assert renal_alerts(indication="MM", starting_dose_mg=10, crcl_at_start=45, crcl_latest=45, dialysis=False) == []


def test_no_alert_for_a_normal_start():
    assert renal_alerts(indication="FL", starting_dose_mg=20, crcl_at_start=75, crcl_latest=70, dialysis=False) == []


def test_alert_when_crcl_falls_into_a_lower_band():
    alerts = renal_alerts(indication="MDS", starting_dose_mg=10, crcl_at_start=65, crcl_latest=28, dialysis=False)
    assert [n.kind for n in alerts] == ["renal_band_fall"]
    assert "fell" in alerts[0].text and "review" in alerts[0].text and "PI" in alerts[0].source
    # a fall within a band is no alert
    assert renal_alerts(indication="MDS", starting_dose_mg=5, crcl_at_start=55, crcl_latest=31, dialysis=False) == []


def test_not_studied_alerts():
    start = renal_alerts(indication="MM", starting_dose_mg=15, crcl_at_start=10, crcl_latest=None, dialysis=False)
    assert any(n.kind == "renal_not_studied" and "not studied below 11" in n.text for n in start)
    later = renal_alerts(indication="MM", starting_dose_mg=15, crcl_at_start=25, crcl_latest=9, dialysis=False)
    assert any(n.kind == "renal_not_studied" and "not studied below 11" in n.text for n in later)
    dialysis = renal_alerts(indication="MM", starting_dose_mg=5, crcl_at_start=6, crcl_latest=6, dialysis=True)
    assert any(n.kind == "renal_not_studied" and "not studied below 7" in n.text for n in dialysis)


def test_missing_crcl_at_start_is_an_alert():
    alerts = renal_alerts(indication="MM", starting_dose_mg=25, crcl_at_start=None, crcl_latest=None, dialysis=False)
    assert [(n.kind, n.severity) for n in alerts] == [("renal_no_crcl", "info")]
    assert "cannot be checked" in alerts[0].text


def test_every_renal_row_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "grading.md").read_text(encoding="utf-8")
    for row in load_renal_rules().itertuples():
        assert row.indication in doc and row.regimen in doc, f"{row.indication} {row.band} missing from docs/grading.md"


def test_crcl_mixes_series_and_numbers():
    # one patient's creatinine trend: age, weight and sex are numbers, creatinine is a column
    creat = pd.Series([1.0, 2.0], index=["a", "b"])
    out = crcl_ml_min(age_years=60, weight_kg=72, sex="F", creatinine_mg_dl=creat)
    assert list(out.index) == ["a", "b"]
    assert out.tolist() == pytest.approx([68.0, 34.0])  # 80 x 0.85; 40 x 0.85
