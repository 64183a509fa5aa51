"""The text table: bytes in (any common encoding and delimiter), every cell as text out, with physical line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.problems import Problems, cat

HEAD_BYTES = 65536  # the head of a file that decides its encoding, delimiter and header line
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 40
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
_GZIP = b"\x1f\x8b"
MAX_GUNZIPPED_BYTES = 1 << 30  # a gzip upload larger than this unpacked is refused (a "zip bomb" guard)
_BLANK_LINE = re.compile(rb"\n[ \t,;|]*\r?\n")
_ALL_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*\Z")  # what bytes.strip() removes, to the end
_CHECK_SLICE = 1 << 20


def as_bytes(data: bytes | BinaryIO | str) -> bytes:
    """The whole content of an upload, an open file, bytes or text (text is encoded as UTF-8)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if hasattr(data, "getvalue"):
        return data.getvalue()
    if hasattr(data, "seek"):
        data.seek(0)
    return data.read()


# --- encoding and delimiter ------------------------------------------------------------------


def decode(data: bytes, *, partial: bool = False) -> tuple[bytes, str, str]:
    """Return (utf-8 bytes for the parser, encoding name as reported, decoded text head).

    UTF-8 first; a file that is not valid UTF-8 is decoded line by line, so only the lines that fail
    are read as Windows-1252 (latin-1 where cp1252 leaves a byte undefined) and the valid UTF-8 lines
    (`µmol/L`) stay right. `partial`: `data` is only the head of a file, so a character cut at its
    end (a multibyte sequence, a surrogate pair) is left out rather than failing the file.
    """
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text = data.decode(enc, errors="ignore" if partial else "strict")
            return text.encode("utf-8"), enc, text[:HEAD_BYTES]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        enc = "utf-8-sig"
    else:
        enc = "utf-8"
    try:
        _check_utf8(data, final=not partial)
        return data, enc, data[:HEAD_BYTES].decode("utf-8", errors="ignore")
    except UnicodeDecodeError:
        text, enc = _decode_by_line(data)
        return text.encode("utf-8"), enc, text[:HEAD_BYTES]


def _check_utf8(data: bytes, *, final: bool) -> None:
    """Raise UnicodeDecodeError unless `data` is UTF-8, without a decoded copy of the whole file.

    ASCII (most exports) is told by one scan; otherwise the decoder runs over slices, so at most one
    slice of text exists at a time (a 1M-row export is ~80 MB: a copy of it is ~20,000 fresh pages).
    """
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), _CHECK_SLICE):
        decoder.decode(view[start : start + _CHECK_SLICE], final=False)
    decoder.decode(b"", final=final)


def _decode_by_line(data: bytes) -> tuple[str, str]:
    """Each line as UTF-8 where it is valid, else as cp1252 (latin-1 where cp1252 has no character)."""
    out: list[str] = []
    used: set[str] = set()
    for line in data.split(b"\n"):
        try:
            out.append(line.decode("utf-8"))
            if not line.isascii():
                used.add("utf-8")
        except UnicodeDecodeError:
            try:
                out.append(line.decode("cp1252"))
                used.add("cp1252")
            except UnicodeDecodeError:
                out.append(line.decode("latin-1"))
                used.add("latin-1")
    fallback = "latin-1" if "latin-1" in used else "cp1252"
    return "\n".join(out), (f"utf-8 and {fallback} (some lines)" if "utf-8" in used else fallback)


