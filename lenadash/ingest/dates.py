"""Dates: a column of date/datetime text in any common export format to naive datetimes, format decided per column."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from dateutil.tz import tzlocal  # type: ignore[import-untyped]

from lenadash.config import get_settings
from lenadash.errors import InputError
from lenadash.ingest.coded import Coded

_TIME = (
    r"(?:(?:[T\s]+|\s*,\s*)(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ap>[AaPp]\.?[Mm]\.?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2}|UTC|GMT)?"
)
_DATE_PATTERNS = {
    "iso": re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"$"),
    "slash": re.compile(r"^(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "dot": re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "hl7": re.compile(
        r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?(?:\.\d+)?)?"
        r"(?P<tz>[+-]\d{4})?$"
    ),
    "dmy_name": re.compile(r"^(?P<d>\d{1,2})[-\s](?P<mon>[A-Za-zäé]{3,9})\.?[-\s](?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "mdy_name": re.compile(r"^(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME + r"$"),
}
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "mär": 3,
    "apr": 4,
    "may": 5,
    "mai": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "okt": 10,
    "nov": 11,
    "dec": 12,
    "dez": 12,
    "fév": 2,
    "fev": 2,
    "avr": 4,
    "jui": 7,
    "aoû": 8,
    "aou": 8,
    "déc": 12,
    "mrt": 3,
    "mei": 5,
}
MAX_AGE_YEARS = 110  # an older birth date is a typo or a placeholder
COLLECTED_FROM = dt.date(1990, 1, 1)  # no lab result in a lenalidomide record is older
US_SLASH_NOTE = (
    "dates like 01/02/2026 were read as US month/day/year (MM/DD/YYYY) because no day "
    "above 12 shows the order; if they are day-first, export ISO dates (2026-02-01)"
)


def _extract(text: pd.Series, pattern: re.Pattern) -> pd.DataFrame:
    """Named groups of `pattern` for the rows of `text` that match it (index kept).

    Uses Arrow's vectorised RE2 engine when the pattern allows it, else Python's `re`.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
        res = pc.extract_regex(arr, pattern=pattern.pattern)
        valid = res.is_valid()
        matched = res.filter(valid)
        # Arrow-backed text (no Python object per part); a group that took no part is NaN, as with `re`
        cols = {
            name: pd.Series(pd.array(pc.struct_field(matched, name), dtype="str")).replace("", np.nan)
            for name in res.type.names
        }
        return pd.DataFrame(cols).set_axis(text.index[valid.to_numpy(zero_copy_only=False)])
    except Exception:
        ex = text.str.extract(pattern)
        return ex[text.str.match(pattern).to_numpy(dtype=bool, na_value=False)]


