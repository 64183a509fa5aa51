"""Encodings at the edges: UTF-8 first and cp1252 only for the lines that fail; a character cut by the
64 KiB head that decides a file's kind no longer refuses a valid file."""

from __future__ import annotations

import pytest

from lenadash.ingest import read_labs
from lenadash.ingest.kinds import detect_kind
from lenadash.ingest.tables import HEAD_BYTES

HEAD = "MRN,Collected,Component,Result,Units,Comment\n"


def test_one_cp1252_line_leaves_the_utf8_lines_right():
    good = (HEAD + "P1,2026-01-19 08:00,Creatinine,88.4,µmol/L,\n").encode("utf-8")
    bad = "P2,2026-01-19 08:00,Creatinine,176.8,µmol/L,Grüße\n".encode("cp1252")
    imp = read_labs(good + bad, file_name="mixed.csv")
    assert imp.problems.empty
    assert imp.results["raw_unit"].tolist() == ["µmol/L", "µmol/L"]
    assert imp.results["value"].round(6).tolist() == [1.0, 2.0]
    assert "cp1252" in imp.encoding and "utf-8" in imp.encoding


def test_a_cp1252_file_is_still_cp1252():
    imp = read_labs((HEAD + "P1,2026-01-19 08:00,Creatinine,88.4,µmol/L,\n").encode("cp1252"), file_name="w.csv")
    assert imp.encoding == "cp1252" and imp.results["raw_unit"].tolist() == ["µmol/L"]


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-16-le", b"\xff\xfe")])
def test_a_character_cut_by_the_head_does_not_refuse_the_file(encoding, bom):
    emoji = "\U0001f600".encode(encoding)
    prefix = bom + (HEAD + "".join(f"P{i},2026-01-19 08:00,WBC,5.{i % 10},K/uL,x\n" for i in range(10))).encode(
        encoding
    )
    unit = len("a".encode(encoding))
    for cut in range(unit, len(emoji), unit):  # every position inside it (UTF-16: inside the pair)
        fill = (HEAD_BYTES - cut - len(prefix) - len("P9,2026-01-19 08:00,WBC,5.0,K/uL,".encode(encoding))) // unit
        row = f"P9,2026-01-19 08:00,WBC,5.0,K/uL,{'a' * fill}\U0001f600\n".encode(encoding)
        data = prefix + row
        start = data.index(emoji, len(prefix))
        assert start < HEAD_BYTES < start + len(emoji)
        assert detect_kind(data) == "labs"
        assert len(read_labs(data, file_name="edge.csv").results) == 11


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_utf8_checked_in_slices_keeps_a_character_cut_by_a_slice(cut):
    """A large file is checked for UTF-8 slice by slice (no decoded copy); a character across two slices is
    UTF-8 still, and an invalid byte after the first slice still makes its line cp1252."""
    from lenadash.ingest.tables import _CHECK_SLICE

    first = (HEAD + "P1,2026-01-19 08:00,Creatinine,88.4,µmol/L,").encode("utf-8")
    emoji = "\U0001f600".encode("utf-8")
    pad = b"a" * (_CHECK_SLICE - cut - len(first))
    data = first + pad + emoji + b"\nP2,2026-01-19 08:00,Creatinine,176.8,\xb5mol/L,\n"
    assert data.index(emoji) < _CHECK_SLICE < data.index(emoji) + len(emoji)
    imp = read_labs(data, file_name="big.csv")
    assert imp.encoding == "utf-8 and cp1252 (some lines)"
    assert imp.results["raw_unit"].tolist() == ["µmol/L", "µmol/L"]
    assert read_labs(data[: data.index(b"\nP2") + 1], file_name="big.csv").encoding == "utf-8"
