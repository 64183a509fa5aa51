"""FHIR R4 lab results: Observations from a Bundle, a single resource, NDJSON or a zip of resources.

Plain JSON traversal (no FHIR model validation): each Observation becomes one row of the CSV reader's
columns and goes through the same normalisation (normalise.normalise). Numbers are read as the text
written in the JSON (`0.80` stays `0.80`), so the raw value is kept as sent.

A problem's `line` is the resource's position: its line in NDJSON, else its place in file order
(Bundle entries, zip members in the archive's order), counted from 1; a zip member's name is added
to the problem's `file`. Field by field: docs/import.md "FHIR R4".
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.coded import Coded
from lenadash.ingest.labs import LabImport
from lenadash.ingest.normalise import normalise
from lenadash.ingest.problems import Problems
from lenadash.ingest.tables import MAX_GUNZIPPED_BYTES, as_bytes, decode

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
MR_TYPE = "MR"  # identifier type code for a medical record number (HL7 table v2-0203)
_ZIP = b"PK\x03\x04"
COLUMNS = {
    "mrn": "subject",
    "when": "effectiveDateTime",
    "name": "code",
    "loinc": "code.coding",
    "value": "value[x]",
    "unit": "valueQuantity.code",
    "ref_range": "referenceRange.text",
    "ref_low": "referenceRange.low",
    "ref_high": "referenceRange.high",
    "flag": "interpretation",
    "status": "status",
}
_FIELDS = ("mrn", "when", "name", "loinc", "value", "unit", "ref_range", "ref_low", "ref_high", "flag", "status")


@dataclass
class _Resource:
    position: int
    body: dict
    member: str = ""  # the zip member it came from


@dataclass
class _Read:
    resources: list[_Resource] = field(default_factory=list)
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # (position, member, what failed)


def is_fhir(head: bytes) -> bool:
    """Whether bytes look like FHIR JSON (a resource or NDJSON of resources) or a zip of JSON resources."""
    if head.startswith(_ZIP):
        return True  # read_fhir tells a zip without JSON resources apart, with its own message
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:1] in (b"{", b"[") and b'"resourceType"' in head


def zip_of_resources(data: bytes) -> bool:
    """A zip archive holding .json files (an Apple Health export's clinical-records/)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(_json_member(i) for i in archive.infolist())
    except zipfile.BadZipFile:
        return False


def read_fhir(data, *, file_name: str = "") -> LabImport:
    """Read FHIR R4 Observations into canonical results (subject, effective time, code, value, unit,
    reference range, interpretation, status: see docs/import.md). Raises UnrecognisedFile for a zip
    without JSON resources."""
    raw = as_bytes(data)
    read = _read_zip(raw, file_name) if raw.startswith(_ZIP) else _read_json(_text(raw))
    problems = Problems(file_name)
    _report_broken(read, problems)
    rows_by_field, lines, members = _observation_rows(read.resources)
    rows = {f: Coded.of(np.asarray(rows_by_field[f], dtype=object)) for f in _FIELDS}
    rows["value_col"] = Coded.constant(len(lines), "value[x]")
    line_arr = np.asarray(lines, dtype=np.int64)
    out, conversions = normalise(rows, line_arr, dict(COLUMNS), problems, delimiter="")
    frame = problems.frame()
    if members:
        where = dict(zip(lines, members)) | {p: m for p, m, _ in read.broken}
        frame["file"] = [f"{f}:{where.get(int(ln), '')}".rstrip(":") for f, ln in zip(frame["file"], frame["line"])]
    return LabImport(
        results=out,
        problems=frame,
        shape="fhir",
        column_map={v: k for k, v in COLUMNS.items()},
        delimiter="",
        encoding="utf-8",
        rows_read=len(lines) + len(read.broken),
        conversions=conversions,
    )


# --- JSON, NDJSON, zip --------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    return decode(raw)[0].decode("utf-8")


def _loads(text: str) -> Any:
    # numbers as their written text: "0.80" keeps its digits, as a CSV cell does
    return json.loads(text, parse_float=str, parse_int=str)


def _read_json(text: str, *, member: str = "", start: int = 0, read: _Read | None = None) -> _Read:
    """A JSON resource (a Bundle's entries in order) or NDJSON (one resource per line)."""
    read = read or _Read()
    try:
        _add(_loads(text), read, member, start)
        return read
    except json.JSONDecodeError as exc:
        if member or exc.msg != "Extra data":
            read.broken.append((start + 1, member, f"not valid JSON ({exc.msg}, line {exc.lineno})"))
            return read
    for number, line in enumerate(text.splitlines(), start=1):  # NDJSON (bulk data export)
        if line.strip():
            try:
                _add(_loads(line), read, member, number - 1, ndjson=True)
            except json.JSONDecodeError as exc:
                read.broken.append((number, member, f"not valid JSON ({exc.msg})"))
    return read


def _add(doc: Any, read: _Read, member: str, start: int, *, ndjson: bool = False) -> None:
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        position = start + 1 if ndjson else len(read.resources) + len(read.broken) + 1
        if not isinstance(item, dict):
            read.broken.append((position, member, "not a FHIR resource (no JSON object)"))
        elif item.get("resourceType") == "Bundle":
            for entry in _items(item.get("entry")):
                resource = entry.get("resource")
                if isinstance(resource, dict):
                    resource = {**resource, "_fullUrl": entry.get("fullUrl")}
                    read.resources.append(_Resource(len(read.resources) + len(read.broken) + 1, resource, member))
        else:
            read.resources.append(_Resource(position, item, member))


def _json_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    return not info.is_dir() and name.lower().endswith(".json") and "__MACOSX" not in name


def _read_zip(raw: bytes, file_name: str) -> _Read:
    read = _Read()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [i for i in archive.infolist() if _json_member(i)]
            if not members or sum(i.file_size for i in members) > MAX_GUNZIPPED_BYTES:
                raise UnrecognisedFile(
                    f"{file_name or 'The file'} is a zip archive without FHIR JSON resources (or too large "
                    "unpacked). Unzip it and upload the CSV, HL7 or FHIR files in it."
                )
            for info in members:
                _read_json(_text(archive.read(info)), member=info.filename, start=_count(read), read=read)
    except zipfile.BadZipFile as exc:
        raise UnrecognisedFile(f"{file_name or 'The file'} is a damaged zip archive; export it again.") from exc
    return read


def _count(read: _Read) -> int:
    return len(read.resources) + len(read.broken)


def _report_broken(read: _Read, problems: Problems) -> None:
    for position, _member, what in read.broken:
        problems.add(
            line=[position],
            column="",
            value="",
            reason="unreadable message",
            message=f"This resource could not be read: {what}; not imported.",
            hint="Export the resources again (one JSON resource per line for NDJSON).",
        )


def _obj(value: Any) -> dict:
    """A JSON object where FHIR has one; anything else (a list, a string, null) reads as empty."""
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict]:
    """The objects of a JSON array where FHIR has one; anything else reads as none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- Observations --------------------------------------------------------------------------------------


def _ref_keys(resource: dict) -> list[str]:
    keys = [f"{resource.get('resourceType')}/{resource.get('id')}"]
    if resource.get("_fullUrl"):
        keys.append(str(resource["_fullUrl"]))
    return keys


def _mrn_of_patient(patient: dict) -> str:
    """The Patient's identifier typed MR, else its first identifier, else its id."""
    ids = [i for i in _items(patient.get("identifier")) if i.get("value")]
    typed = [i for i in ids if any(c.get("code") == MR_TYPE for c in _items(_obj(i.get("type")).get("coding")))]
    chosen = (typed or ids or [{"value": patient.get("id") or ""}])[0]
    return str(chosen.get("value") or "")


