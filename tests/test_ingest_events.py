"""Events as clinics write them: body temperatures in any common spelling, and the date-only kinds
(marrow_biopsy_planned, missed_period). End to end: a fever in °F holds an MCL course with ANC < 1.0."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lenadash.clinical.assess import assess
from lenadash.ingest import read_events, read_labs, read_patients
from lenadash.ingest.events import temperature_c


def events(text: str):
    return read_events(text.encode("utf-8"), file_name="events.csv")


def one_fever(value: str):
    imp = events(f'mrn,date,event,value\nP1,2026-01-20,fever,"{value}"\n')
    return imp, imp.problems[["reason", "severity"]].values.tolist()


ASSUMED = [["assumed unit", "warning"]]
REJECTED = [["invalid value", "error"]]

# (written, temperature_c stored or None when rejected, problems). 101.3 °F is exactly 38.5 °C;
# °F is converted at the decimals written (at least one), °C is kept as written.
TEMPERATURES = [
    # every spelling clinics use, Celsius
    ("38.7", 38.7, []),
    ("38,7", 38.7, []),
    ("38.7 C", 38.7, []),
    ("38.7C", 38.7, []),
    ("38.7°C", 38.7, []),
    ("38.7 °C", 38.7, []),
    ("38.7 ºC", 38.7, []),  # masculine ordinal for the degree sign, a common typo
    ("38.7˚C", 38.7, []),  # ring above, another look-alike
    ("38.7 c", 38.7, []),
    ("38.7°", 38.7, []),
    ("  38.7 °C  ", 38.7, []),
    ("38,7 °C", 38.7, []),
    ("38.75", 38.75, []),
    # Fahrenheit, written
    ("101.3 F", 38.5, []),
    ("101.3F", 38.5, []),
    ("101.3 °F", 38.5, []),
    ("101.3°F", 38.5, []),
    ("101,3°F", 38.5, []),
    ("101.3 ºF", 38.5, []),
    ("101.3 f", 38.5, []),
    (" 101.3 °F ", 38.5, []),
    ("101.2 °F", 38.4, []),  # 38.44: just below the fever threshold stays below it
    ("101 F", 38.3, []),  # whole degrees F: one decimal of °C
    ("100.4 F", 38.0, []),
    ("101.25 F", 38.47, []),  # two decimals written, two kept
    # a bare number above 50 is °F, as before, with a warning that says so
    ("101.3", 38.5, ASSUMED),
    ("101,3", 38.5, ASSUMED),
    ("50.1", np.nan, REJECTED),  # bare, above 50: 10.1 °C, not a body temperature
    ("50", np.nan, REJECTED),  # bare 50 is °C, and too hot
    # boundaries, Celsius: 30 and 45 are body temperatures, just outside is not
    ("29.9", None, REJECTED),
    ("30", 30.0, []),
    ("45", 45.0, []),
    ("45.1", None, REJECTED),
    ("45.1 °C", None, REJECTED),
    # boundaries, Fahrenheit (86 °F = 30 °C, 113 °F = 45 °C)
    ("85.9 F", None, REJECTED),
    ("86 F", 30.0, []),
    ("86", 30.0, ASSUMED),
    ("113 °F", 45.0, []),
    ("113.1 °F", None, REJECTED),
    ("113.1", None, REJECTED),
    # a unit that contradicts the number is taken at its word, and rejected
    ("38.7 F", None, REJECTED),
    ("101.3 °C", None, REJECTED),
    # not a temperature
    ("", None, REJECTED),
    ("hot", None, REJECTED),
    ("38.7 K", None, REJECTED),
    ("<38", None, REJECTED),
    ("38.7 °C 39", None, REJECTED),
    ("٣٨", None, REJECTED),  # digits of another script are not read as a temperature
    ("1e2 F", None, REJECTED),
]


@pytest.mark.parametrize(("written", "celsius", "problems"), TEMPERATURES)
def test_body_temperatures_as_clinics_write_them(written, celsius, problems):
    imp, found = one_fever(written)
    assert found == problems
    if celsius is None or (isinstance(celsius, float) and np.isnan(celsius)):
        assert imp.rows.empty
        hint = imp.problems.iloc[0]["hint"]
        assert "°C" in hint and "°F" in hint and "above 50" in hint
    else:
        assert imp.rows["temperature_c"].tolist() == [celsius]
        assert imp.rows["value"].tolist() == [written.strip()]  # the raw text is kept beside the parsed value


def test_fahrenheit_at_the_threshold_compares_at_reported_precision():
    """101.3 °F = 38.5 °C exactly: stored as 38.5, not as 38.49999..., so it counts as >= 38.5."""
    imp, _ = one_fever("101.3 °F")
    assert imp.rows["temperature_c"].iloc[0] >= 38.5


def test_each_distinct_temperature_is_read_once_per_value():
    text = "mrn,date,event,value\n" + "".join(f"P{i},2026-01-20,fever,101.3 °F\n" for i in range(200))
    imp = events(text)
    assert imp.problems.empty and (imp.rows["temperature_c"] == 38.5).all() and len(imp.rows) == 200


# --- the date-only kinds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("marrow_biopsy_planned", "marrow_biopsy_planned"),
        ("Marrow biopsy planned", "marrow_biopsy_planned"),
        ("planned marrow biopsy", "marrow_biopsy_planned"),
        ("Bone marrow biopsy planned", "marrow_biopsy_planned"),
        ("biopsy planned", "marrow_biopsy_planned"),
        ("missed_period", "missed_period"),
        ("Missed period", "missed_period"),
        ("missed menses", "missed_period"),
        ("amenorrhea", "missed_period"),
    ],
)
def test_date_only_kinds_read_with_their_spellings(written, kind):
    imp = events(f"mrn,date,event,value,detail\nP1,2026-12-14,{written},,MRD assessment\n")
    assert imp.problems.empty
    row = imp.rows.iloc[0]
    assert (row["event"], row["date"], row["value"], row["detail"]) == (
        kind,
        dt.date(2026, 12, 14),
        "",
        "MRD assessment",
    )
    assert np.isnan(row["temperature_c"]) and row["result"] is None and not row["is_hold"]


@pytest.mark.parametrize("kind", ["marrow_biopsy_planned", "missed_period"])
@pytest.mark.parametrize("value", ["yes", "2026-12-20", "1"])
def test_a_value_for_a_date_only_kind_is_ignored_with_a_warning(kind, value):
    imp = events(f"mrn,date,event,value\nP1,2026-12-14,{kind},{value}\n")
    assert imp.problems[["line", "column", "reason", "severity"]].values.tolist() == [
        [2, "value", "value ignored", "warning"]
    ]
    assert "date column" in imp.problems.iloc[0]["hint"]
    row = imp.rows.iloc[0]  # kept: its date is what counts
    assert (row["event"], row["date"]) == (kind, dt.date(2026, 12, 14))


# --- end to end: a fever in °F holds an MCL course -----------------------------------------------

PATIENTS = (
    "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"
    "P1,Ann Synth,F,1956-02-03,70,MCL,2026-01-05,25\n"
)
LABS = (
    "mrn,collected_at,analyte,value,unit\n"
    "P1,2026-01-05 08:00,anc,2.4,10^9/L\nP1,2026-01-05 08:00,plt,210,10^9/L\n"
    "P1,2026-01-12 08:00,anc,0.8,10^9/L\nP1,2026-01-12 08:00,plt,190,10^9/L\n"
)


def assessed_draw(events_text: str) -> dict:
    patients = read_patients(PATIENTS.encode(), file_name="patients.csv").rows
    labs = read_labs(LABS.encode(), file_name="labs.csv").results
    evs = read_events(events_text.encode(), file_name="events.csv").rows
    result = assess(patients, labs, evs, as_of=dt.date(2026, 1, 12))
    (patient,) = result["patients"]
    return next(d for d in patient["draws"] if d["date"] == "2026-01-12")


@pytest.mark.parametrize("fever", ["101.3 °F", "101,3°F", "38.5 °C", "38.7ºC"])
def test_mcl_anc_below_one_with_fever_written_in_any_unit_holds(fever):
    draw = assessed_draw(f'mrn,date,event,value\nP1,2026-01-12,fever,"{fever}"\n')
    assert (draw["action"], draw["dose_mg"]) == ("hold", None)
    if "rules" in draw:  # the issue-8 contract field (engine side)
        assert "MCL-ANC-FEVER" in draw["rules"]


@pytest.mark.parametrize(
    "events_text", ["mrn,date,event,value\n", "mrn,date,event,value\nP1,2026-01-12,fever,101.2 °F\n"]
)
def test_mcl_anc_below_one_without_fever_does_not_hold(events_text):
    draw = assessed_draw(events_text)
    assert draw["action"] != "hold"


TENTHS_F = st.integers(860, 1130)  # 86.0-113.0 °F, in tenths


@given(TENTHS_F, TENTHS_F)
def test_a_higher_fahrenheit_never_reads_as_a_lower_celsius(a, b):
    lo, hi = sorted((a, b))
    assert temperature_c(f"{lo / 10:.1f} °F")[0] <= temperature_c(f"{hi / 10:.1f} °F")[0]


@given(TENTHS_F)
def test_fahrenheit_reads_within_half_a_written_decimal_of_the_exact_conversion(tenths):
    celsius, unit = temperature_c(f"{tenths / 10:.1f}F")
    assert unit == "F" and abs(celsius - (tenths / 10 - 32) * 5 / 9) <= 0.05 + 1e-9
    assert (celsius >= 38.5) == (tenths >= 1013)  # 101.3 °F is the first fever, at reported precision
