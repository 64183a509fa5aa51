"""The file kind: labs, patients or events, told from a file's header alone."""

from __future__ import annotations

import csv
from typing import BinaryIO

import pandas as pd

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.columns import EVENT_FIELDS, expected_message, table_columns
from lenadash.ingest.layout import lab_layout
from lenadash.ingest.tables import HEAD_BYTES, as_bytes, decode, gunzip, sniff
from lenadash.vocab.frames import PATIENT_COLUMNS


def _header(data: bytes | BinaryIO) -> pd.DataFrame:
    """An empty frame with the file's header as its columns (only the head of the file is read)."""
    raw = gunzip(as_bytes(data), "")
    _, _, head = decode(raw[:HEAD_BYTES], partial=True)
    delimiter, header_idx = sniff(head)
    lines = head.splitlines()
    header = next(csv.reader([lines[header_idx]], delimiter=delimiter)) if len(lines) > header_idx else []
    return pd.DataFrame(columns=[h.replace("\ufeff", "").strip() for h in header])


def detect_kind(data: bytes | BinaryIO) -> str:
    """ "labs", "patients" or "events", from the file's columns; raises UnrecognisedFile otherwise."""
    df = _header(data)
    found_events = table_columns(df, EVENT_FIELDS)
    if {"mrn", "date", "event"} <= set(found_events):
        return "events"
    found_patients = table_columns(df, tuple(PATIENT_COLUMNS))
    if {"indication", "start_date"} <= set(found_patients) or {"starting_dose_mg", "start_date"} <= set(found_patients):
        return "patients"
    try:
        lab_layout(list(df.columns))
        return "labs"
    except UnrecognisedFile as exc:
        raise UnrecognisedFile(
            "Could not tell whether this is a lab, patients or events file. "
            + str(exc)
            + f" A patients file {expected_message('patients')}; an events file {expected_message('events')}."
        ) from exc
