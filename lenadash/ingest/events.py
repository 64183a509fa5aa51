"""The events reader: events.csv (mrn, date, event, value[, detail]) to the events contract, values parsed by kind."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.columns import EVENT_FIELDS
from lenadash.ingest.sheets import Sheet, TableImport, as_dates, none_for_missing
from lenadash.vocab.course import CAPSULE_MG, EVENT_KINDS, VTE_FACTORS
from lenadash.vocab.frames import EVENT_COLUMNS

_EVENT_ALIASES: dict[str, str] = {
    **{k: k for k in EVENT_KINDS},
    "temperature": "fever",
    "temp": "fever",
    "febrile": "fever",
    "transfusion": "platelet_transfusion",
    "platelet transfusion": "platelet_transfusion",
    "plt transfusion": "platelet_transfusion",
    "platelets transfusion": "platelet_transfusion",
    "tox": "toxicity",
    "adverse event": "toxicity",
    "ae": "toxicity",
    "pregnancy test": "pregnancy_test",
    "pregnancy": "pregnancy_test",
    "hcg": "pregnancy_test",
    "bone marrow biopsy": "marrow_biopsy",
    "marrow biopsy": "marrow_biopsy",
    "bmb": "marrow_biopsy",
    "bone marrow": "marrow_biopsy",
    "marrow biopsy planned": "marrow_biopsy_planned",
    "planned marrow biopsy": "marrow_biopsy_planned",
    "bone marrow biopsy planned": "marrow_biopsy_planned",
    "biopsy planned": "marrow_biopsy_planned",
    "missed period": "missed_period",
    "missed menses": "missed_period",
    "amenorrhea": "missed_period",
    "dose change": "dose_change",
    "dose": "dose_change",
    "vte prophylaxis": "thromboprophylaxis",
    "anticoagulation": "thromboprophylaxis",
    "thrombosis prophylaxis": "thromboprophylaxis",
    "vte risk factor": "vte_risk_factor",
    "vte factor": "vte_risk_factor",
    "rems authorization": "rems_authorization",
    "rems authorisation": "rems_authorization",
    "authorization": "rems_authorization",
}
_HOLD_WORDS = {"hold", "held", "interrupt", "interrupted", "pause", "paused", "stop", "stopped"}
_PREGNANCY = {
    "negative": "negative",
    "neg": "negative",
    "-": "negative",
    "negativ": "negative",
    "positive": "positive",
    "pos": "positive",
    "+": "positive",
    "positiv": "positive",
}
FEVER_C = (30.0, 45.0)  # plausible body temperature, degrees C; above 50 the value is read as Fahrenheit
_FAHRENHEIT_ABOVE = 50
_CTCAE_GRADES = [1, 2, 3, 4, 5]


@dataclass
class _EventValues:
    """The events' value column, as written and read once per distinct text, and the parsed columns being filled."""

    sheet: Sheet
    event: np.ndarray  # the event kind per row (None when unknown)
    coded: Coded
    raw: np.ndarray = field(init=False)  # per row, as written (stripped)
    low: pd.Series = field(init=False)  # per distinct text, lower case
    temperature: np.ndarray = field(init=False)
    grade: pd.arrays.IntegerArray = field(init=False)
    result: np.ndarray = field(init=False)
    dose: np.ndarray = field(init=False)
    is_hold: np.ndarray = field(init=False)
    agent: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n, val_c = self.sheet.n, self.coded
        self.raw = val_c.take(val_c.uniques.to_numpy(dtype=object))
        self.low = val_c.uniques.str.lower()
        self.temperature = np.full(n, np.nan)
        self.grade = pd.array([pd.NA] * n, dtype="Int64")
        self.result = np.full(n, None, dtype=object)
        self.dose = np.full(n, np.nan)
        self.is_hold = np.zeros(n, dtype=bool)
        self.agent = np.full(n, None, dtype=object)

    def report(self, mask, reason: str, message: str, hint: str, severity: str = "error") -> None:
        """A problem with the value of the masked rows (the message never quotes it: the problems table's `value`
        keeps it); errors reject them. Rows whose value cell check_text rejected are not reported again."""
        mask = mask & ~self.sheet.rejected("value")
        if mask.any():
            sheet, shown = self.sheet, self.raw[mask]
            sheet.problems.add(
                line=sheet.lines[mask],
                column=sheet.col("value"),
                value=shown,
                reason=reason,
                message=message,
                hint=hint,
                severity=severity,
            )
            if severity == "error":
                sheet.bad |= mask