# The Gregorian calendar repeats every 400 years (146097 days): early years are parsed 2000 years later
# and moved back, so `0058-03-02` is read as written (and found implausible) instead of failing.
_SHIFT_YEARS = 2000
_SHIFT = np.timedelta64(146097 * _SHIFT_YEARS // 400, "D")


def _two_digit_year(y: pd.Series, short: pd.Series) -> pd.Series:
    """Widen years written with one or two digits (26 -> 2026, 58 -> 1958); a 4-digit year stays as written."""
    this_year = dt.date.today().year
    y = y.copy()
    short = short & (y < 100)
    y[short] = np.where(2000 + y[short] <= this_year + 1, 2000 + y[short], 1900 + y[short])
    return y


def parse_dates(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Parse a column of date/datetime text into naive datetime64 (NaT where unreadable).

    The format is decided per column from all its values: ISO, US MM/DD/YYYY, day-first
    DD.MM.YYYY, DD/MM/YYYY when some first part exceeds 12, HL7 YYYYMMDD[HHMM], `19-Jan-2026`.
    A slash column where every day and month is <= 12 is read as US, and a note says so.
    A time written with a UTC offset (`+01:00`, `Z`) is converted to the clinic's wall-clock time
    (LENADASH_TIMEZONE); one without is kept as written.
    Returns (datetimes aligned to `values`, notes for the user).
    """
    coded = Coded.of(values)
    parsed, notes = dates_of(coded.uniques)
    return pd.Series(coded.take(parsed), index=values.index, dtype="datetime64[us]"), notes


def _offset_minutes(tz: pd.Series) -> pd.Series:
    """`Z`, `UTC`, `+01:00`, `-0500` as minutes east of UTC; NaN where no offset was written.

    Only the texts that have an offset are read: most exports write none, and these are Python objects
    (a regex per text), so a column of 40,000 distinct date-times without one costs nothing here.
    """
    text = tz.fillna("").astype(str)
    written = (text != "").to_numpy(dtype=bool)
    minutes = pd.Series(np.nan, index=tz.index, dtype="float64")
    if written.any():
        minutes[written] = _written_offset_minutes(text[written]).to_numpy(dtype="float64")
    return minutes


def _written_offset_minutes(text: pd.Series) -> pd.Series:
    text = text.str.upper().str.replace(":", "", regex=False)
    hhmm = text.str.extract(r"^(?P<sign>[+-])(?P<h>\d{2})(?P<m>\d{2})$")
    minutes: pd.Series = (hhmm["h"].astype(float) * 60 + hhmm["m"].astype(float)) * np.where(hhmm["sign"] == "-", -1, 1)
    return minutes.where(~text.isin(["Z", "UTC", "GMT"]), 0.0)


def clinic_zone() -> dt.tzinfo:
    """The clinic's time zone (LENADASH_TIMEZONE, an IANA name), else this machine's local zone."""
    name = get_settings().timezone
    if not name:
        return tzlocal()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"LENADASH_TIMEZONE {name!r} is not a known time zone; use an IANA name such as Europe/Berlin "
            "or America/New_York, or unset it to use this machine's zone."
        ) from exc


def _to_clinic_time(naive: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
    """Wall-clock times written with a UTC offset, as the clinic's wall-clock time (others as written)."""
    has = ~np.isnan(offset_min) & ~np.isnat(naive)
    if not has.any():
        return naive
    utc = naive[has] - (offset_min[has] * 60_000_000).astype("timedelta64[us]")
    local = pd.Series(utc).dt.tz_localize("UTC").dt.tz_convert(clinic_zone()).dt.tz_localize(None)
    out = naive.copy()
    out[has] = local.to_numpy(dtype="datetime64[us]")
    return out


class _DateParts:
    """Year, month, day, hour, minute, second and AM/PM per distinct text, filled pattern by pattern."""

    def __init__(self, index: pd.Index):
        self.parts = {k: pd.Series(np.nan, index=index, dtype="float64") for k in ("y", "m", "d", "H", "M", "S")}
        self.pm = pd.Series(False, index=index)
        self.am = pd.Series(False, index=index)
        self.done = pd.Series(False, index=index)
        self.offset_min = pd.Series(np.nan, index=index, dtype="float64")  # UTC offset written, in minutes
        self.short_year = pd.Series(False, index=index)
        self.notes: list[str] = []

    def fill(self, kind: str, ex: pd.DataFrame) -> None:
        """Take the groups one pattern matched (rows of `ex`); slash dates decide their order here."""
        idx, parts = ex.index, self.parts
        if kind == "slash":
            self._fill_slash(ex)
        elif kind in ("dmy_name", "mdy_name"):
            parts["d"][idx] = ex["d"].astype(float).to_numpy()
            parts["m"][idx] = ex["mon"].str.lower().str[:3].map(_MONTHS).astype(float).to_numpy()
        else:
            parts["d"][idx] = ex["d"].astype(float).to_numpy()
            parts["m"][idx] = ex["m"].astype(float).to_numpy()
        parts["y"][idx] = ex["y"].astype(float).to_numpy()
        self.short_year[idx] = (ex["y"].str.len() <= 2).to_numpy()
        for k in ("H", "M", "S"):
            if k in ex:
                parts[k][idx] = ex[k].astype(float).to_numpy()
        if "tz" in ex:
            self.offset_min[idx] = _offset_minutes(ex["tz"]).to_numpy()
        if "ap" in ex:
            ap = ex["ap"].fillna("").str.lower().str[:1]
            self.pm[idx] = (ap == "p").to_numpy()
            self.am[idx] = (ap == "a").to_numpy()
        self.done[idx] = True

    def _fill_slash(self, ex: pd.DataFrame) -> None:
        """Day-first when more first parts than second parts exceed 12; US when neither ever does (noted)."""
        a = ex["a"].astype(float)
        b = ex["b"].astype(float)
        day_first = (a > 12).sum() > (b > 12).sum()
        if not (a > 12).any() and not (b > 12).any():
            self.notes.append(US_SLASH_NOTE)
        self.parts["d"][ex.index] = (a if day_first else b).to_numpy()
        self.parts["m"][ex.index] = (b if day_first else a).to_numpy()

    def datetimes(self) -> np.ndarray:
        """datetime64[us] per text; NaT where no pattern matched or a part is out of range."""
        parts, pm, am = self.parts, self.pm, self.am
        hour = parts["H"].fillna(0)
        bad_ampm = (pm | am) & ((hour < 1) | (hour > 12))
        hour = hour.where(~pm | (hour == 12), hour + 12).where(~(am & (hour == 12)), 0)
        frame = pd.DataFrame(
            {
                "year": _two_digit_year(parts["y"], self.short_year),
                "month": parts["m"],
                "day": parts["d"],
                "hour": hour,
                "minute": parts["M"].fillna(0),
                "second": parts["S"].fillna(0),
            }
        )
        valid = self.done & frame.notna().all(axis=1) & ~bad_ampm & (frame["hour"] < 24) & (frame["minute"] < 60)
        valid &= (frame["second"] < 60) & frame["year"].between(1, 2200) & frame["month"].between(1, 12)
        valid &= frame["day"].between(1, 31)
        out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[us]")
        if valid.any():
            early = (frame["year"] < 1700).to_numpy()
            frame.loc[early, "year"] += _SHIFT_YEARS
            got = pd.to_datetime(frame[valid].astype("int64"), errors="coerce").to_numpy(dtype="datetime64[us]").copy()
            got[early[valid.to_numpy()]] -= _SHIFT
            out[valid.to_numpy()] = got
        return _to_clinic_time(out, self.offset_min.to_numpy())


def dates_of(u: pd.Series) -> tuple[np.ndarray, list[str]]:
    """One datetime64[us] per distinct text in `u` (NaT where unreadable), plus notes.

    Each text takes the first pattern (in _DATE_PATTERNS order) it matches.
    """
    u = u.reset_index(drop=True)
    parts = _DateParts(u.index)
    for kind, pattern in _DATE_PATTERNS.items():
        todo = u[~parts.done & (u != "")]
        if todo.empty:
            break
        ex = _extract(todo, pattern)
        if not ex.empty:
            parts.fill(kind, ex)
    return parts.datetimes(), parts.notes


@dataclass(frozen=True)
class Plausible:
    """The dates a column may hold (both ends included), and what a date outside says."""

    low: dt.date
    high: dt.date
    before: str  # why a date before `low` is wrong
    after: str  # why a date after `high` is wrong

    def outside(self, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(before low, after high) per entry of a datetime64 array; NaT is neither."""
        day = when.astype("datetime64[D]")
        return day < np.datetime64(self.low, "D"), day > np.datetime64(self.high, "D")


def today() -> dt.date:
    """Today's date where the clinic is (LENADASH_TIMEZONE)."""
    return dt.datetime.now(clinic_zone()).date()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_dates(today: dt.date) -> Plausible:
    """A birth date: after the 1900-01-01 placeholder, at most 110 years ago, not in the future."""
    low = max(dt.date(1900, 1, 2), _years_before(today, MAX_AGE_YEARS))
    return Plausible(
        low,
        today,
        f"before {low.isoformat()} (an age over {MAX_AGE_YEARS}, or a placeholder such as 1900-01-01)",
        "in the future",
    )


def collection_dates(today: dt.date) -> Plausible:
    """A collection date: from 1990 (no lenalidomide before) to tomorrow (time zones, a night shift)."""
    high = today + dt.timedelta(days=1)
    return Plausible(COLLECTED_FROM, high, f"before {COLLECTED_FROM.isoformat()}", f"after {high.isoformat()}")


def course_dates(today: dt.date) -> Plausible:
    """A start or event date: within the years any export writes (planned events may lie ahead)."""
    return Plausible(dt.date(1900, 1, 1), dt.date(2200, 12, 31), "before 1900-01-01", "after 2200-12-31")


def reject_implausible(
    when: np.ndarray, plausible: Plausible, *, words: str, hint: str, lines: np.ndarray, column, values, problems
) -> np.ndarray:
    """Report the dates outside `plausible` (an error each: the row is rejected) and return their mask.

    `values` gives the cells as written for the problems table; the message names the rule, not the cell.
    """
    before, after = plausible.outside(when)
    for mask, why in ((before, plausible.before), (after, plausible.after)):
        if mask.any():
            problems.add(
                line=lines[mask],
                column=column,
                value=values(mask),
                reason="implausible date",
                message=f"The {words} is {why}; not imported.",
                hint=hint,
            )
    return before | after
