"""HL7 v2 result messages (ORU^R01): one OBX segment per result to the canonical lab rows.

python-hl7 (`hl7` on PyPI) reads each message's structure: the encoding characters from MSH-1/MSH-2,
the header segments (MSH, PID, OBR, ...) into fields, repetitions and components, escape sequences
(`\\T\\`, `\\S\\`). OBX segments, nearly all of a results file, are split with the same encoding
characters once per segment and decided once per distinct field text (as the CSV reader does), then
go through the same normalisation as a CSV row (normalise.normalise): units, plausibility, problems.

A problem's `line` is the segment's position in the file (its physical line when segments are on
lines of their own, as `\\n`, `\\r\\n` and `\\r` files all are), its `column` the field (`OBX-5`).
Field by field: docs/import.md "HL7 v2".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hl7
import numpy as np

from lenadash.ingest.coded import Coded
from lenadash.ingest.labs import LabImport
from lenadash.ingest.normalise import normalise
from lenadash.ingest.problems import Problems
from lenadash.ingest.tables import as_bytes, decode

_SEGMENT_END = re.compile(r"\r\n|\n|\r")
_ENVELOPE = ("FHS", "FTS", "BHS", "BTS")  # file and batch header/trailer segments (HL7 v2.5.1 2.10.3)
_HEADERS = ("MSH", "FHS", "BHS")
# OBX-11 result status (HL7 table 0085) as the words the importer and the store use: "corrected"
# supersedes, "cancelled"/"deleted"/"entered in error" are reported and not stored (normalise).
STATUS_WORDS = {
    "F": "final",
    "U": "final",  # status changed to final without retransmitting the result
    "C": "corrected",
    "P": "preliminary",
    "R": "preliminary",  # entered, not verified
    "S": "preliminary",  # partial
    "I": "pending",
    "O": "pending",  # order detail only
    "X": "cancelled",  # results cannot be obtained
    "N": "cancelled",  # not asked
    "D": "deleted",
    "W": "entered in error",  # posted to the wrong patient or order
}
COLUMNS = {
    "mrn": "PID-3",
    "when": "OBX-14 / OBR-7",
    "name": "OBX-3",
    "loinc": "OBX-3",
    "value": "OBX-5",
    "unit": "OBX-6",
    "ref_range": "OBX-7",
    "ref_low": "",
    "ref_high": "",
    "flag": "OBX-8",
    "status": "OBX-11",
}
_FIELDS = ("mrn", "when", "name", "loinc", "value", "unit", "ref_range", "flag", "status")


@dataclass
class _Results:
    """One entry per OBX segment of a result message, in file order."""

    lines: list[int] = field(default_factory=list)
    cols: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in _FIELDS})


@dataclass
class _Context:
    """What the header segments of one message say about the OBX segments after them."""

    message: hl7.Message
    mrn: str = ""
    obr_time: str = ""
    cache: dict = field(default_factory=dict)  # (field number, text) -> decided text, per message encoding

    @property
    def field_sep(self) -> str:
        return self.message.separators[1]

    def text(self, raw: str) -> str:
        """A field's text with escape sequences (`\\T\\` for `&`, ...) resolved."""
        return self.message.unescape(raw) if self.message.esc in raw else raw

    def first(self, raw: str, sep_index: int) -> list[str]:
        """The components (sep_index 3) or repetitions (2) of a field's text."""
        return raw.split(self.message.separators[sep_index])


