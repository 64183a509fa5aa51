"""Dates are never changed silently: 4-digit years read as written, implausible dates rejected with a hint."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lenadash.ingest import parse_dates, read_events, read_labs, read_patients
from lenadash.ingest.dates import birth_dates, collection_dates

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0001-01-01", "0001-01-01"),
        ("0058-03-02", "0058-03-02"),
        ("0099-12-31", "0099-12-31"),
        ("0400-02-29", "0400-02-29"),  # a leap day in a 400th year
        ("0100-02-29", None),  # not a leap year
        ("1958-03-02", "1958-03-02"),
        ("02.03.58", "1958-03-02"),  # a 2-digit year is still widened
        ("03/02/26", "2026-03-02"),
    ],
)
def test_four_digit_years_are_read_as_written(text, expected):
    parsed, _ = parse_dates(pd.Series([text], dtype="str"))
    got = parsed.iloc[0]
    assert (None if pd.isna(got) else str(got.date() if got.year >= 1000 else got)[:10]) == expected


# (birth date, rejected): just below, at and just above each end, for a clinic day in 2005 (so 1900-01-02
# is the lower end) and today (110 years).
@pytest.mark.parametrize(
    ("today", "birth", "rejected"),
    [
        (dt.date(2005, 6, 1), dt.date(1900, 1, 1), True),  # the placeholder
        (dt.date(2005, 6, 1), dt.date(1900, 1, 2), False),
        (dt.date(2005, 6, 1), dt.date(1900, 1, 3), False),
        (TODAY, _years_before(TODAY, 110) - DAY, True),
        (TODAY, _years_before(TODAY, 110), False),
        (TODAY, _years_before(TODAY, 110) + DAY, False),
        (TODAY, TODAY - DAY, False),
        (TODAY, TODAY, False),
        (TODAY, TODAY + DAY, True),
    ],
)
def test_birth_date_bounds(today, birth, rejected):
    before, after = birth_dates(today).outside(pd.Series([pd.Timestamp(birth)]).to_numpy(dtype="datetime64[us]"))
    assert bool(before[0] or after[0]) is rejected


@pytest.mark.parametrize(
    ("collected", "rejected"),
    [
        (dt.date(1989, 12, 31), True),
        (dt.date(1990, 1, 1), False),
        (dt.date(1990, 1, 2), False),
        (TODAY, False),
        (TODAY + DAY, False),
        (TODAY + 2 * DAY, True),
    ],
)
def test_collection_date_bounds(collected, rejected):
    text = f"MRN,Collection Date/Time,Component,Result,Units\nP1,{collected.isoformat()} 08:00,WBC,5.2,K/uL\n"
    imp = read_labs(text.encode(), file_name="labs.csv")
    problems = imp.problems[imp.problems["reason"] == "implausible date"]
    assert (len(imp.results) == 0) is rejected
    assert len(problems) == int(rejected)
    if rejected:
        assert problems["hint"].iloc[0]
        assert collected.isoformat() not in problems["message"].iloc[0]  # the rule, not the cell


def test_collection_bounds_follow_today():
    assert collection_dates(dt.date(2026, 1, 19)).high == dt.date(2026, 1, 20)


PATIENTS = "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"


@pytest.mark.parametrize("birth", ["1900-01-01", "0058-03-02", "0001-01-01", (TODAY + DAY).isoformat()])
def test_implausible_birth_dates_reject_the_patient(birth):
    text = PATIENTS + f"P1,A,M,{birth},80,MM,2026-01-05,25\nP2,B,F,1958-04-17,60,MM,2026-01-05,25\n"
    imp = read_patients(text.encode(), file_name="patients.csv")
    assert imp.rows["mrn"].tolist() == ["P2"]  # a sentinel DOB can no longer give a CrCl of 13
    assert imp.problems[["line", "reason"]].values.tolist()[0] == [2, "implausible date"]


def test_old_years_in_event_dates_are_implausible_not_widened():
    text = "mrn,date,event,value\nP1,0026-01-05,fever,38.5\nP1,2026-01-05,fever,38.5\n"
    imp = read_events(text.encode(), file_name="events.csv")
    assert imp.rows["line"].tolist() == [3]
    assert imp.problems[["line", "reason"]].values.tolist() == [[2, "implausible date"]]


def test_offsets_14_hours_apart_no_longer_collide(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "UTC")
    text = (
        "MRN,Collected,Component,Result,Units\n"
        "P1,2026-01-19T08:00:00+09:00,WBC,5.2,K/uL\nP1,2026-01-19T08:00:00-05:00,WBC,6.1,K/uL\n"
    )
    imp = read_labs(text.encode(), file_name="labs.csv")
    assert imp.results["collected_at"].astype(str).tolist() == ["2026-01-18 23:00:00", "2026-01-19 13:00:00"]
    assert imp.problems.empty  # two draws, not one result corrected


def test_summer_offset_follows_the_clinic_zone(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "Europe/Berlin")
    parsed, _ = parse_dates(pd.Series(["2026-07-19T06:00:00Z", "20260719080000+0200"], dtype="str"))
    assert parsed.astype(str).tolist() == ["2026-07-19 08:00:00", "2026-07-19 08:00:00"]


def test_an_unknown_time_zone_is_a_clear_error(monkeypatch):
    from lenadash.errors import InputError

    monkeypatch.setenv("LENADASH_TIMEZONE", "Mars/Olympus")
    with pytest.raises(InputError, match="LENADASH_TIMEZONE"):
        parse_dates(pd.Series(["2026-07-19T06:00:00Z"], dtype="str"))


def test_the_time_zone_setting_is_read(monkeypatch):
    from lenadash.config import get_settings

    monkeypatch.delenv("LENADASH_TIMEZONE", raising=False)
    assert get_settings().timezone == ""  # the machine's local zone
    monkeypatch.setenv("LENADASH_TIMEZONE", "Asia/Tokyo")
    assert get_settings().timezone == "Asia/Tokyo"