def read_events(data: bytes | BinaryIO, *, file_name: str = "") -> TableImport:
    """Read events.csv (mrn, date, event, value[, detail]) into the events contract.

    Each event kind's value is parsed (vocab.course.EVENT_KINDS): fever in °C (°F converted; see
    `temperature_c`),
    toxicity grade 1-5, pregnancy test negative/positive, dose change in mg or `hold`,
    thromboprophylaxis agent. NaN/NA/None in parsed columns mean "not this kind of event".
    """
    sheet = Sheet.read(data, file_name=file_name, kind="events", fields=EVENT_FIELDS, required=("mrn", "date", "event"))
    mrn = sheet["mrn"]
    sheet.check(
        mrn,
        mrn.uniques != "",
        name="mrn",
        reason="missing patient",
        message="The row has no MRN.",
        hint="Fill in the MRN or delete the row.",
    )
    sheet.check_text()
    when = sheet.dates(sheet["date"], name="date")
    values = _EventValues(sheet, _event_kind(sheet), sheet["value"])
    for read_value in (
        _fever,
        _toxicity,
        _pregnancy_test,
        _dose_change,
        _thromboprophylaxis,
        _date_only,
        _vte_risk_factor,
        _rems_authorization,
    ):
        read_value(values)
    rows = pd.DataFrame(
        {
            "mrn": mrn.column(slice(None)),
            "date": as_dates(when),
            "event": values.event,
            "value": values.raw,
            "detail": sheet["detail"].column(slice(None)),
            "temperature_c": values.temperature,
            "grade": values.grade,
            "result": values.result,
            "dose_mg": values.dose,
            "is_hold": values.is_hold,
            "agent": values.agent,
            "line": sheet.lines,
        }
    )
    sheet.drop_repeats(rows, what="event")
    return sheet.result(_contract_types(rows.loc[~sheet.bad].reset_index(drop=True)))


def _event_kind(sheet: Sheet) -> np.ndarray:
    """The event kind (vocab.course.EVENT_KINDS), from the kind or a common name."""
    return sheet.choice("event", _EVENT_ALIASES, EVENT_KINDS, reason="unknown event")


def _fever(v: _EventValues) -> None:
    """A body temperature in °C, as clinics write it (`38.7`, `38,7`, `38.7 °C`, `101.3 °F`); see `temperature_c`.

    °F is converted; a bare number above 50 is read as °F (an `assumed unit` warning). After
    conversion a value outside 30-45 °C is not a body temperature and the row is rejected.
    """
    fever = v.event == "fever"
    if not fever.any():
        return
    read = v.coded.uniques.map(temperature_c)
    temp = v.coded.take(np.array([t for t, _ in read], dtype="float64"))
    unit = v.coded.take(np.array([u for _, u in read], dtype=object))
    plausible = (temp >= FEVER_C[0]) & (temp <= FEVER_C[1])
    v.report(
        fever & (unit == "assumed F") & plausible,
        "assumed unit",
        "The temperature has no unit and is above 50, so it was read as Fahrenheit and converted to Celsius.",
        "Write the unit after the number: 38.6 °C or 101.5 °F.",
        "warning",
    )
    v.report(fever & ~plausible, "invalid value", "The fever value is not a body temperature (30-45 °C).", _FEVER_HINT)
    v.temperature[fever] = temp[fever]


_FEVER_HINT = (
    "Write the temperature in °C (38.6, 38,6 or 38.6 °C) or in °F with its unit (101.5 °F); "
    "a number without a unit above 50 is read as °F."
)
_TEMPERATURE_RE = re.compile(r"^(?P<number>[0-9]{1,3}(?:[.,][0-9]+)?)\s*(?:[°º˚]\s*)?(?P<unit>[cf])?$", re.IGNORECASE)


def temperature_c(text: str) -> tuple[float, str | None]:
    """One written temperature in °C and how its unit was read: "C", "F", "assumed F" (a bare number above 50).

    Fahrenheit is converted exactly ((F - 32) * 5 / 9 in decimal arithmetic) and rounded half up to the
    decimals written, at least one (101.3 F -> 38.5, 101 F -> 38.3), so a value is compared at the
    precision it was reported with: 101.3 °F is exactly 38.5 °C and counts as fever. Celsius stays as
    written. (NaN, None) when the text is not a temperature.
    """
    m = _TEMPERATURE_RE.match(text.strip())
    if m is None:
        return np.nan, None
    written = m["number"].replace(",", ".")
    number = Decimal(written)
    unit = (m["unit"] or "").upper() or ("assumed F" if number > _FAHRENHEIT_ABOVE else "C")
    if unit == "C":
        return float(number), unit
    decimals = max(1, len(written.partition(".")[2]))
    celsius = ((number - 32) * 5 / 9).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return float(celsius), unit