def is_hl7(head: bytes) -> bool:
    """Whether bytes start like an HL7 v2 file: an MSH, BHS or FHS segment (a BOM and blank lines allowed)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:3] in (b"MSH", b"BHS", b"FHS") and len(start) > 8 and not start[3:4].isalnum()


def read_hl7(data, *, file_name: str = "") -> LabImport:
    """Read a file of HL7 v2 ORU^R01 messages (batch headers allowed) into canonical results.

    Patient from PID-3 (the identifier typed MR, else the first), collection time from OBX-14, else
    OBR-7, test from OBX-3 (LOINC where its coding system is LN), value from OBX-5 read by OBX-2 (NM,
    SN such as `<^0.5`, ST/TX/FT text), unit OBX-6, range OBX-7, flag OBX-8, status OBX-11 (as
    STATUS_WORDS). Messages of another type are skipped with a warning.
    """
    utf8, encoding, _ = decode(as_bytes(data))
    segments = _SEGMENT_END.split(utf8.decode("utf-8"))
    problems = Problems(file_name)
    results = _Results()
    for start, stop in _messages(segments, problems):
        _read_message(segments, start, stop, results, problems)
    lines = np.asarray(results.lines, dtype=np.int64)
    rows = {f: Coded.of(np.asarray(results.cols[f], dtype=object)) for f in _FIELDS}
    rows["value_col"] = Coded.constant(len(lines), "OBX-5")
    for f in ("ref_low", "ref_high"):
        rows[f] = Coded.constant(len(lines))
    out, conversions = normalise(rows, lines, dict(COLUMNS), problems, delimiter="|")
    return LabImport(
        results=out,
        problems=problems.frame(),
        shape="hl7",
        column_map={v: k for k, v in COLUMNS.items() if v},
        delimiter="|",
        encoding=encoding,
        rows_read=len(lines),
        conversions=conversions,
    )


# --- messages ----------------------------------------------------------------------------------


def _messages(segments: list[str], problems: Problems) -> list[tuple[int, int]]:
    """(first, end) segment indexes of each message: from an MSH to the next MSH or envelope segment."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    orphans: list[int] = []
    for i, seg in enumerate(segments):
        kind = seg[:3]
        if kind == "MSH" or kind in _ENVELOPE:
            if start is not None:
                spans.append((start, i))
            start = i if kind == "MSH" else None
        elif seg.strip() and start is None:
            orphans.append(i + 1)
    if start is not None:
        spans.append((start, len(segments)))
    if orphans:
        problems.add(
            line=orphans,
            column="",
            value="",
            reason="unreadable message",
            message="This segment is outside any message (no MSH segment before it); not imported.",
            hint="Send whole messages, each starting with its MSH segment.",
        )
    return spans


def _read_message(segments: list[str], start: int, stop: int, results: _Results, problems: Problems) -> None:
    own = [(i, segments[i]) for i in range(start, stop) if segments[i].strip()]
    header = [(i, s) for i, s in own if not s.startswith("OBX")]
    obx_lines = [i + 1 for i, s in own if s.startswith("OBX")]
    try:
        message = hl7.parse("\r".join(s for _, s in header))
    except (hl7.ParseException, IndexError, ValueError) as exc:
        problems.add(
            line=[start + 1, *obx_lines],
            column="MSH",
            value="",
            reason="unreadable message",
            message=f"The message could not be read ({type(exc).__name__}); its results are not imported.",
            hint="Check the MSH segment: MSH|^~\\&|... with the encoding characters right after MSH.",
        )
        return
    kind = _message_type(message)
    if kind[:2] != ["ORU", "R01"]:
        problems.add(
            line=[start + 1],
            column="MSH-9",
            value="^".join(kind),
            reason="not a result message",
            message="This message is not an ORU^R01 result message; skipped.",
            hint="Nothing to fix if it is not a lab result (an admission or order message).",
            severity="warning",
        )
        return
    _read_segments(own, message, results)


def _message_type(message: hl7.Message) -> list[str]:
    msh = message.segment("MSH")
    return [msh.extract_field(field_num=9, component_num=c).strip().upper() for c in (1, 2)]


