"""Lab feeds beside CSV: a lab file's format told from its content (HL7 v2, FHIR R4 or a text table).

The one entry point for lab files: `read_labs` hands HL7 v2 and FHIR to their readers and everything
else to the CSV reader, so the CLI, the upload page, `assess --labs` and the watched folder read every
format alike. The file name never decides.
"""

from __future__ import annotations

from typing import BinaryIO

from lenadash.ingest import kinds, labs
from lenadash.ingest.fhir import is_fhir, read_fhir, zip_of_resources
from lenadash.ingest.hl7v2 import is_hl7, read_hl7
from lenadash.ingest.tables import HEAD_BYTES, as_bytes

FORMATS = ("csv", "hl7", "fhir")


def lab_format(data: bytes | BinaryIO) -> str:
    """ "hl7" (starts with an MSH, BHS or FHS segment), "fhir" (JSON with a resourceType, NDJSON, or a
    zip of JSON resources) or "csv" (anything else: the table readers decide)."""
    raw = as_bytes(data)
    head = raw[:HEAD_BYTES]
    if is_hl7(head):
        return "hl7"
    if is_fhir(head) and (not head.startswith(b"PK") or zip_of_resources(raw)):
        return "fhir"
    return "csv"


def is_message_feed(data: bytes | BinaryIO) -> bool:
    """An HL7 v2 or FHIR file: always lab results, whatever its name."""
    return lab_format(data) != "csv"


def read_labs(data: bytes | BinaryIO, *, file_name: str = "") -> labs.LabImport:
    """Read a lab file of any supported format into canonical results (docs/import.md).

    HL7 v2 ORU^R01 (hl7v2.read_hl7), FHIR R4 Observations (fhir.read_fhir), else a CSV/TSV export
    (labs.read_labs). Raises UnrecognisedFile when none of them can read it.
    """
    raw = as_bytes(data)
    fmt = lab_format(raw)
    if fmt == "hl7":
        return read_hl7(raw, file_name=file_name)
    if fmt == "fhir":
        return read_fhir(raw, file_name=file_name)
    return labs.read_labs(raw, file_name=file_name)


def detect_kind(data: bytes | BinaryIO) -> str:
    """ "labs", "patients" or "events": HL7 and FHIR files are labs, a table by its columns (kinds.detect_kind)."""
    raw = as_bytes(data)
    return "labs" if is_message_feed(raw) else kinds.detect_kind(raw)
