"""Lab, patient and event file import: bytes in, canonical DataFrames and one table of problems out."""

from __future__ import annotations

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.dates import parse_dates
from lenadash.ingest.events import FEVER_C, read_events
from lenadash.ingest.feeds import FORMATS, detect_kind, is_message_feed, lab_format, read_labs
from lenadash.ingest.labs import LabImport
from lenadash.ingest.patients import read_patients
from lenadash.ingest.problems import REASONS
from lenadash.ingest.sheets import TableImport
from lenadash.ingest.tables import as_bytes, refuse_non_text
from lenadash.ingest.values import EPIC_TEXT_SENTINEL
from lenadash.vocab.course import CAPSULE_MG
from lenadash.vocab.frames import (
    EVENT_COLUMNS,
    LAB_COLUMNS,
    PATIENT_COLUMNS,
    PROBLEM_COLUMNS,
)

__all__ = [
    "FORMATS",
    "is_message_feed",
    "lab_format",
    "refuse_non_text",
    "CAPSULE_MG",
    "EPIC_TEXT_SENTINEL",
    "EVENT_COLUMNS",
    "FEVER_C",
    "LAB_COLUMNS",
    "PATIENT_COLUMNS",
    "PROBLEM_COLUMNS",
    "REASONS",
    "LabImport",
    "TableImport",
    "UnrecognisedFile",
    "as_bytes",
    "detect_kind",
    "parse_dates",
    "read_events",
    "read_labs",
    "read_patients",
]
