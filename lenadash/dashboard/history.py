"""One patient's history: every course and patient version and every event, with who, when and why; voided marked.

`history_table` is pure (the store's versions and events in, one table out, newest first); `patient_history`
reads both from the store. The patient page's History tab shows it (ui.history_tab) with the Void control.
Every cell is text typed by someone or taken from a file: the page shows it as a dataframe, never Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lenadash.dashboard.present import EVENT_LABELS

HISTORY_COLUMNS = ["when", "who", "record", "change", "what", "why", "status"]
CHANGE_WORDS = {"created": "created", "edited": "edited", "voided": "voided"}
# The words of the fields a version shows, in the Setup form's terms; the unit follows the value.
FIELD_WORDS = {
    "name": ("name", ""),
    "sex": ("sex", ""),
    "birth_date": ("birth date", ""),
    "weight_kg": ("weight", " kg"),
    "indication": ("indication", ""),
    "start_date": ("start date", ""),
    "starting_dose_mg": ("starting dose", " mg"),
    "schedule": ("schedule", ""),
    "combination": ("combination", ""),
    "dialysis": ("dialysis", ""),
    "reproductive_potential": ("reproductive potential", ""),
    "menses": ("menses", ""),
}


def _text(value: Any, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}{unit}"
    return f"{value}{unit}"


def _when(value: Any) -> str:
    """An instant as the clinic reads it: 'YYYY-MM-DD HH:MM UTC'; '-' when unknown."""
    if value is None or pd.isna(value):
        return "-"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def _sort_key(value: Any) -> pd.Timestamp:
    if value is None or pd.isna(value):
        return pd.Timestamp.min.tz_localize("UTC")
    return pd.Timestamp(value)


def version_what(change: str, before: dict | None, after: dict) -> str:
    """What a version changed, field by field: 'starting dose 25 mg -> 15 mg; schedule 21/28 -> 28/28'; for a
    created course its values."""
    if before is None:
        shown = ("indication", "start_date", "starting_dose_mg", "schedule")
        return ", ".join(_text(after.get(k), FIELD_WORDS[k][1]) for k in shown if k in after)
    parts = []
    for name, (word, unit) in FIELD_WORDS.items():
        if name in after and before.get(name) != after.get(name):
            parts.append(f"{word} {_text(before.get(name), unit)} -> {_text(after.get(name), unit)}")
    return "; ".join(parts) if parts else CHANGE_WORDS.get(change, change)


def _record_words(record_type: str, values: dict) -> str:
    if record_type == "patient":
        return "patient"
    if record_type == "treatment_course":
        return f"course {values.get('indication', '')} from {values.get('start_date', '')}".strip()
    return f"event {EVENT_LABELS.get(values.get('kind', ''), values.get('kind', ''))} on {values.get('date', '')}"


def _version_rows(versions: pd.DataFrame) -> list[dict]:
    rows = []
    for v in versions.to_dict("records"):
        if v["record_type"] == "clinical_event":
            continue  # a void shows on the event's own row (status "voided: reason")
        values = v["after"] or v["before"] or {}
        rows.append(
            {
                "at": v["changed_at"],
                "when": _when(v["changed_at"]),
                "who": v["changed_by"],
                "record": _record_words(v["record_type"], values),
                "change": CHANGE_WORDS.get(v["change"], v["change"]),
                "what": version_what(v["change"], v["before"], v["after"] or {}),
                "why": v["reason"] or "",
                "status": "",
            }
        )
    return rows


def _event_rows(events: pd.DataFrame) -> list[dict]:
    rows = []
    for e in events.to_dict("records"):
        voided = "voided_at" in e and not pd.isna(e["voided_at"])
        imported = "upload_id" in e and not pd.isna(e["upload_id"])
        value = e.get("value") or ""
        what = " ".join(x for x in (value, e.get("detail") or "") if x) or "-"
        rows.append(
            {
                "at": e.get("recorded_at"),
                "when": _when(e.get("recorded_at")),
                "who": e.get("recorded_by") or ("events file" if imported else "-"),
                "record": f"event {EVENT_LABELS.get(e['event'], e['event'])} on {e['date']}",
                "change": "imported" if imported else "recorded",
                "what": what,
                "why": "",
                "status": f"voided: {e.get('void_reason') or ''} ({e.get('voided_by') or '-'}, "
                f"{_when(e.get('voided_at'))})"
                if voided
                else "",
            }
        )
    return rows


def history_table(versions: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """One patient's history, newest first, in HISTORY_COLUMNS (all text): each patient and course version
    (created or edited: what changed, who, when, why; store.load_versions) and each event (recorded or
    imported, who and when; store.load_events(include_voided=True)), a voided event's status
    "voided: <reason> (<who>, <when>)". Empty frames give an empty table with the same columns."""
    rows = _version_rows(versions) + _event_rows(events)
    rows.sort(key=lambda r: _sort_key(r["at"]), reverse=True)
    return pd.DataFrame.from_records(rows, columns=["at", *HISTORY_COLUMNS])[HISTORY_COLUMNS].astype("str")


def voidable_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events of a patient that can still be voided (not voided yet), newest first."""
    if events.empty:
        return events
    kept = events[events["voided_at"].isna()]
    return kept.iloc[::-1]


def event_choice(event: dict) -> str:
    """How the Void picker names an event: 'Fever 38.6 on 2026-11-02 (recorded by a.b)'."""
    label = EVENT_LABELS.get(event["event"], event["event"])
    value = f" {event['value']}" if event.get("value") else ""
    by = event.get("recorded_by") or "events file"
    return f"{label}{value} on {event['date']} ({by})"


def patient_history(*, session: Any, mrn: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history_table, the patient's events incl. voided) read from the store."""
    from lenadash import store

    events = store.load_events(session=session, mrn=mrn, include_voided=True)
    versions = store.load_versions(session=session, mrn=mrn)
    return history_table(versions, events), events
