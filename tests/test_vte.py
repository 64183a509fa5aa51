"""IMPEDE VTE and SAVED from recorded factors, against hand-computed scores and the verified points table."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from insight_cases import NORMAL, assessed

from lenadash.clinical.insight import vte
from lenadash.ingest import read_events
from lenadash.vocab.course import VTE_FACTORS

DRAWS = [(0, NORMAL)]


def _vte(indication="MM", evts=(), **kw):
    e = assessed(indication, DRAWS, as_of_day=10, evts=evts, **kw)
    return e["vte"], [n for n in e["notices"] if n["kind"].startswith("vte_")]


# Points as tabulated for IMPEDE VTE (Sanfilippo 2019) and SAVED (Li 2019) in the ASH review's Table 3
# "Risk-assessment tools for venous thromboembolism" (docs/insight.md says what was verified and from where).
VERIFIED = [
    ("impede", "imid", 4),
    ("impede", "bmi_25", 1),
    ("impede", "pelvic_hip_femur_fracture", 4),
    ("impede", "esa", 1),
    ("impede", "dex_high", 4),
    ("impede", "dex_low", 2),
    ("impede", "asian_pacific_islander", -3),
    ("impede", "vte_history", 5),
    ("impede", "cvc", 2),
    ("impede", "prophylaxis_prophylactic", -3),
    ("impede", "anticoag_therapeutic", -4),
    ("saved", "surgery_90d", 2),
    ("saved", "asian_pacific_islander", -3),
    ("saved", "vte_history", 3),
    ("saved", "age_80", 1),
    ("saved", "dex_high", 2),
    ("saved", "dex_low", 1),
]


@pytest.mark.parametrize(("score", "factor", "points"), VERIFIED)
def test_points_table_against_the_publication(score, factor, points):
    t = vte.points_table()
    row = t[(t["score"] == score) & (t["factor"] == factor)].iloc[0]
    assert (row["points"], row["verified"]) == (points, "yes") and row["source"]


def test_bands_against_the_publication():
    assert [vte.band("impede", p)["band"] for p in (3, 4, 7, 8)] == ["low", "intermediate", "intermediate", "high"]
    assert [vte.band("saved", p)["band"] for p in (1, 2)] == ["low", "high"]


def test_every_recordable_factor_is_scored_somewhere_or_is_none():
    scored = set(vte.points_table()["factor"])
    assert set(VTE_FACTORS) - {"none"} <= scored


def test_high_impede_without_anticoagulant_is_flagged_by_hand():
    # lenalidomide 4 + dexamethasone low dose 2 + BMI >= 25 1 + CVC 2 = 9: high (>= 8)
    evts = [(0, "vte_risk_factor", f) for f in ("dex_low", "bmi_25", "cvc")]
    v, notices = _vte(evts=evts + [(0, "thromboprophylaxis", "aspirin")], combination="dexamethasone")
    imp = v["impede"]
    assert (imp["score_without_prophylaxis"], imp["score"], imp["band"]) == (9.0, 6.0, "high")  # aspirin -3
    assert [n["kind"] for n in notices] == ["vte_prophylaxis_mismatch"] and notices[0]["severity"] == "action"
    assert v["saved"]["score"] == 1.0 and v["saved"]["band"] == "low"  # dexamethasone low dose 1


def test_high_impede_with_lmwh_agrees():
    evts = [(0, "vte_risk_factor", f) for f in ("dex_low", "bmi_25", "cvc")] + [(0, "thromboprophylaxis", "Enoxaparin")]
    v, notices = _vte(evts=evts, combination="dexamethasone")
    assert v["prophylaxis"]["class"] == "anticoagulant" and notices == []


def test_low_impede_on_an_anticoagulant_is_an_info_notice_and_saved_counts_age():
    # maintenance, no dexamethasone: 4 - 3 (Asian / Pacific Islander) = 1, low. Born 1940: 86 at the start.
    evts = [(0, "vte_risk_factor", "asian_pacific_islander"), (0, "thromboprophylaxis", "apixaban")]
    v, notices = _vte("MM_MAINT", evts=evts, birth_date=dt.date(1940, 1, 1))
    assert (v["impede"]["score_without_prophylaxis"], v["impede"]["band"]) == (1.0, "low")
    assert [(n["kind"], n["severity"]) for n in notices] == [("vte_prophylaxis_mismatch", "info")]
    assert v["saved"]["score_without_prophylaxis"] == -2.0  # age >= 80: +1, Asian: -3


def test_an_unverified_factor_makes_the_score_review_not_a_guess():
    v, notices = _vte(evts=[(0, "vte_risk_factor", "doxorubicin"), (0, "vte_risk_factor", "dex_high")])
    assert v["impede"]["score"] is None and v["impede"]["band"] is None and "doxorubicin" in v["impede"]["review"][0]
    assert [n["kind"] for n in notices] == ["vte_score_review"]


def test_dexamethasone_without_its_dose_recorded_is_review():
    v, notices = _vte(evts=[(0, "vte_risk_factor", "none")], combination="dexamethasone")
    assert v["impede"]["score"] is None and [n["kind"] for n in notices] == ["vte_score_review"]


def test_nothing_recorded_is_unassessed_without_a_notice_and_other_indications_get_no_score():
    v, notices = _vte("MM_MAINT")
    assert v["assessed"] is False and notices == []
    assert v["impede"]["score"] is None and "not recorded" in v["impede"]["review"][0]
    v, _ = _vte("MCL")
    assert v["applicable"] is False


def test_the_events_reader_reads_factors_and_rejects_unknown_ones():
    data = b"mrn,date,event,value\nA1,2026-01-05,VTE risk factor,BMI 25\nA1,2026-01-05,vte_risk_factor,gout\n"
    got = read_events(io.BytesIO(data))
    assert got.rows["agent"].tolist() == ["bmi_25"]
    assert got.problems["reason"].tolist() == ["invalid value"]