def _observation_rows(resources: list[_Resource]) -> tuple[dict[str, list[str]], list[int], list[str]]:
    by_ref: dict[str, _Resource] = {}
    patients: dict[str, str] = {}
    for r in resources:
        for key in _ref_keys(r.body):
            by_ref[key] = r
            if r.body.get("resourceType") == "Patient":
                patients[key] = _mrn_of_patient(r.body)
    inherited = _panel_context(resources, by_ref)
    cols: dict[str, list[str]] = {f: [] for f in _FIELDS}
    lines: list[int] = []
    members: list[str] = []
    for r in resources:
        body = r.body
        if body.get("resourceType") != "Observation" or (_items(body.get("hasMember")) and not _has_value(body)):
            continue  # a panel: its members are the results
        context = inherited.get(id(body), {})
        row = _observation(body, patients, context)
        for f in _FIELDS:
            cols[f].append(row[f])
        lines.append(r.position)
        members.append(r.member)
    return cols, lines, (members if any(members) else [])


def _has_value(body: dict) -> bool:
    return any(k.startswith("value") for k in body)


def _panel_context(resources: list[_Resource], by_ref: dict[str, _Resource]) -> dict[int, dict]:
    """Members of a panel (hasMember, within this file) take its subject and time where they give none."""
    context: dict[int, dict] = {}
    for r in resources:
        for member in _items(r.body.get("hasMember")):
            target = by_ref.get(str(member.get("reference", "")))
            if target is not None:
                context[id(target.body)] = {k: r.body[k] for k in r.body if k == "subject" or k.startswith("effective")}
    return context


