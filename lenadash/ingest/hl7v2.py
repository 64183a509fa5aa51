"""HL7 v2 result messages (ORU^R01): one OBX segment per result to the canonical lab rows.

python-hl7 (`hl7` on PyPI) reads what has structure: each message's encoding characters (MSH-1 and
MSH-2, parsed once per distinct set), the PID segment with its repeating, typed identifiers (once per
distinct PID), and escape sequences (`\\T\\` for `&`, ...). The hot path - MSH-9, OBR-7 and the OBX
segments, nearly all of a results file - is split with the same encoding characters, and every OBX
field is decided once per distinct text (as the CSV reader does: a file repeats a few names, units and
ranges). The rows then go through the CSV rows' normalisation (normalise.normalise): units,
plausibility, the same problems.

A problem's `line` is the segment's position in the file (its physical line when segments are on
lines of their own, as `\\n`, `\\r\\n` and `\\r` files all are), its `column` the field (`OBX-5`).
Field by field: docs/import.md "HL7 v2".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hl7
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
class _Encoding:
    """One set of encoding characters (MSH-1, MSH-2), read by python-hl7 from the first MSH using them."""

    message: hl7.Message
    pids: dict[str, str] = field(default_factory=dict)  # PID segment text -> MRN

    @property
    def field_sep(self) -> str:
        return self.message.separators[1]

    @property
    def comp_sep(self) -> str:
        return self.message.separators[3]

    @property
    def rep_sep(self) -> str:
        return self.message.separators[2]

    def text(self, raw: str) -> str:
        """A field's text with escape sequences (`\\T\\` for `&`, ...) resolved."""
        return self.message.unescape(raw) if self.message.esc in raw else raw

    def mrn(self, msh: str, pid: str) -> str:
        if pid not in self.pids:
            self.pids[pid] = _mrn(hl7.parse(msh + "\r" + pid).segment("PID"))
        return self.pids[pid]


@dataclass
class _Obx:
    """The OBX segments of the result messages, in file order, with what their message says about them."""

    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    mrns: list[str] = field(default_factory=list)
    obr_times: list[str] = field(default_factory=list)
    encodings: list[int] = field(default_factory=list)  # index into _Reading.encodings


@dataclass
class _Reading:
    segments: list[str]
    problems: Problems
    obx: _Obx = field(default_factory=_Obx)
    encodings: list[_Encoding] = field(default_factory=list)
    by_chars: dict[str, int] = field(default_factory=dict)  # MSH[3:8] -> encoding index
    unreadable: int = 0  # OBX segments of messages that could not be read (reported, counted as read)


def is_hl7(head: bytes) -> bool:
    """Whether bytes start like an HL7 v2 file: an MSH, BHS or FHS segment (a BOM and blank lines allowed)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start[:3] not in (b"MSH", b"BHS", b"FHS") or len(start) < 8:
        return False
    sep = start[3:4]
    chars = start[4 : start.find(sep, 4)]  # MSH-2: the encoding characters, `^~\&` as a rule
    return (
        not sep.isalnum()
        and 1 <= len(chars) <= 5
        and not any(c.isalnum() or c in " \r\n" for c in chars.decode("latin-1"))
    )


def read_hl7(data, *, file_name: str = "") -> LabImport:
    """Read a file of HL7 v2 ORU^R01 messages (batch headers allowed) into canonical results.

    Patient from PID-3 (the identifier typed MR, else the first), collection time from OBX-14, else
    OBR-7, test from OBX-3 (LOINC where its coding system is LN), value from OBX-5 read by OBX-2 (NM,
    SN such as `<^0.5`, ST/TX/FT text), unit OBX-6, range OBX-7, flag OBX-8, status OBX-11 (as
    STATUS_WORDS). Messages of another type are skipped with a warning.
    """
    utf8, encoding, _ = decode(as_bytes(data))
    reading = _Reading(_SEGMENT_END.split(utf8.decode("utf-8")), Problems(file_name))
    for start, stop in _messages(reading.segments, reading.problems):
        _read_message(reading, start, stop)
    lines = np.asarray(reading.obx.lines, dtype=np.int64)
    rows = _obx_rows(reading)
    rows["value_col"] = Coded.constant(len(lines), "OBX-5")
    for f in ("ref_low", "ref_high"):
        rows[f] = Coded.constant(len(lines))
    problems = reading.problems
    out, conversions = normalise(rows, lines, dict(COLUMNS), problems, delimiter="|")
    return LabImport(
        results=out,
        problems=problems.frame(),
        shape="hl7",
        column_map={v: k for k, v in COLUMNS.items() if v},
        delimiter="|",
        encoding=encoding,
        rows_read=len(lines) + reading.unreadable,
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


def _encoding_of(reading: _Reading, msh: str) -> int:
    """The index of the message's encoding characters, parsed by python-hl7 the first time they are seen."""
    chars = msh[3:8]
    if chars not in reading.by_chars:
        reading.encodings.append(_Encoding(hl7.parse(msh)))
        reading.by_chars[chars] = len(reading.encodings) - 1
    return reading.by_chars[chars]


