"""The events reader: events.csv (mrn, date, event, value[, detail]) to the events contract, values parsed by kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.columns import EVENT_FIELDS
from lenadash.ingest.problems import cat
from lenadash.ingest.sheets import Sheet, TableImport, as_dates, none_for_missing
from lenadash.ingest.values import parse_values
from lenadash.vocab.course import CAPSULE_MG, EVENT_KINDS
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
    number: np.ndarray = field(init=False)  # per row, a plain number (NaN otherwise)
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
        pv = parse_values(val_c.uniques, decimal_comma=True)
        self.number = val_c.take(pv["value"].where(pv["comparator"] == "").to_numpy(dtype="float64"))
        self.temperature = np.full(n, np.nan)
        self.grade = pd.array([pd.NA] * n, dtype="Int64")
        self.result = np.full(n, None, dtype=object)
        self.dose = np.full(n, np.nan)
        self.is_hold = np.zeros(n, dtype=bool)
        self.agent = np.full(n, None, dtype=object)

    def report(self, mask, reason: str, message: str, hint: str, severity: str = "error") -> None:
        """A problem with the value of the masked rows (`{}` in `message` is the value); errors reject them."""
        if mask.any():
            sheet, shown = self.sheet, self.raw[mask]
            head, _, tail = message.partition("{}")
            sheet.problems.add(
                line=sheet.lines[mask],
                column=sheet.col("value"),
                value=shown,
                reason=reason,
                message=cat(head, shown, tail),
                hint=hint,
                severity=severity,
            )
            if severity == "error":
                sheet.bad |= mask


def read_events(data: bytes | BinaryIO, *, file_name: str = "") -> TableImport:
    """Read events.csv (mrn, date, event, value[, detail]) into the events contract.

    Each event kind's value is parsed (vocab.course.EVENT_KINDS): fever in C (F > 50 converted),
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
        message="The row has no MRN{}.",
        hint="Fill in the MRN or delete the row.",
    )
    when = sheet.dates(sheet["date"], name="date")
    values = _EventValues(sheet, _event_kind(sheet), sheet["value"])
    for read_value in (_fever, _toxicity, _pregnancy_test, _dose_change, _thromboprophylaxis):
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
    ev_c = sheet["event"]
    ev_u = (
        ev_c.uniques.str.lower()
        .str.replace("_", " ")
        .map(lambda s: _EVENT_ALIASES.get(s) or _EVENT_ALIASES.get(s.replace(" ", "_")))
    )
    sheet.check(
        ev_c,
        ev_u.notna(),
        name="event",
        reason="unknown event",
        message="Event '{}' is not known.",
        hint="Use one of: " + ", ".join(EVENT_KINDS) + ".",
    )
    return ev_c.take(ev_u.to_numpy(dtype=object))


def _fever(v: _EventValues) -> None:
    """A body temperature in °C; a value above 50 is read as °F and converted (a warning)."""
    fever = v.event == "fever"
    num = v.number
    fahrenheit = fever & (num > _FAHRENHEIT_ABOVE)
    temp = np.where(fahrenheit, (num - 32.0) * 5.0 / 9.0, num)
    plausible = (temp >= FEVER_C[0]) & (temp <= FEVER_C[1])
    v.report(
        fahrenheit & plausible,
        "assumed unit",
        "Temperature '{}' was read as Fahrenheit and converted to Celsius.",
        "Record temperatures in °C.",
        "warning",
    )
    v.report(
        fever & ~plausible,
        "invalid value",
        "Fever value '{}' is not a body temperature.",
        "Enter the temperature in °C, e.g. 38.6.",
    )
    v.temperature[fever] = np.round(temp[fever], 2)


def _toxicity(v: _EventValues) -> None:
    """A CTCAE grade 1-5 (`3`, `grade 3`, `G3`, `CTCAE gr. 3`)."""
    tox = v.event == "toxicity"
    graded = v.coded.take(
        pd.to_numeric(
            v.low.str.replace(r"^(?:ctcae\s*)?(?:grade|gr\.?|g)\s*", "", regex=True), errors="coerce"
        ).to_numpy(dtype="float64")
    )
    g_ok = tox & np.isin(graded, _CTCAE_GRADES)
    v.report(tox & ~g_ok, "invalid value", "Toxicity grade '{}' is not 1-5.", "Enter the CTCAE grade, 1 to 5.")
    v.grade[g_ok] = graded[g_ok].astype(int)


def _pregnancy_test(v: _EventValues) -> None:
    preg = v.event == "pregnancy_test"
    pres = v.coded.take(v.low.map(_PREGNANCY).to_numpy(dtype=object))
    v.report(
        preg & pd.isna(pres),
        "invalid value",
        "Pregnancy test result '{}' is not negative or positive.",
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
        "Dose change '{}' is not a dose in mg or 'hold'.",
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
        "Thromboprophylaxis has no agent{}.",
        "Name the agent, e.g. aspirin, enoxaparin, warfarin, apixaban.",
    )
    named = tp & (v.raw != "")
    v.agent[named] = np.char.lower(v.raw[named].astype(str)).astype(object)


def _contract_types(rows: pd.DataFrame) -> pd.DataFrame:
    for c in ("mrn", "event", "value", "detail"):
        rows[c] = rows[c].astype("str")
    for c in ("result", "agent"):
        rows[c] = none_for_missing(rows[c])
    return rows[EVENT_COLUMNS + ["line"]]