def _observation(body: dict, patients: dict[str, str], context: dict) -> dict[str, str]:
    merged = {**context, **body}
    name, loinc = _code(_obj(body.get("code")))
    value, unit = _value(body)
    low, high, text = _reference_range(_items(body.get("referenceRange")))
    return {
        "mrn": _subject(_obj(merged.get("subject")), patients),
        "when": _effective(merged),
        "name": name,
        "loinc": loinc,
        "value": value,
        "unit": unit,
        "ref_range": text,
        "ref_low": low,
        "ref_high": high,
        "flag": _interpretation(_items(body.get("interpretation"))),
        "status": str(body.get("status") or ""),
    }


def _subject(subject: dict, patients: dict[str, str]) -> str:
    reference = str(subject.get("reference") or "")
    if reference in patients:
        return patients[reference]
    if reference:
        return reference  # "Patient/LD0001": normalise takes the id after "Patient/"
    return str(_obj(subject.get("identifier")).get("value") or "")


def _effective(body: dict) -> str:
    return str(body.get("effectiveDateTime") or _obj(body.get("effectivePeriod")).get("start") or "")


def _code(code: dict) -> tuple[str, str]:
    codings = _items(code.get("coding"))
    loinc = next((str(c.get("code") or "") for c in codings if c.get("system") == LOINC_SYSTEM), "")
    display = next((str(c.get("display")) for c in codings if c.get("display")), "")
    local = next((str(c.get("code")) for c in codings if c.get("code") and c.get("system") != LOINC_SYSTEM), "")
    return str(code.get("text") or display or local), loinc


def _value(body: dict) -> tuple[str, str]:
    """(result text, unit): valueQuantity with its comparator, else valueString, valueCodeableConcept, ..."""
    quantity = body.get("valueQuantity")
    if isinstance(quantity, dict):
        unit = quantity.get("code") if quantity.get("system") == UCUM_SYSTEM else None
        return f"{quantity.get('comparator') or ''}{quantity.get('value') or ''}", str(
            unit or quantity.get("unit") or quantity.get("code") or ""
        )
    concept = body.get("valueCodeableConcept")
    if isinstance(concept, dict):
        codings = _items(concept.get("coding")) or [{}]
        return str(concept.get("text") or codings[0].get("display") or codings[0].get("code") or ""), ""
    for key in ("valueString", "valueInteger", "valueBoolean"):
        if key in body:
            return str(body[key]), ""
    return "", ""


def _reference_range(ranges: list) -> tuple[str, str, str]:
    first = ranges[0] if ranges and isinstance(ranges[0], dict) else {}
    low = str(_obj(first.get("low")).get("value") or "")
    high = str(_obj(first.get("high")).get("value") or "")
    return low, high, str(first.get("text") or "")


def _interpretation(items: list) -> str:
    for item in items:
        codings = _items(item.get("coding"))
        if codings and codings[0].get("code"):
            return str(codings[0]["code"])
        if item.get("text"):
            return str(item["text"])
    return ""