def _read_message(reading: _Reading, start: int, stop: int) -> None:
    segments, problems = reading.segments, reading.problems
    own = [(i, segments[i]) for i in range(start, stop) if segments[i].strip()]
    msh = own[0][1]
    try:
        index = _encoding_of(reading, msh)
        enc = reading.encodings[index]
        kind = _message_type(enc, msh)
        if kind[:2] == ["ORU", "R01"]:
            _read_segments(reading, own, index)
            return
    except (hl7.ParseException, IndexError, ValueError, KeyError) as exc:
        obx_lines = [i + 1 for i, s in own if s.startswith("OBX")]
        reading.unreadable += len(obx_lines)
        problems.add(
            line=[start + 1, *obx_lines],
            column="MSH",
            value="",
            reason="unreadable message",
            message=f"The message could not be read ({type(exc).__name__}); its results are not imported.",
            hint="Check the MSH and PID segments: MSH|^~\\&|... with the encoding characters right after MSH.",
        )
        return
    problems.add(
        line=[start + 1],
        column="MSH-9",
        value="^".join(kind),
        reason="not a result message",
        message="This message is not an ORU^R01 result message; skipped.",
        hint="Nothing to fix if it is not a lab result (an admission or order message).",
        severity="warning",
    )


def _message_type(enc: _Encoding, msh: str) -> list[str]:
    fields = msh.split(enc.field_sep)  # fields[n - 1] is MSH-n: MSH-1 is the separator itself
    components = (fields[8] if len(fields) > 8 else "").split(enc.comp_sep) + [""]
    return [c.strip().upper() for c in components[:2]]


def _read_segments(reading: _Reading, own: list[tuple[int, str]], index: int) -> None:
    """Walk the message in order: PID and OBR set the patient and time of the OBX segments after them."""
    enc, obx = reading.encodings[index], reading.obx
    msh, sep, comp = own[0][1], enc.field_sep, enc.comp_sep
    mrns = {i: enc.mrn(msh, text) for i, text in own if text[:3] == "PID"}  # may fail: before any OBX is taken
    mrn = obr_time = ""
    for i, text in own:
        kind = text[:3]
        if kind == "OBX":
            obx.lines.append(i + 1)
            obx.texts.append(text)
            obx.mrns.append(mrn)
            obx.obr_times.append(obr_time)
            obx.encodings.append(index)
        elif kind == "PID":
            mrn, obr_time = mrns[i], ""
        elif kind == "OBR":
            fields = text.split(sep)
            obr_time = enc.text(fields[7].split(comp)[0]).strip() if len(fields) > 7 else ""


def _mrn(pid: hl7.Segment) -> str:
    """PID-3: the identifier typed MR (medical record number), else the first one given."""
    if len(pid) <= 3:
        return ""
    count = str(pid(3)).count(pid.separators[2]) + 1
    ids = [(_component(pid, r, 1), _component(pid, r, 5).upper()) for r in range(1, count + 1)]
    typed = [i for i, t in ids if i and t == "MR"]
    given = [i for i, _ in ids if i]
    return (typed or given or [""])[0]


def _component(pid: hl7.Segment, repeat: int, component: int) -> str:
    """PID-3's component in one repetition; "" where the identifier has fewer components (`LD0001` alone)."""
    try:
        return str(pid.extract_field(field_num=3, repeat_num=repeat, component_num=component)).strip()
    except IndexError:
        return ""


# --- OBX: one result each, decided once per distinct field text --------------------------------------

_OBX_FIELDS = {"kind": 2, "test": 3, "value": 5, "unit": 6, "ref_range": 7, "flag": 8, "status": 11, "when": 14}


def _obx_rows(reading: _Reading) -> dict[str, Coded]:
    """The coded columns normalise reads, from every OBX of the file (per set of encoding characters)."""
    obx = reading.obx
    n = len(obx.texts)
    encodings = np.asarray(obx.encodings, dtype=np.int64)
    parts: dict[str, list[tuple[np.ndarray, Coded]]] = {f: [] for f in _DECIDED}
    for index, enc in enumerate(reading.encodings):
        rows = np.flatnonzero(encodings == index)
        if len(rows):
            texts = pa.array([obx.texts[r] for r in rows.tolist()], type=pa.string())
            for name, coded in _decide_obx(enc, texts).items():
                parts[name].append((rows, coded))
    out = {name: _merge(parts[name], n) for name in _DECIDED}
    obr = pa.array(obx.obr_times, type=pa.string())
    when = pa.array(out["when"].uniques.to_numpy(dtype=object), type=pa.string()).take(pa.array(out["when"].codes))
    out["when"] = _coded(pc.if_else(pc.equal(when, ""), obr, when))  # OBX-14, else OBR-7
    out["mrn"] = Coded.of(np.asarray(obx.mrns, dtype=object))
    return out