def _head_records(head: str, delim: str) -> list[tuple[int, int]] | None:
    """(field count, physical line index where the record starts) of the head's first records;
    a blank record counts 0 fields. None when the delimiter breaks the CSV quoting."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
    records: list[tuple[int, int]] = []
    start = 0
    try:
        for row in reader:
            records.append((len(row) if any(c.strip() for c in row) else 0, start))
            start = reader.line_num
            if len(records) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return None
    return records


def sniff(head: str) -> tuple[str, int]:
    """Pick the delimiter and the header's physical line index (0-based) from the file's head.

    The header is the first record with at least as many fields as most records (so a title line
    above the header is skipped); the delimiter is the one that splits the most records alike.
    """
    if len(head) >= HEAD_BYTES and "\n" in head:
        head = head[: head.rfind("\n") + 1]  # the last line of the head may be cut
    best: tuple[tuple[int, int, int], str, int] | None = None
    for delim in _DELIMITERS:
        records = _head_records(head, delim)
        nonblank = [c for c, _ in records if c > 0] if records is not None else []
        if records is None or not nonblank:
            continue
        modal = max(set(nonblank), key=nonblank.count)
        if modal < 2:
            continue
        header = next((i for i, (c, _) in enumerate(records) if c >= modal), 0)
        score = (nonblank.count(modal), modal, -header)
        if best is None or score > best[0]:
            best = (score, delim, records[header][1])
    if best is None:
        lines = head.split("\n")
        return ",", next((i for i, line in enumerate(lines) if line.strip()), 0)
    return best[1], best[2]


# --- the table -------------------------------------------------------------------------------


@dataclass
class Table:
    df: pd.DataFrame  # every column str, blank lines removed
    lines: np.ndarray  # physical line of each row (1-based)
    delimiter: str
    encoding: str
    header_line: int  # physical line of the header (1-based)
    malformed: list[tuple[int, int]] = field(default_factory=list)  # (line, fields) of over-long rows
    header_fields: int = 0


def read_table(data: bytes | BinaryIO | str, *, file_name: str) -> Table:
    """Every cell of a CSV/TSV export as text, with the physical line of each row.

    Raises UnrecognisedFile for an empty file, a workbook or PDF, or text that is not a table.
    """
    raw = gunzip(as_bytes(data), file_name)
    refuse_non_text(raw, file_name)
    utf8, encoding, head = decode(raw)
    delimiter, header_idx = sniff(head)
    _refuse_repeated_columns(head, delimiter, header_idx, file_name)
    df = None if _BLANK_LINE.search(utf8) else _parse_with_arrow(utf8, delimiter, header_idx)
    if df is None:
        try:
            df = _parse_with_c(utf8, delimiter, header_idx)
        except pd.errors.ParserError:
            # rows with more fields than the header (e.g. an unquoted comma in a name): read record by
            # record so that those rows are reported and the others imported
            return read_records(utf8, delimiter, header_idx, encoding, file_name)
        except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UnrecognisedFile(
                f"{file_name or 'The file'} could not be read as a table ({exc}). Export it as CSV and upload again."
            ) from exc
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    lines = _record_lines(utf8, delimiter, header_idx, len(df))
    df, lines = _without_blank_rows(df, lines, utf8)
    return Table(df, lines, delimiter, encoding, header_idx + 1)


def gunzip(raw: bytes, file_name: str) -> bytes:
    """A gzip-compressed export unpacked (one member, at most MAX_GUNZIPPED_BYTES); other bytes as they are."""
    if not raw.startswith(_GZIP):
        return raw
    unpacker = zlib.decompressobj(wbits=31)
    try:
        out = unpacker.decompress(raw, MAX_GUNZIPPED_BYTES)
        complete = unpacker.eof and not unpacker.unconsumed_tail
    except zlib.error:
        complete = False
    if not complete or out.startswith(_GZIP):
        raise UnrecognisedFile(
            f"{file_name or 'The file'} is a compressed (gzip) file that could not be unpacked here. "
            "Unzip it and upload the CSV."
        )
    return out


def refuse_non_text(raw: bytes, file_name: str) -> None:
    """An empty file, or a workbook, zip or PDF told by its first bytes, is refused with what to do instead."""
    if _ALL_SPACE.match(raw):  # as `not raw.strip()`, without a stripped copy of the file
        raise UnrecognisedFile(f"{file_name or 'the file'} is empty. Export the results as CSV and upload again.")
    for magic, kind in _NOT_CSV:
        if raw.startswith(magic):
            raise UnrecognisedFile(
                f"{file_name or 'The file'} is {kind}, not a CSV/text export. Open it and save it as CSV "
                "(comma- or semicolon-separated), then upload the CSV."
            )


def header_fields(head: str, delimiter: str, header_idx: int) -> list[str]:
    """The header row's names as written (stripped), from the decoded head of the file."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if start > header_idx:
                return [c.replace("\ufeff", "").strip() for c in record]
    except csv.Error:
        pass
    return []


def _refuse_repeated_columns(head: str, delimiter: str, header_idx: int, file_name: str) -> None:
    """Two columns with one name (a second `Result` or `MRN`): which one holds the data cannot be known."""
    names = [n for n in header_fields(head, delimiter, header_idx) if n]
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        key = name.casefold()
        if key in seen and name not in repeated:
            repeated.append(name)
        seen.add(key)
    if repeated:
        listed = ", ".join(f"'{n}'" for n in repeated)
        raise UnrecognisedFile(
            f"{file_name or 'The file'} has more than one column named {listed}; which one holds the data "
            "cannot be known. Remove or rename the extra column(s) and upload again."
        )


