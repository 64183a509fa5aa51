"""Refused files say why without echoing patient data: repeated columns named, header-less files not quoted."""

from __future__ import annotations

import pytest

from lenadash.errors import UnrecognisedFile
from lenadash.ingest import read_events, read_labs, read_patients


@pytest.mark.parametrize(
    ("reader", "text", "named"),
    [
        (read_labs, "MRN,Collected,Component,Result,Result\nP1,2026-01-19,WBC,5.2,6.1\n", "'Result'"),
        (read_labs, "MRN,Collected,Component,Result,mrn\nP1,2026-01-19,WBC,5.2,P2\n", "'mrn'"),
        (read_labs, "MRN;Collected;Component;Result;Result \nP1;2026-01-19;WBC;5,2;6,1\n", "'Result'"),
        (
            read_patients,
            "mrn,mrn,sex,birth_date,indication,start_date,starting_dose_mg\nP1,P2,M,1958-01-01,MM,2026-01-05,25\n",
            "'mrn'",
        ),
        (read_events, "mrn,date,event,value,value\nP1,2026-01-05,fever,38.5,39\n", "'value'"),
    ],
)
def test_repeated_columns_refuse_the_file_naming_them(reader, text, named):
    with pytest.raises(UnrecognisedFile) as err:
        reader(text.encode(), file_name="x.csv")
    assert named in str(err.value) and "more than one column" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "MRN,Collected,Component,Result,,\nP1,2026-01-19,WBC,5.2,,\n",  # blank trailing headers are not repeats
        "MRN,Collected,Component,Result,Comment\nP1,2026-01-19,WBC,5.2,Result\n",  # a value equal to a header
    ],
)
def test_blank_or_distinct_columns_are_read(text):
    assert len(read_labs(text.encode(), file_name="x.csv").results) == 1


HEADERLESS = [
    (read_labs, 'LD0001,"EXAMPLE, ALEX",2026-01-19,WBC,5.2\nLD0001,"EXAMPLE, ALEX",2026-01-19,ANC,3\n'),
    (read_patients, "LD0001,Alex Example,M,1958-04-17,80,MM,2026-01-05,25\n"),
    (read_events, "LD0001,Alex Example,2026-01-05,fever,38.5\n"),
]


@pytest.mark.parametrize(("reader", "text"), HEADERLESS)
def test_headerless_files_do_not_echo_their_first_row(reader, text):
    with pytest.raises(UnrecognisedFile) as err:
        reader(text.encode(), file_name="x.csv")
    msg = str(err.value)
    for cell in ("LD0001", "EXAMPLE", "Alex", "1958-04-17", "2026-01-19"):
        assert cell not in msg
    assert "not shown" in msg


def test_a_real_header_is_still_listed():
    with pytest.raises(UnrecognisedFile) as err:
        read_labs(b"Foo,Bar,Baz\n1,2,3\n", file_name="x.csv")
    assert "'Foo', 'Bar', 'Baz'" in str(err.value)
