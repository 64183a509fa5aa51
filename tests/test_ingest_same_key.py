"""One (patient, test, collection time) twice in one file, and a wide draw without values: never silent.

The later line is current (as the store keeps it); an equal earlier value is imported once, a different
one kept as history and warned.
"""

from __future__ import annotations

import pytest

from lenadash.ingest import read_labs

HEAD = "MRN,Collected,Component,Result,Units,Status\n"


def labs(*rows: str):
    return read_labs((HEAD + "".join(r + "\n" for r in rows)).encode(), file_name="labs.csv")


@pytest.mark.parametrize(
    ("rows", "kept_lines", "problems"),
    [
        # different values: both land, the earlier is warned naming the later line
        (
            ["P1,2026-01-19 08:00,WBC,5.2,K/uL,Final", "P1,2026-01-19 08:00,WBC,6.1,K/uL,Final"],
            [2, 3],
            [(2, "conflicting result", "Line 3")],
        ),
        # the later line says it is a correction: nothing to warn about
        (["P1,2026-01-19 08:00,K,6.3,mmol/L,Final", "P1,2026-01-19 08:00,K,4.4,mmol/L,Corrected"], [2, 3], []),
        # the same value (in another unit) again: imported once, the later line kept
        (
            ["P1,2026-01-19 08:00,WBC,5.2,K/uL,Prelim", "P1,2026-01-19 08:00,WBC,5200,/uL,Final"],
            [3],
            [(2, "duplicate row", "Line 3")],
        ),
        # another time, patient or test: no relation
        (["P1,2026-01-19 08:00,WBC,5.2,K/uL,", "P1,2026-01-19 08:01,WBC,6.1,K/uL,"], [2, 3], []),
        (["P1,2026-01-19 08:00,WBC,5.2,K/uL,", "P2,2026-01-19 08:00,WBC,6.1,K/uL,"], [2, 3], []),
        (["P1,2026-01-19 08:00,WBC,5.2,K/uL,", "P1,2026-01-19 08:00,ANC,5.2,K/uL,"], [2, 3], []),
    ],
)
def test_same_key_in_one_file(rows, kept_lines, problems):
    imp = labs(*rows)
    assert imp.results["line"].tolist() == kept_lines
    got = [(int(p.line), p.reason, p.message) for p in imp.problems.itertuples()]
    assert [(line, reason) for line, reason, _ in got] == [(line, reason) for line, reason, _ in problems]
    for (_, _, message), (_, _, names) in zip(got, problems):
        assert names in message


def test_three_values_warn_both_earlier_lines():
    imp = labs(*(f"P1,2026-01-19 08:00,WBC,{v},K/uL," for v in ("5.1", "5.2", "5.3")))
    warned = imp.problems[imp.problems["reason"] == "conflicting result"]
    assert warned["line"].tolist() == [2, 3]
    assert all("Line 4" in m for m in warned["message"])


def test_a_wide_draw_without_values_is_reported_not_vanished():
    text = b"MRN,Date,WBC (K/uL),ANC (K/uL),Comment\nP1,2026-01-19,5,3,\nP1,2026-01-20,,,redraw\nP2,2026-01-20,4,,\n"
    imp = read_labs(text, file_name="wide.csv")
    assert sorted(set(imp.results["line"])) == [2, 4]
    assert imp.problems[["line", "reason", "severity"]].values.tolist() == [[3, "no result", "error"]]
    assert "redraw" not in imp.problems["message"].iloc[0]


def test_rows_rejected_counts_rows_not_problems():
    # line 2 has two errors (unsafe MRN, unreadable date); line 3 one; a warning is not a rejection
    text = (
        "MRN,Collected,Component,Result,Units\n=P1,never,WBC,5.2,K/uL\nP1,2026-01-19 08:00,WBC,abc,K/uL\n"
        "P2,2026-01-19 08:00,WBC,5.2,\n"
    )
    imp = read_labs(text.encode(), file_name="labs.csv")
    assert len(imp.errors) == 3 and imp.rows_read == 3
    assert imp.rows_rejected == 2