_DECIDED = ("name", "loinc", "value", "unit", "ref_range", "flag", "status", "when")


def _decide_obx(enc: _Encoding, texts: pa.Array) -> dict[str, Coded]:
    """Split every OBX at once (Arrow) and decide each field once per distinct text."""
    padded = pc.binary_join_element_wise(texts, pa.scalar(enc.field_sep * 15), "")  # every field exists
    fields = pc.split_pattern(padded, pattern=enc.field_sep)
    raw = {name: pc.list_element(fields, n) for name, n in _OBX_FIELDS.items()}
    test = raw["test"].dictionary_encode()
    kind_value = pc.binary_join_element_wise(raw["kind"], raw["value"], "\x1f").dictionary_encode()
    return {
        "name": _decided(test, lambda t: _test(enc, t)[0]),
        "loinc": _decided(test, lambda t: _test(enc, t)[1]),
        "value": _decided(kind_value, lambda kv: _value(enc, *kv.split("\x1f", 1))),
        "unit": _decided(raw["unit"].dictionary_encode(), lambda u: _unit(enc, u)),
        "ref_range": _decided(raw["ref_range"].dictionary_encode(), lambda r: enc.text(r).strip()),
        "flag": _decided(raw["flag"].dictionary_encode(), lambda f: enc.text(f.split(enc.rep_sep)[0]).strip()),
        "status": _decided(raw["status"].dictionary_encode(), _status),
        "when": _decided(raw["when"].dictionary_encode(), lambda w: enc.text(w.split(enc.comp_sep)[0]).strip()),
    }


def _decided(encoded: pa.DictionaryArray, decide) -> Coded:
    """A dictionary-encoded field with `decide` applied once per distinct text, as a Coded column."""
    per_text = [decide(t) for t in encoded.dictionary.to_pylist()]
    codes, uniques = pd.factorize(np.asarray(per_text + [""], dtype=object))
    return Coded(codes[encoded.indices.to_numpy(zero_copy_only=False)].astype(np.intp), pd.Series(uniques, dtype="str"))


def _coded(texts: pa.Array) -> Coded:
    encoded = texts.dictionary_encode()
    uniques = pd.Series(encoded.dictionary.to_pylist(), dtype="str").str.strip()
    return (
        _decided(encoded, lambda t: t.strip())
        if uniques.duplicated().any()
        else Coded(encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp), uniques)
    )


def _merge(parts: list[tuple[np.ndarray, Coded]], n: int) -> Coded:
    """Coded columns of row subsets (one per set of encoding characters) as one column in file order."""
    if len(parts) == 1 and len(parts[0][0]) == n:
        return parts[0][1]
    codes = np.zeros(n, dtype=np.intp)
    uniques: list[pd.Series] = []
    offset = 0
    for rows, coded in parts:
        codes[rows] = coded.codes + offset
        uniques.append(coded.uniques)
        offset += len(coded.uniques)
    merged = pd.concat(uniques, ignore_index=True) if uniques else pd.Series([""], dtype="str")
    dedup, distinct = pd.factorize(merged.to_numpy(dtype=object))
    return Coded(dedup[codes].astype(np.intp) if n else codes, pd.Series(distinct, dtype="str"))


def _unit(enc: _Encoding, unit: str) -> str:
    """OBX-6 (CE/CWE): the identifier (often UCUM, `10*3/uL`), else the text."""
    return _first_filled([enc.text(c).strip() for c in unit.split(enc.comp_sep)[:2]])


def _status(code: str) -> str:
    return STATUS_WORDS.get(code.strip().upper(), code.strip().lower())


def _first_filled(parts: list[str]) -> str:
    return next((p for p in parts if p), "")


def _test(enc: _Encoding, test: str) -> tuple[str, str]:
    """OBX-3 (CE/CWE): identifier^text^coding system^alternate identifier^alternate text^alternate system.
    The LOINC is the identifier whose system is LN; the name is the text (else a local identifier)."""
    c = [enc.text(p).strip() for p in test.split(enc.comp_sep)] + [""] * 6
    loinc = c[0] if c[2].upper() == "LN" else c[3] if c[5].upper() == "LN" else ""
    name = c[1] or (c[4] if c[2].upper() == "LN" else "") or ("" if loinc == c[0] else c[0])
    return name, loinc


def _value(enc: _Encoding, kind: str, value: str) -> str:
    """OBX-5 as result text: SN `<^0.5` is `<0.5`, `^1^:^128` is `1:128`; other types as written."""
    kind = kind.strip().upper()
    if kind == "SN":
        c = [p.strip() for p in value.split(enc.comp_sep)] + ["", "", "", ""]
        return enc.text(f"{c[0]}{c[1]}{c[2]}{c[3]}")
    first = value.split(enc.rep_sep)[0] if kind == "NM" else value
    return enc.text(first).strip()