def _parse_with_arrow(utf8: bytes, delimiter: str, header_idx: int) -> pd.DataFrame | None:
    """The multithreaded Arrow parser (fast, no Python object per cell), or None when it cannot.

    It skips blank lines and rejects ragged rows, so files with those take the C parser, which
    keeps line numbers.
    """
    try:
        return pd.read_csv(
            io.BytesIO(utf8),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skiprows=header_idx,
            encoding="utf-8",
            engine="pyarrow",
        )
    except (pd.errors.ParserError, ValueError, TypeError):
        return None


def _parse_with_c(utf8: bytes, delimiter: str, header_idx: int) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(utf8),
        sep=delimiter,
        dtype=str,
        na_filter=False,
        keep_default_na=False,
        skip_blank_lines=False,
        skiprows=header_idx,
        encoding="utf-8",
        index_col=False,
        engine="c",
    )


def _record_lines(utf8: bytes, delimiter: str, header_idx: int, n: int) -> np.ndarray:
    """The physical line (1-based) where each of the `n` data records starts."""
    physical = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") else 1)
    if physical - header_idx - 1 == n or (physical - header_idx - 1 == n + 1 and utf8.endswith(b"\n\n")):
        return np.arange(header_idx + 2, header_idx + 2 + n, dtype=np.int64)
    # quoted values spanning lines, or bare CR line ends: count records the slow way (rare)
    starts: list[int] = []
    try:
        reader = csv.reader(io.StringIO(utf8.decode("utf-8"), newline=""), delimiter=delimiter)
        previous = 0
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:
        starts = []
    data_starts = [line for line in starts if line > header_idx + 1]
    if len(data_starts) < n:
        data_starts = list(range(header_idx + 2, header_idx + 2 + n))
    return np.asarray(data_starts[:n], dtype=np.int64)


def _without_blank_rows(df: pd.DataFrame, lines: np.ndarray, utf8: bytes) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop rows whose every cell is blank (the C parser keeps blank lines to keep line numbers)."""
    if not len(df) or not _BLANK_LINE.search(utf8):
        return df, lines
    blank = np.ones(len(df), dtype=bool)
    for col in df.columns:
        blank &= (df[col].str.strip() == "").to_numpy(dtype=bool, na_value=True)
    if blank.any():
        return df.loc[~blank].reset_index(drop=True), lines[~blank]
    return df, lines


def read_records(utf8: bytes, delimiter: str, header_idx: int, encoding: str, file_name: str) -> Table:
    """Slow, forgiving reader for ragged files: long rows become `malformed row` problems."""
    reader = csv.reader(io.StringIO(utf8.decode("utf-8"), newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[tuple[int, int]] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if start <= header_idx:
                continue
            if header is None:
                header = [c.replace("\ufeff", "").strip() for c in record]
                continue
            if not any(c.strip() for c in record):
                continue
            if len(record) > len(header):
                malformed.append((start, len(record)))
                continue
            rows.append(record + [""] * (len(header) - len(record)))
            lines.append(start)
    except csv.Error as exc:
        raise UnrecognisedFile(f"{file_name or 'The file'} could not be read as a table ({exc}).") from exc
    if header is None:
        raise UnrecognisedFile(f"{file_name or 'The file'} has no header row.")
    df = (
        pd.DataFrame(rows, columns=header, dtype="str")
        if rows
        else pd.DataFrame({c: pd.Series([], dtype="str") for c in header})
    )
    table = Table(df, np.asarray(lines, dtype=np.int64), delimiter, encoding, header_idx + 1)
    table.malformed = malformed
    table.header_fields = len(header)
    return table


def report_malformed(table: Table, problems: Problems) -> None:
    """One `malformed row` problem per row that had more fields than the header."""
    if table.malformed:
        got = np.array([n for _, n in table.malformed])
        problems.add(
            line=[line for line, _ in table.malformed],
            column="",
            value=got.astype(str),
            reason="malformed row",
            message=cat("The row has ", got, f" fields but the header has {table.header_fields}; not imported."),
            hint=(
                f"A value probably contains the delimiter '{table.delimiter}' without double quotes (e.g. a name "
                "written LAST, FIRST); quote it or export again."
            ),
        )