def _read_segments(own: list[tuple[int, str]], message: hl7.Message, results: _Results) -> None:
    """Walk the message in order: PID and OBR set the context of the OBX segments after them."""
    ctx = _Context(message)
    parsed = iter(message)
    for i, text in own:
        if not text.startswith("OBX"):
            segment = next(parsed)
            kind = str(segment[0]).strip()
            if kind == "PID":
                ctx.mrn, ctx.obr_time = _mrn(segment), ""
            elif kind == "OBR":
                ctx.obr_time = _first_component(segment, 7)
            continue
        _add_obx(i + 1, text, ctx, results)


def _first_component(segment: hl7.Segment, field_num: int) -> str:
    return str(segment.extract_field(field_num=field_num, component_num=1)).strip()


def _mrn(pid: hl7.Segment) -> str:
    """PID-3: the identifier typed MR (medical record number), else the first one given."""
    if len(pid) <= 3:
        return ""
    count = str(pid(3)).count(pid.separators[2]) + 1
    ids = [
        (
            str(pid.extract_field(field_num=3, repeat_num=r, component_num=1)).strip(),
            str(pid.extract_field(field_num=3, repeat_num=r, component_num=5)).strip().upper(),
        )
        for r in range(1, count + 1)
    ]
    typed = [i for i, t in ids if i and t == "MR"]
    given = [i for i, _ in ids if i]
    return (typed or given or [""])[0]


# --- OBX: one result -------------------------------------------------------------------------------


def _add_obx(line: int, text: str, ctx: _Context, results: _Results) -> None:
    f = text.split(ctx.field_sep)
    f += [""] * (15 - len(f))
    key = (f[2], f[3], f[5], f[6], f[7], f[8], f[11])
    decided = ctx.cache.get(key)
    if decided is None:
        decided = ctx.cache[key] = _decide(ctx, *key)
    name, loinc, value, unit, ref_range, flag, status = decided
    cols = results.cols
    results.lines.append(line)
    cols["mrn"].append(ctx.mrn)
    cols["when"].append(ctx.first(f[14], 3)[0].strip() or ctx.obr_time)
    cols["name"].append(name)
    cols["loinc"].append(loinc)
    cols["value"].append(value)
    cols["unit"].append(unit)
    cols["ref_range"].append(ref_range)
    cols["flag"].append(flag)
    cols["status"].append(status)


def _decide(ctx: _Context, kind: str, test: str, value: str, unit: str, ref: str, flag: str, status: str) -> tuple:
    """One OBX's fields as the CSV reader's columns (once per distinct combination in a message)."""
    name, loinc = _test(ctx, test)
    unit_parts = [ctx.text(u).strip() for u in ctx.first(unit, 3)] + ["", ""]
    code = status.strip().upper()
    return (
        name,
        loinc,
        _value(ctx, kind.strip().upper(), value),
        unit_parts[0] or unit_parts[1],
        ctx.text(ref).strip(),
        ctx.text(ctx.first(flag, 2)[0]).strip(),
        STATUS_WORDS.get(code, code.lower()),
    )


def _test(ctx: _Context, test: str) -> tuple[str, str]:
    """OBX-3 (CE/CWE): identifier^text^coding system^alternate identifier^alternate text^alternate system.
    The LOINC is the identifier whose system is LN; the name is the text (else a local identifier)."""
    c = [ctx.text(p).strip() for p in ctx.first(test, 3)] + [""] * 6
    loinc = c[0] if c[2].upper() == "LN" else c[3] if c[5].upper() == "LN" else ""
    name = c[1] or (c[4] if c[2].upper() == "LN" else "") or ("" if loinc == c[0] else c[0])
    return name, loinc


def _value(ctx: _Context, kind: str, value: str) -> str:
    """OBX-5 as result text: SN `<^0.5` is `<0.5`, `^1^:^128` is `1:128`; other types as written."""
    if kind == "SN":
        c = [p.strip() for p in ctx.first(value, 3)] + ["", "", "", ""]
        return ctx.text(f"{c[0]}{c[1]}{c[2]}{c[3]}")
    first = ctx.first(value, 2)[0] if kind in ("NM", "SN") else value
    return ctx.text(first).strip()
