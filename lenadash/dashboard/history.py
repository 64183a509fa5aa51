"""One patient's history: every course and patient version and every event, with who, when and why; voided marked.

`history_table` is pure (the store's versions and events in, one table out, newest first); `patient_history`
reads both from the store. The patient page's History tab shows it (ui.history_tab) with the Void control.
Every cell is text typed by someone or taken from a file: the page shows it as a dataframe, never Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lenadash.dashboard.present import EVENT_LABELS

# The order a clinician reads it in, narrow to wide: a voided event says so in `change`, on the first screen.
HISTORY_COLUMNS = ["when", "change", "record", "what", "why", "who"]
HISTORY_WIDTHS = {"when": 130, "change": 80, "record": 220, "what": 240, "why": 260, "who": 170}  # px on the page
HISTORY_HEADERS = {"when": "when (UTC)"}
CHANGE_WORDS = {"created": "created", "edited": "edited", "voided": "VOIDED"}
# An event's value in words, by kind (the value alone, "2", says little).
VALUE_WORDS = {"fever": "{} C", "toxicity": "grade {}", "dose_change": "{} mg"}
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
    """An instant in UTC, 'YYYY-MM-DD HH:MM' (the column says UTC); '-' when unknown."""
    if value is None or pd.isna(value):
        return "-"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M")


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
            continue  # a void shows on the event's own row (VOIDED, and its reason)
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
                "voided": False,
            }
        )
    return rows


def _event_what(e: dict) -> str:
    value = e.get("value") or ""
    if value and not (e["event"] == "dose_change" and value == "hold"):
        value = VALUE_WORDS.get(e["event"], "{}").format(value)
    return " - ".join(x for x in (value, e.get("detail") or "") if x) or "-"


def _event_rows(events: pd.DataFrame, files: dict[int, str]) -> list[dict]:
    rows = []
    for e in events.to_dict("records"):
        voided = "voided_at" in e and not pd.isna(e["voided_at"])
        upload: Any = e.get("upload_id")
        imported = upload is not None and not pd.isna(upload)
        recorder = e.get("recorded_by") or (f"events file {files.get(int(upload), '')}".strip() if imported else "-")
        why = ""
        if voided:
            why = (
                f"{e.get('void_reason') or ''} (voided by {e.get('voided_by') or '-'}, {_when(e.get('voided_at'))} UTC)"
            )
        rows.append(
            {
                "at": e.get("recorded_at"),
                "when": _when(e.get("recorded_at")),
                "who": recorder,
                "record": f"event {EVENT_LABELS.get(e['event'], e['event'])} on {e['date']}",
                "change": "VOIDED" if voided else ("imported" if imported else "recorded"),
                "what": _event_what(e),
                "why": why,
                "voided": voided,
            }
        )
    return rows


def history_table(versions: pd.DataFrame, events: pd.DataFrame, files: dict[int, str] | None = None) -> pd.DataFrame:
    """One patient's history, newest first, in HISTORY_COLUMNS (all text) plus `voided` (bool): each patient
    and course version (created or edited: what changed, who, when, why; store.load_versions) and each event
    (recorded, or imported from the events file named in `files` {upload id: file name}, with who and when;
    store.load_events(include_voided=True)). A voided event's change reads VOIDED and its why
    "<reason> (voided by <who>, <when>)". Empty frames give an empty table with the same columns."""
    rows = _version_rows(versions) + _event_rows(events, files or {})
    rows.sort(key=lambda r: _sort_key(r["at"]), reverse=True)
    table = pd.DataFrame.from_records(rows, columns=["at", *HISTORY_COLUMNS, "voided"])
    out = table[HISTORY_COLUMNS].astype("str")
    out["voided"] = table["voided"].astype("bool")
    return out


def voidable_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events of a patient that can still be voided (not voided yet), newest first."""
    if events.empty:
        return events
    kept = events[events["voided_at"].isna()]
    return kept.iloc[::-1]


def event_choice(event: dict) -> str:
    """How the Void picker names an event: 'Fever 38.6 C on 2026-11-02 (recorded by a.b)'."""
    label = EVENT_LABELS.get(event["event"], event["event"])
    value = _event_what({**event, "detail": ""})
    by = event.get("recorded_by") or "an events file"
    return f"{label}{'' if value == '-' else ' ' + value} on {event['date']} (recorded by {by})"


def patient_history(*, session: Any, mrn: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history_table, the patient's events incl. voided) read from the store."""
    from lenadash import store

    events = store.load_events(session=session, mrn=mrn, include_voided=True)
    versions = store.load_versions(session=session, mrn=mrn)
    files: dict[int, str] = {}
    if events["upload_id"].notna().any():
        uploads = store.list_uploads(session=session)
        files = dict(zip(uploads["id"].astype(int), uploads["file_name"]))
    return history_table(versions, events, files), events
