"""Files that are not CSV text, told by their first bytes, each with a message that says what to do."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from lenadash.errors import UnrecognisedFile
from lenadash.ingest import read_labs
from lenadash.ingest.kinds import detect_kind

CSV = b"MRN,Collected,Component,Result,Units\nP1,2026-01-19 08:00,WBC,5.2,K/uL\n"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("labs.csv", CSV)
    return buf.getvalue()


def test_a_gzip_csv_is_unpacked_and_read():
    data = gzip.compress(CSV, mtime=0)
    assert detect_kind(data) == "labs"
    assert len(read_labs(data, file_name="labs.csv.gz").results) == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (gzip.compress(CSV, mtime=0)[:-12], "Unzip it and upload the CSV"),  # cut short
        (gzip.compress(gzip.compress(CSV, mtime=0), mtime=0), "Unzip it and upload the CSV"),  # gzip inside gzip
        (_zip(), "save it as CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel workbook"),
        (b"%PDF-1.7\n...", "PDF"),
    ],
)
def test_other_containers_are_refused_with_what_to_do(data, says):
    with pytest.raises(UnrecognisedFile, match=says):
        read_labs(data, file_name="upload")
