"""Lab import: shapes, delimiters, encodings, dates, values, rejects with line numbers, plausibility."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenadash.ingest import (
    LAB_COLUMNS,
    PROBLEM_COLUMNS,
    UnrecognisedFile,
    detect_kind,
    parse_dates,
    read_labs,
)

HEADER = "MRN,Collection Date/Time,Component,Result,Units,Reference Range,Flag,Result Status"


def labs(text: str, **kw):
    return read_labs(text.encode("utf-8"), file_name="t.csv", **kw)


def one(imp, reason):
    rows = imp.problems[imp.problems["reason"] == reason]
    assert len(rows) == 1, imp.problems[["line", "reason", "message"]].to_dict("records")
    return rows.iloc[0]


# --- contract -------------------------------------------------------------------------------


def test_results_and_problems_follow_the_contract():
    imp = labs(f"{HEADER}\nP1,2026-01-19 08:30,WBC,5.2,K/uL,4.0-11.0,,Final\nP1,2026-01-19 08:30,MCV,90,fL,,,Final\n")
    assert list(imp.results.columns) == LAB_COLUMNS
    assert list(imp.problems.columns) == PROBLEM_COLUMNS
    r = imp.results
    assert str(r["collected_at"].dtype).startswith("datetime64")
    assert r["value"].dtype == np.float64 and r["line"].dtype == np.int64
    assert r.iloc[0][
        ["mrn", "analyte", "value", "unit", "comparator", "raw_value", "raw_unit", "raw_name"]
    ].tolist() == ["P1", "wbc", 5.2, "10^9/L", "", "5.2", "K/uL", "WBC"]
    assert (r.iloc[0]["ref_low"], r.iloc[0]["ref_high"], r.iloc[0]["status"], r.iloc[0]["line"]) == (
        4.0,
        11.0,
        "Final",
        2,
    )
    assert imp.shape == "long" and imp.rows_read == 2 and imp.delimiter == ","
    assert imp.column_map["Component"] == "name" and imp.column_map["Result"] == "value"
    assert imp.problems["line"].dtype == np.int64


def test_the_contract_lists_are_the_vocabulary_ones_not_copies():
    from lenadash import ingest
    from lenadash.vocab import course, frames

    assert ingest.LAB_COLUMNS is frames.LAB_COLUMNS and ingest.PROBLEM_COLUMNS is frames.PROBLEM_COLUMNS
    assert ingest.PATIENT_COLUMNS is frames.PATIENT_COLUMNS and ingest.EVENT_COLUMNS is frames.EVENT_COLUMNS
    assert ingest.CAPSULE_MG is course.CAPSULE_MG


def test_accepts_a_binary_stream_like_a_streamlit_upload():
    data = io.BytesIO(f"{HEADER}\nP1,2026-01-19,PLT,150,K/uL,,,\n".encode())
    assert read_labs(data).results["value"].tolist() == [150.0]


# --- shapes and column names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "MRN,Collection Date/Time,Component,Result,Units",
        "Patient ID,Collected,Test,Value,UOM",
        "PID,Specimen Taken,Test Name,Result,Unit",
        "patient_id,collected_at,analyte,value,unit",
        "patient_id,effectiveDateTime,code,valueQuantity.value,valueQuantity.unit",
        "mrn,effective_datetime,loinc,value,unit",
        "MRN,Sample date,Component,Result,Units",
    ],
)
def test_long_column_names_recognised(header):
    name = "718-7" if "code" in header or "loinc" in header else "Hemoglobin"
    imp = labs(f"{header}\nP1,2026-01-19T08:30:00,{name},12.5,g/dL\n")
    assert imp.shape == "long"
    assert imp.results[["mrn", "analyte", "value"]].values.tolist() == [["P1", "hgb", 12.5]]


def test_plainest_shape_with_canonical_key_loinc_or_common_name_and_low_high():
    imp = labs(
        "mrn,collected_at,analyte,value,unit,ref_low,ref_high\n"
        "P1,2026-01-19,anc,1.2,10^9/L,1.5,8\nP1,2026-01-19,777-3,140,10^9/L,150,400\n"
        "P1,2026-01-19,Creatinine,88.4,umol/L,45,90\n"
    )
    r = imp.results
    assert r["analyte"].tolist() == ["anc", "plt", "creatinine"]
    assert r["loinc"].tolist()[1] == "777-3"
    assert r["value"].tolist() == pytest.approx([1.2, 140.0, 1.0])
    assert r["ref_low"].tolist() == pytest.approx([1.5, 150.0, 45 / 88.4])
    assert r["ref_high"].tolist() == pytest.approx([8.0, 400.0, 90 / 88.4])


WIDE = (
    "MRN,Patient Name,Date,Time,WBC (K/uL),ANC [10^9/L],Hb (g/L),PLT [10^9/L],Creatinine (umol/L),MCV (fL)\n"
    'P1,"DOE, JANE",01/19/2026,8:30 AM,5.2,2.1,125,150,88.4,90\n'
    'P1,"DOE, JANE",01/26/2026,9:00 AM,4.0,,118,95,,91\n'
)
LONG = (
    f"{HEADER}\n"
    "P1,01/19/2026 8:30 AM,WBC,5.2,K/uL,,,\nP1,01/19/2026 8:30 AM,ANC,2.1,10^9/L,,,\n"
    "P1,01/19/2026 8:30 AM,Hb,125,g/L,,,\nP1,01/19/2026 8:30 AM,PLT,150,10^9/L,,,\n"
    "P1,01/19/2026 8:30 AM,Creatinine,88.4,umol/L,,,\n"
    "P1,01/26/2026 9:00 AM,WBC,4.0,K/uL,,,\nP1,01/26/2026 9:00 AM,Hb,118,g/L,,,\n"
    "P1,01/26/2026 9:00 AM,PLT,95,10^9/L,,,\n"
)


def test_wide_and_long_give_the_same_results():
    wide, long = labs(WIDE), labs(LONG)
    assert wide.shape == "wide" and long.shape == "long"
    cols = ["mrn", "collected_at", "analyte", "value", "unit"]
    key = ["collected_at", "analyte"]
    pd.testing.assert_frame_equal(
        wide.results[cols].sort_values(key).reset_index(drop=True),
        long.results[cols].sort_values(key).reset_index(drop=True),
    )
    # the header's unit is the raw unit; empty cells are "not measured", not rejects
    assert set(wide.results["raw_unit"]) == {"K/uL", "10^9/L", "g/L", "umol/L"}
    assert wide.results["line"].tolist() == [2, 2, 2, 2, 2, 3, 3, 3]
    assert wide.problems["reason"].tolist() == ["unknown analyte"]  # the MCV column, once, at the header
    assert wide.problems.iloc[0][["line", "column", "severity"]].tolist() == [1, "MCV (fL)", "warning"]


def test_patient_names_never_reach_results_or_problems():
    imp = labs(WIDE.replace("125", "abc"))
    text = imp.results.to_csv() + imp.problems.to_csv()
    assert "DOE" not in text and "JANE" not in text
    assert imp.column_map["Patient Name"] == "ignored"


def test_unrecognised_columns_name_found_and_expected():
    with pytest.raises(UnrecognisedFile) as err:
        labs("Foo,Bar,Baz\n1,2,3\n")
    msg = str(err.value)
    assert "'Foo', 'Bar', 'Baz'" in msg
    assert "MRN" in msg and "Collection Date/Time" in msg and "Result" in msg
    assert isinstance(err.value, ValueError)


def test_missing_date_column_is_named():
    with pytest.raises(UnrecognisedFile, match="collection date"):
        labs("MRN,Component,Result\nP1,WBC,5\n")


def test_empty_file_is_unrecognised():
    with pytest.raises(UnrecognisedFile, match="empty"):
        read_labs(b"  \n")


# --- delimiters, encodings, line ends ---------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_delimiters_and_line_ends(delimiter, newline):
    rows = [
        ["MRN", "Collected", "Test", "Result", "Units"],
        ["P1", "2026-01-19 08:30", "PLT", "150", "K/uL"],
        ["P1", "2026-01-19 08:30", "WBC", "5.0", "K/uL"],
    ]
    text = newline.join(delimiter.join(r) for r in rows) + newline
    imp = labs(text)
    assert imp.delimiter == delimiter
    assert imp.results["value"].tolist() == [150.0, 5.0] and imp.results["line"].tolist() == [2, 3]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings_with_micro_and_times_signs(encoding):
    text = (
        "MRN;Datum;Parameter;Wert;Einheit\r\n"
        "P1;19.01.2026 08:30;Kreatinin;88,4;µmol/L\r\n"
        "P1;19.01.2026 08:30;Thrombozyten;150;×10^9/L\r\n"
    )
    imp = read_labs(text.encode(encoding), file_name="eu.csv")
    assert imp.problems.empty, imp.problems.to_dict("records")
    assert imp.results["value"].tolist() == pytest.approx([1.0, 150.0])
    assert imp.results["raw_unit"].tolist() == ["µmol/L", "×10^9/L"]
    assert imp.results["collected_at"].tolist() == [pd.Timestamp("2026-01-19 08:30")] * 2
    assert imp.encoding == encoding


def test_decimal_commas_in_semicolon_files_and_ranges():
    imp = labs("MRN;Collected;Test;Result;Units;Reference Range\nP1;2026-01-19;K;4,25;mmol/L;3,5-5,1\n")
    r = imp.results.iloc[0]
    assert (r["value"], r["ref_low"], r["ref_high"]) == (4.25, 3.5, 5.1)


def test_thousands_separator_in_comma_file_is_not_a_decimal():
    imp = labs(f'{HEADER}\nP1,2026-01-19,Platelets,"150,000",/uL,,,\n')
    assert imp.results["value"].tolist() == [150.0]


def test_blank_lines_and_quoted_newlines_keep_physical_line_numbers():
    text = (
        f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\n\n"
        'P1,2026-01-19,"PLT\nsecond line",abc,K/uL,,,\nP1,2026-01-19,Hb,xx,g/dL,,,\n'
    )
    imp = labs(text)
    assert imp.rows_read == 3
    # a line break inside a test name is a control character there (only free text may span lines)
    assert imp.problems[["line", "reason"]].values.tolist() == [[4, "control character"], [6, "non-numeric result"]]


def test_preamble_lines_before_the_header_are_skipped():
    imp = labs(f"Lab export printed 2026-01-20\n\n{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\nP1,2026-01-19,Hb,x,g/dL,,,\n")
    assert imp.results["line"].tolist() == [4]
    assert imp.problems["line"].tolist() == [5]


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-19", "2026-01-19 00:00"),
        ("2026-01-19 08:30", "2026-01-19 08:30"),
        ("2026-01-19T08:30:15", "2026-01-19 08:30:15"),
        ("2026-01-19T08:30:00+01:00", "2026-01-19 08:30"),
        ("2026-01-19T08:30:00Z", "2026-01-19 09:30"),  # UTC, in Berlin (the test sets the zone)
        ("01/19/2026", "2026-01-19 00:00"),
        ("01/19/2026 8:30 AM", "2026-01-19 08:30"),
        ("01/19/2026 8:30 PM", "2026-01-19 20:30"),
        ("01/19/2026 12:05 AM", "2026-01-19 00:05"),
        ("1/19/26 14:05", "2026-01-19 14:05"),
        ("19.01.2026", "2026-01-19 00:00"),
        ("19.01.2026 08:30", "2026-01-19 08:30"),
        ("202601190830", "2026-01-19 08:30"),
        ("19-Jan-2026 08:30", "2026-01-19 08:30"),
    ],
)
def test_date_formats(text, expected, monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "Europe/Berlin")  # +01:00 in January: the wall clock as written
    parsed, notes = parse_dates(pd.Series([text], dtype="str"))
    assert parsed.iloc[0] == pd.Timestamp(expected)


def test_slash_dates_day_first_when_a_day_exceeds_12_decided_per_column():
    parsed, notes = parse_dates(pd.Series(["03/02/2026", "25/02/2026"], dtype="str"))
    assert parsed.tolist() == [pd.Timestamp("2026-02-03"), pd.Timestamp("2026-02-25")]
    assert notes == []


def test_ambiguous_slash_column_is_us_with_a_warning():
    imp = labs(f"{HEADER}\nP1,03/02/2026,WBC,5,K/uL,,,\nP1,04/02/2026,WBC,5,K/uL,,,\n")
    assert imp.results["collected_at"].dt.month.tolist() == [3, 4]
    w = one(imp, "ambiguous date")
    assert w["severity"] == "warning" and "MM/DD/YYYY" in w["message"]


@pytest.mark.parametrize("bad", ["2026-13-01", "31.02.2026", "tomorrow", "", "13/13/2026", "01/19/2026 25:00"])
def test_unreadable_dates_are_rejected_with_their_line(bad):
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\nP1,{bad},WBC,5,K/uL,,,\n")
    p = one(imp, "unreadable date")
    assert (p["line"], p["column"], p["value"], p["severity"]) == (3, "Collection Date/Time", bad, "error")
    assert "2026-01-19" in p["hint"]
    assert imp.results["line"].tolist() == [2]


def test_separate_date_and_time_columns_in_a_long_file():
    imp = labs("MRN,Date,Time,Test,Result,Units\nP1,19.01.2026,08:30,WBC,5,K/uL\n")
    assert imp.results["collected_at"].tolist() == [pd.Timestamp("2026-01-19 08:30")]


# --- values, flags, comparators --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "comparator", "flag"),
    [
        ("5.2", 5.2, "", None),
        ("<0.5", 0.5, "<", None),
        ("> 90", 90.0, ">", None),
        ("<=1.0", 1.0, "<=", None),
        ("≥2", 2.0, ">=", None),
        ("5.2 H", 5.2, "", "H"),
        ("5.2H", 5.2, "", "H"),
        ("5.2*", 5.2, "", "*"),
        ("5.2 (H)", 5.2, "", "H"),
        ("0.3 LL", 0.3, "", "LL"),
        (".5", 0.5, "", None),
        ("1e1", 10.0, "", None),
    ],
)
def test_value_text(raw, value, comparator, flag):
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,{raw},K/uL,,,\n")
    r = imp.results.iloc[0]
    assert (r["value"], r["comparator"], r["raw_value"]) == (value, comparator, raw)
    assert (None if pd.isna(r["flag"]) else r["flag"]) == flag


def test_flag_column_wins_over_a_glued_flag():
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5.2 H,K/uL,,HH,\n")
    assert imp.results["flag"].tolist() == ["HH"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Cancelled", "no result"),
        ("TNP", "no result"),
        ("Test not performed", "no result"),
        ("QNS", "no result"),
        ("", "no result"),
        ("see note", "non-numeric result"),
        ("Positive", "non-numeric result"),
        ("9999999", "non-numeric result"),
        ("5..2", "non-numeric result"),
        ("abc 5", "non-numeric result"),
    ],
)
def test_text_results_are_rejects_never_dropped(raw, reason):
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\nP1,2026-01-19,PLT,{raw},K/uL,,,\n")
    p = one(imp, reason)
    assert (p["line"], p["column"], p["value"], p["severity"]) == (3, "Result", raw, "error")
    assert p["message"] and p["hint"]
    assert len(imp.results) == 1


def test_cancelled_status_is_no_result():
    imp = labs(f"{HEADER}\nP1,2026-01-19,PLT,150,K/uL,,,Cancelled\n")
    assert one(imp, "no result")["column"] == "Result Status" and imp.results.empty


def test_missing_patient_with_line():
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\n ,2026-01-19,WBC,5,K/uL,,,\n")
    p = one(imp, "missing patient")
    assert (p["line"], p["column"]) == (3, "MRN")


def test_every_problem_of_a_row_is_reported_in_one_pass():
    imp = labs(f"{HEADER}\n,never,Potassium,40,mmol/L,,,\n")
    assert sorted(imp.problems["reason"]) == ["implausible value", "missing patient", "unreadable date"]
    assert set(imp.problems["line"]) == {2}


# --- analytes --------------------------------------------------------------------------------


def test_percentage_differential_rejected_with_hint():
    imp = labs(f"{HEADER}\nP1,2026-01-19,Neutrophils %,55,%,,,\nP1,2026-01-19,Neutrophils,55,%,,,\n")
    p = imp.problems
    assert p["reason"].tolist() == ["percentage, not a count"] * 2 and p["line"].tolist() == [2, 3]
    assert "absolute" in p.iloc[0]["hint"]
    assert imp.results.empty


def test_ambiguous_neutrophils_without_unit_is_not_assumed_a_count():
    imp = labs(f"{HEADER}\nP1,2026-01-19,Neutrophils,55,,,,\n")
    assert one(imp, "unknown unit")["line"] == 2 and imp.results.empty


def test_unknown_analyte_rows_are_reported_errors_with_hint():
    imp = labs(f"{HEADER}\nP1,2026-01-19,MCV,90,fL,,,\nP1,2026-01-19,RDW,13,%,,,\n")
    p = imp.problems
    assert p["reason"].tolist() == ["unknown analyte"] * 2 and p["line"].tolist() == [2, 3]
    assert set(p["severity"]) == {"error"} and p.iloc[0]["value"] == "MCV"
    assert "MCV" not in p.iloc[0]["message"] and "not one of the" in p.iloc[0]["message"]  # the cell is not echoed


def test_loinc_wins_over_the_name_and_implies_the_unit_scale():
    imp = labs(
        "MRN,Collected,Test,LOINC,Result,Units\n"
        "P1,2026-01-19,Creat (SI),14682-9,88.4,\nP1,2026-01-19,Bili,14631-6,17.1,\n"
        "P1,2026-01-19,Platelets (auto),26515-7,150,K/uL\n"
    )
    r = imp.results
    assert r["analyte"].tolist() == ["creatinine", "bilirubin", "plt"]
    assert r["value"].tolist() == pytest.approx([1.0, 1.0, 150.0])
    assert r["loinc"].tolist() == ["14682-9", "14631-6", "26515-7"]
    assert imp.problems.empty  # the LOINC states the unit: no "assumed unit" warning


# --- units and plausibility ------------------------------------------------------------------


def test_unknown_unit_rejected_with_the_known_ones_as_hint():
    imp = labs(f"{HEADER}\nP1,2026-01-19,Hgb,12,mg/mL,,,\n")
    p = one(imp, "unknown unit")
    assert (p["line"], p["column"], p["value"]) == (2, "Units", "mg/mL")
    assert "g/dL" in p["hint"] and "g/L" in p["hint"]


@pytest.mark.parametrize(
    ("name", "value", "unit", "hint"),
    [
        ("PLT", "150000", "", "looks like /uL; add the unit"),
        ("WBC", "17000", "", "looks like /uL; add the unit"),
        ("Hgb", "125", "g/dL", "looks like g/L, not the unit given"),
        ("Creatinine", "88", "mg/dL", "looks like umol/L"),
        ("ANC", "-1", "K/uL", "negative"),
        ("Potassium", "40", "mmol/L", "Check the value"),
    ],
)
def test_plausibility_catches_unit_mixups_and_impossible_values(name, value, unit, hint):
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\nP1,2026-01-19,{name},{value},{unit},,,\n")
    p = one(imp, "implausible value")
    assert p["line"] == 3 and p["severity"] == "error"
    assert hint in p["hint"]
    assert imp.results["line"].tolist() == [2]


def test_missing_unit_assumed_canonical_when_plausible_with_a_warning():
    imp = labs(f"{HEADER}\nP1,2026-01-19,PLT,150,,,,\n")
    assert imp.results["value"].tolist() == [150.0] and imp.results["unit"].tolist() == ["10^9/L"]
    w = one(imp, "assumed unit")
    assert (w["line"], w["severity"]) == (2, "warning") and "10^9/L" in w["message"]


def test_reference_ranges_one_sided_and_converted():
    imp = labs(
        f"{HEADER}\nP1,2026-01-19,PLT,140,K/uL,<150,,\nP1,2026-01-19,Hb,125,g/L,>120,,\n"
        "P1,2026-01-19,Creatinine,88.4,umol/L,45 - 90,,\nP1,2026-01-19,WBC,5,K/uL,normal,,\n"
    )
    r = imp.results
    assert r["ref_low"].isna().tolist() == [True, False, False, True]
    assert r["ref_high"].tolist()[0] == 150.0 and r["ref_low"].tolist()[1] == 12.0
    assert r["ref_low"].tolist()[2] == pytest.approx(45 / 88.4)
    w = one(imp, "unreadable reference range")
    assert (w["line"], w["severity"]) == (5, "warning")


def test_conversions_table_counts_units_per_analyte():
    imp = labs(LONG)
    c = imp.conversions.set_index(["analyte", "raw_unit"])
    assert c.loc[("hgb", "g/L"), "factor"] == 0.1 and c.loc[("hgb", "g/L"), "count"] == 2
    assert c.loc[("creatinine", "umol/L"), "unit"] == "mg/dL"
    assert c["count"].sum() == len(imp.results)


# --- duplicates --------------------------------------------------------------------------------


def test_exact_duplicate_rows_collapse_with_a_warning():
    row = "P1,2026-01-19,WBC,5,K/uL,,,"
    imp = labs(f"{HEADER}\n{row}\nP1,2026-01-19,PLT,150,K/uL,,,\n{row}\n")
    assert imp.results["line"].tolist() == [2, 3]
    w = one(imp, "duplicate row")
    assert (w["line"], w["severity"]) == (4, "warning") and "line 2" in w["message"]
    assert imp.rows_read == 3


def test_same_test_different_value_is_not_a_duplicate():
    # both land (the store keeps the later line current, the earlier as history), and the earlier is warned
    imp = labs(f"{HEADER}\nP1,2026-01-19,WBC,5,K/uL,,,\nP1,2026-01-19,WBC,6,K/uL,,,\n")
    assert len(imp.results) == 2
    assert imp.problems[["line", "reason", "severity"]].values.tolist() == [[2, "conflicting result", "warning"]]


# --- robustness ----------------------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "<0.5",
            "5.2 H",
            "9999999",
            "",
            "TNP",
            "1,5",
            "-3",
            "1e400",
            "nan",
            "inf",
            "µmol/L",
            "%",
            "2026-02-30",
            "13/13/2026",
            "19.01.2026 08:30",
            "0",
            "Neutrophils %",
            "751-8",
            "x10E3/uL",
        ]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL, CELL), min_size=1, max_size=8), st.sampled_from([",", ";", "\t"]))
def test_arbitrary_cells_never_raise_and_every_row_is_accounted_for(rows, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["mrn", "collected_at", "analyte", "value", "unit"])
    writer.writerows(rows)
    imp = read_labs(buf.getvalue().encode("utf-8"), file_name="fuzz.csv")
    lines_ok = set(imp.results["line"])
    lines_err = set(imp.problems.loc[imp.problems["severity"] == "error", "line"])
    assert not lines_ok & lines_err
    dup_lines = set(imp.problems.loc[imp.problems["reason"] == "duplicate row", "line"])
    assert len(lines_ok | lines_err | dup_lines) == imp.rows_read
    assert imp.results["value"].map(np.isfinite).all()


def test_detect_kind_on_lab_files():
    assert detect_kind(LONG.encode()) == "labs"
    assert detect_kind(WIDE.encode()) == "labs"
    with pytest.raises(UnrecognisedFile, match="lab, patients or events"):
        detect_kind(b"a,b\n1,2\n")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/New_York", dt.datetime(2026, 1, 19, 23, 30)),  # the offset of the clinic's own zone
        ("Europe/Berlin", dt.datetime(2026, 1, 20, 5, 30)),  # 04:30 UTC is 05:30 in Berlin, the next day
        ("UTC", dt.datetime(2026, 1, 20, 4, 30)),
    ],
)
def test_lab_dates_are_naive_wall_clock_of_the_clinic(zone, expected, monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", zone)
    imp = labs(
        "mrn,effectiveDateTime,code,valueQuantity.value,valueQuantity.unit\n"
        "P1,2026-01-19T23:30:00-05:00,718-7,12,g/dL\n"
    )
    assert imp.results["collected_at"].iloc[0] == pd.Timestamp(expected)


@pytest.mark.parametrize(
    ("header", "analyte", "raw_unit"),
    [
        ("Hb (g/L)", "hgb", "g/L"),
        ("PLT [10^9/L]", "plt", "10^9/L"),
        ("WBC, K/uL", "wbc", "K/uL"),
        ("Neutrophils, absolute", "anc", ""),
        ("Lymphocytes (absolute)", "alc", ""),
        ("Neut# (x10E3/uL)", "anc", "x10E3/uL"),
    ],
)
def test_wide_headers_split_only_known_units(header, analyte, raw_unit):
    value = "125" if analyte == "hgb" else "1.5"
    imp = labs(f'MRN,Collected,"{header}"\nP1,2026-01-19,{value}\n')
    assert imp.results[["analyte", "raw_unit"]].values.tolist() == [[analyte, raw_unit]]


def test_wide_percent_column_by_unit_is_ignored_with_one_warning():
    imp = labs("MRN,Collected,Neutrophils (%),ANC (K/uL)\nP1,2026-01-19,55,1.5\nP1,2026-01-20,60,1.7\n")
    assert imp.results["analyte"].tolist() == ["anc", "anc"]
    assert imp.problems[["line", "reason", "severity"]].values.tolist() == [[1, "percentage, not a count", "warning"]]


def test_collection_date_preferred_over_result_date_whatever_the_column_order():
    imp = labs("MRN,Result Date,Test,Result,Units,Collection Date\nP1,2026-01-21,WBC,5,K/uL,2026-01-19\n")
    assert imp.column_map["Collection Date"] == "datetime" and "Result Date" not in imp.column_map
    assert imp.results["collected_at"].tolist() == [pd.Timestamp("2026-01-19")]


def test_unit_is_not_assumed_for_a_test_whose_other_unitless_results_are_implausible():
    imp = labs(f"{HEADER}\nP1,2026-01-19,PLT,150000,,,,\nP1,2026-01-26,PLT,4000,,,,\nP1,2026-01-26,WBC,5,,,,\n")
    assert imp.problems[["line", "reason"]].values.tolist() == [
        [2, "implausible value"],
        [3, "unknown unit"],
        [4, "assumed unit"],
    ]
    assert imp.results["analyte"].tolist() == ["wbc"]


def test_wide_units_row_under_the_header():
    imp = labs(
        "Patient-ID;Datum;Leukozyten;Hb;Neutrophile;Thrombozyten (G/L)\n;;G/L;g/L;%;\nA1;19.01.2026;5,2;125;55;150\n"
    )
    assert imp.rows_read == 1
    assert imp.results[["analyte", "value", "raw_unit", "line"]].values.tolist() == [
        ["wbc", 5.2, "G/L", 3],
        ["hgb", 12.5, "g/L", 3],
        ["plt", 150.0, "G/L", 3],
    ]
    assert imp.problems[["line", "reason"]].values.tolist() == [[1, "percentage, not a count"]]
    assert imp.column_map["Neutrophile"] == "ignored (percentage, not a count)"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL, CELL), min_size=1, max_size=6))
def test_wide_files_with_arbitrary_cells_never_raise(rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["MRN", "Date", "WBC", "Hb (g/L)", "PLT"])
    writer.writerows(rows)
    imp = read_labs(buf.getvalue().encode("utf-8"), file_name="fuzz.csv")
    assert imp.shape == "wide"
    # in a wide file each cell lands or is rejected on its own; a bad MRN or date rejects the whole row
    header_of = {"WBC": "WBC", "Hb": "Hb (g/L)", "PLT": "PLT"}
    landed = set(zip(imp.results["line"], imp.results["raw_name"].map(header_of)))
    errors = imp.problems[imp.problems["severity"] == "error"]
    assert not landed & set(zip(errors["line"], errors["column"]))
    assert not set(imp.results["line"]) & set(errors.loc[errors["column"].isin(["MRN", "Date"]), "line"])
    assert imp.results["value"].map(np.isfinite).all()


def test_rows_with_too_many_fields_are_reported_and_the_rest_imported():
    imp = labs(
        "MRN,Patient Name,Collected,Test,Result,Units\n"
        'P1,"DOE, JANE",2026-01-19,WBC,5,K/uL\nP1,DOE, JANE,2026-01-19,PLT,150,K/uL\nP1,,2026-01-19,Hb,12\n'
    )
    assert imp.results[["analyte", "line"]].values.tolist() == [["wbc", 2], ["hgb", 4]]
    p = one(imp, "malformed row")
    assert p["line"] == 3 and "7 fields" in p["message"] and "quote" in p["hint"]
    assert "DOE" not in imp.problems.to_csv()
    assert imp.rows_read == 3


@pytest.mark.parametrize("magic", [b"PK\x03\x04rest-of-zip", b"\xd0\xcf\x11\xe0\xa1\xb1", b"%PDF-1.7\n"])
def test_workbooks_and_pdfs_get_a_save_as_csv_message(magic):
    with pytest.raises(UnrecognisedFile, match="save it as CSV"):
        read_labs(magic, file_name="labs.xlsx")


@pytest.mark.parametrize(
    ("delimiter", "cells", "expected"),
    [
        (",", ['"5,2"', '"4,25"'], [5.2, 4.25]),  # quoted decimal commas in a comma file
        (",", ['"150,000"', '"5,2"'], [150000.0, None]),  # thousands groups win; "5,2" is then not a number
        (";", ["150.000", "5,2"], [150000.0, 5.2]),  # German thousands dot in a decimal-comma column
        (";", ["1.234,5", "0,8"], [1234.5, 0.8]),
        (";", ["5.2", "150"], [5.2, 150.0]),  # no decimal commas: dots are decimals
    ],
)
def test_decimal_comma_and_thousands_decided_per_column(delimiter, cells, expected):
    d = delimiter
    rows = "".join(f"P1{d}2026-01-19{d}WBC{d}{c}{d}/uL\n" for c in cells)
    imp = labs(f"MRN{d}Collected{d}Test{d}Result{d}Units\n{rows}")
    got = dict(zip(imp.results["line"], imp.results["value"] * 1000))
    assert [None if got.get(i + 2) is None else pytest.approx(got[i + 2]) for i in range(len(cells))] == [
        None if e is None else pytest.approx(e) for e in expected
    ]


def test_quoted_newline_without_blank_lines_keeps_physical_line_numbers():
    text = (
        'MRN,Collected,Test,Result,Units,Comment\nP1,2026-01-19,WBC,5,K/uL,"two\nlines"\n'
        "P1,2026-01-19,PLT,abc,K/uL,\nP1,2026-01-19,Hb,12,g/dL,\n"
    )
    imp = labs(text)
    assert imp.results[["analyte", "line"]].values.tolist() == [["wbc", 2], ["hgb", 5]]
    assert imp.problems[["line", "reason"]].values.tolist() == [[4, "non-numeric result"]]


@pytest.mark.parametrize(
    ("cell", "analyte", "value", "raw_unit"),
    [
        ("150 K/uL", "PLT", 150.0, "K/uL"),
        ("125 g/L", "Hb", 12.5, "g/L"),
        ("<0.5 x10^9/L", "ANC", 0.5, "x10^9/L"),
        ("88.4 umol/L", "Creatinine", 1.0, "umol/L"),
        ("150000/uL", "PLT", 150.0, "/uL"),
    ],
)
def test_unit_written_into_the_result_cell_is_used_when_the_unit_cell_is_empty(cell, analyte, value, raw_unit):
    imp = labs(f"MRN,Collected,Test,Result,Units\nP1,2026-01-19,{analyte},{cell},\n")
    assert imp.problems.empty, imp.problems.to_dict("records")
    r = imp.results.iloc[0]
    assert (r["value"], r["raw_unit"], r["raw_value"]) == (pytest.approx(value), raw_unit, cell)


def test_text_after_a_number_that_is_not_a_unit_stays_a_reject():
    imp = labs("MRN,Collected,Test,Result\nP1,2026-01-19,K,4.1 apples\n")
    assert one(imp, "non-numeric result")["line"] == 2


@pytest.mark.parametrize(
    ("row", "kept"),
    [
        ("Hb,125,g/L,12.0-16.0", False),
        ("Hb,125,g/L,120-160", True),
        ("PLT,150,K/uL,150000-400000", False),
        ("Bili,12,umol/L,<21", True),
        ("Bili,12,umol/L,<1.2", False),
        ("ALT,30,U/L,<35", True),
        ("Creatinine,88,umol/L,45-90", True),
        ("Glucose,5.5,mmol/L,70-99", False),
    ],
)
def test_reference_range_on_another_scale_is_dropped_with_a_warning(row, kept):
    imp = labs(f"MRN,Collected,Test,Result,Units,Reference Range\nP1,2026-01-19,{row}\n")
    r = imp.results.iloc[0]
    assert (not np.isnan(r["ref_high"])) == kept
    assert imp.problems["reason"].tolist() == ([] if kept else ["reference range on another scale"])