def _toxicity(v: _EventValues) -> None:
    """A CTCAE grade 1-5 (`3`, `grade 3`, `G3`, `CTCAE gr. 3`)."""
    tox = v.event == "toxicity"
    graded = v.coded.take(
        pd.to_numeric(
            v.low.str.replace(r"^(?:ctcae\s*)?(?:grade|gr\.?|g)\s*", "", regex=True), errors="coerce"
        ).to_numpy(dtype="float64")
    )
    g_ok = tox & np.isin(graded, _CTCAE_GRADES)
    v.report(tox & ~g_ok, "invalid value", "The toxicity grade is not 1-5.", "Enter the CTCAE grade, 1 to 5.")
    v.grade[g_ok] = graded[g_ok].astype(int)


def _pregnancy_test(v: _EventValues) -> None:
    preg = v.event == "pregnancy_test"
    pres = v.coded.take(v.low.map(_PREGNANCY).to_numpy(dtype=object))
    v.report(
        preg & pd.isna(pres),
        "invalid value",
        "The pregnancy test result is not negative or positive.",
        "Write negative or positive.",
    )
    v.result[preg] = pres[preg]


def _dose_change(v: _EventValues) -> None:
    """The new daily dose in mg (up to the largest capsule), or a hold."""
    dc = v.event == "dose_change"
    hold = dc & v.coded.where(v.low.isin(_HOLD_WORDS))
    mg = v.coded.take(
        pd.to_numeric(v.low.str.replace(r"\s*mg$", "", regex=True).str.replace(",", "."), errors="coerce").to_numpy(
            dtype="float64"
        )
    )
    dose_ok = dc & ~hold & (mg > 0) & (mg <= max(CAPSULE_MG))
    v.report(
        dc & ~hold & ~dose_ok,
        "invalid value",
        "The dose change is not a dose in mg or 'hold'.",
        "Enter the new daily dose in mg (e.g. 15) or 'hold'.",
    )
    v.dose[dose_ok] = mg[dose_ok]
    v.is_hold[hold] = True


def _thromboprophylaxis(v: _EventValues) -> None:
    """The agent's name, in lower case."""
    tp = v.event == "thromboprophylaxis"
    v.report(
        tp & (v.raw == ""),
        "invalid value",
        "Thromboprophylaxis has no agent.",
        "Name the agent, e.g. aspirin, enoxaparin, warfarin, apixaban.",
    )
    named = tp & (v.raw != "")
    v.agent[named] = np.char.lower(v.raw[named].astype(str)).astype(object)


def _vte_risk_factor(v: _EventValues) -> None:
    """One factor code of vocab.course.VTE_FACTORS (docs/insight.md), kept in `agent`; spaces and dashes read as _."""
    vf = v.event == "vte_risk_factor"
    code = v.coded.take(v.low.str.strip().str.replace(r"[\s-]+", "_", regex=True).to_numpy(dtype=object))
    ok = vf & np.isin(code, VTE_FACTORS)
    v.report(
        vf & ~ok,
        "invalid value",
        "VTE risk factor '{}' is not one lenadash scores.",
        f"Write one of: {', '.join(VTE_FACTORS)} (docs/insight.md).",
    )
    v.agent[ok] = code[ok]


def _rems_authorization(v: _EventValues) -> None:
    """The REMS prescription authorization number as written, kept in `agent`."""
    ra = v.event == "rems_authorization"
    v.report(
        ra & (v.raw == ""),
        "invalid value",
        "REMS authorization has no number{}.",
        "Write the authorization number the REMS gave for the prescription.",
    )
    named = ra & (v.raw != "")
    v.agent[named] = v.raw[named]


def _date_only(v: _EventValues) -> None:
    """Events whose date is all they say: a value is ignored with a warning (the row is kept, since a
    missed period stops treatment and a planned biopsy should show), and stays in `value` as written."""
    kinds = {"marrow_biopsy_planned": "planned biopsy", "missed_period": "missed period"}
    for kind, words in kinds.items():
        v.report(
            (v.event == kind) & (v.raw != ""),
            "value ignored",
            f"A {words} event has no value; the value given was ignored.",
            f"Leave the value empty: the date column is the {words.split()[0]} date. Put notes in detail.",
            "warning",
        )


def _contract_types(rows: pd.DataFrame) -> pd.DataFrame:
    for c in ("mrn", "event", "value", "detail"):
        rows[c] = rows[c].astype("str")
    for c in ("result", "agent"):
        rows[c] = none_for_missing(rows[c])
    return rows[EVENT_COLUMNS + ["line"]]
