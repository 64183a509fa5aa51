"""Control characters (C0 but tab, DEL, C1) in any cell are named as such, per column, before any parse of the
cell: a result `1.2<ESC>[31m` is a control character, not a non-numeric result, and a sex `F<ESC>` is not an
invalid sex. Unsafe MRNs (=, +, -, @ at the start, or <) are refused per row in every file kind and format."""

from __future__ import annotations

import pytest

from lenadash import ingest

# (NEL, U+0085, is a C1 character Python also counts as white space: stripped at a cell's ends, like a space)
CONTROLS = {"NUL": "\x00", "BEL": "\x07", "ESC": "\x1b", "DEL": "\x7f", "C1 PAD": "\x80", "C1 CSI": "\x9b"}

LAB_HEADER = "mrn,collected_at,analyte,value,unit,flag,status,reference_range"
LAB_ROW = "BC0001,2026-01-19 08:30,anc,1.2,10^9/L,L,final,1.5-7.0"
PATIENT_HEADER = (
    "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg,schedule,combination,"
    "reproductive_potential,menses,dialysis"
)
PATIENT_ROW = "BC0001,Alex Example,F,1958-04-17,82,MM,2026-03-09,25,21/28,dexamethasone,yes,regular,no"
EVENT_HEADER = "mrn,date,event,value,detail"
EVENT_ROWS = (
    "BC0001,2026-03-09,fever,38.7,at home",
    "BC0001,2026-03-09,toxicity,3,rash",
    "BC0001,2026-03-09,dose_change,15,",
    "BC0001,2026-03-09,pregnancy_test,negative,",
    "BC0001,2026-03-09,thromboprophylaxis,aspirin,",
)


def _with_control(header: str, row: str, column: int, char: str) -> bytes:
    cells = row.split(",")
    cells[column] = cells[column][:1] + char + cells[column][1:]  # inside the cell: survives stripping
    return f"{header}\n{','.join(cells)}\n".encode()


def _only_control_character(imp, column: str) -> None:
    problems = imp.problems
    assert problems[["line", "column", "reason"]].values.tolist() == [[2, column, "control character"]]
    assert "control character" in problems["message"].iloc[0]


@pytest.mark.parametrize("name, char", CONTROLS.items(), ids=list(CONTROLS))
@pytest.mark.parametrize("column", range(len(LAB_ROW.split(","))), ids=LAB_HEADER.split(","))
def test_lab_cell_with_a_control_character_is_named_so(column, name, char):
    imp = ingest.read_labs(_with_control(LAB_HEADER, LAB_ROW, column, char), file_name="x.csv")
    assert len(imp.results) == 0
    _only_control_character(imp, LAB_HEADER.split(",")[column])


@pytest.mark.parametrize("name, char", CONTROLS.items(), ids=list(CONTROLS))
def test_wide_lab_result_with_a_control_character_is_named_so(name, char):
    data = f"MRN,Date,WBC (10^9/L),PLT (10^9/L)\nBC0001,2026-01-19,5{char}.2,150\n".encode()
    imp = ingest.read_labs(data, file_name="wide.csv")
    assert imp.results["analyte"].tolist() == ["plt"]
    assert imp.problems[["column", "reason"]].values.tolist() == [["WBC (10^9/L)", "control character"]]


@pytest.mark.parametrize("name, char", CONTROLS.items(), ids=list(CONTROLS))
@pytest.mark.parametrize("column", range(len(PATIENT_ROW.split(","))), ids=PATIENT_HEADER.split(","))
def test_patients_cell_with_a_control_character_is_named_so(column, name, char):
    imp = ingest.read_patients(_with_control(PATIENT_HEADER, PATIENT_ROW, column, char), file_name="p.csv")
    assert len(imp.rows) == 0
    _only_control_character(imp, PATIENT_HEADER.split(",")[column])


@pytest.mark.parametrize("name, char", CONTROLS.items(), ids=list(CONTROLS))
@pytest.mark.parametrize("row", EVENT_ROWS, ids=[r.split(",")[2] for r in EVENT_ROWS])
@pytest.mark.parametrize("column", range(5), ids=EVENT_HEADER.split(","))
def test_events_cell_with_a_control_character_is_named_so(column, row, name, char):
    if not row.split(",")[column]:
        pytest.skip("an empty cell holds no character")  # the blank detail of a dose change
    imp = ingest.read_events(_with_control(EVENT_HEADER, row, column, char), file_name="e.csv")
    assert len(imp.rows) == 0
    _only_control_character(imp, EVENT_HEADER.split(",")[column])


def test_tab_inside_a_cell_is_not_a_control_character_and_line_breaks_only_in_free_text():
    tabbed = LAB_ROW.replace("final", "fi\tnal")
    lab = ingest.read_labs(f"{LAB_HEADER}\n{tabbed}\n".encode(), file_name="t.csv")
    assert len(lab.results) == 1 and "control character" not in set(lab.problems["reason"])
    note = PATIENT_ROW.replace("Alex Example", '"Alex\nExample"')
    patients = ingest.read_patients(f"{PATIENT_HEADER}\n{note}\n".encode(), file_name="p.csv")
    assert len(patients.rows) == 1
    broken_dose = PATIENT_ROW.replace(",25,", ',"2\n5",')
    refused = ingest.read_patients(f"{PATIENT_HEADER}\n{broken_dose}\n".encode(), file_name="p.csv")
    assert refused.problems[["column", "reason"]].values.tolist() == [["starting_dose_mg", "control character"]]


# --- unsafe MRNs, every kind and format ---------------------------------------------------------------

UNSAFE = ["=CMD(1)", "+BC1", "-BC1", "@SUM(A1)", "BC<1", "<script>x"]


def _reasons_by_line(imp) -> dict[int, str]:
    return dict(zip(imp.problems["line"], imp.problems["reason"]))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_unsafe_mrns_refused_per_row_in_long_labs(delimiter):
    body = "".join(f"{m},2026-01-19 08:30,anc,1.2,10^9/L\n" for m in [*UNSAFE, "BC0001"])
    data = ("mrn,collected_at,analyte,value,unit\n" + body).replace(",", delimiter).encode()
    imp = ingest.read_labs(data, file_name="x.csv")
    assert imp.results["mrn"].tolist() == ["BC0001"]
    assert _reasons_by_line(imp) == {line: "unsafe MRN" for line in range(2, 2 + len(UNSAFE))}
    assert all(imp.problems["hint"])
    # the message names the character (never the MRN): "starts with '='", "holds '<'"
    named = ["starts with '='", "starts with '+'", "starts with '-'", "starts with '@'", "holds '<'", "holds '<'"]
    assert [n in m for n, m in zip(named, imp.problems["message"])] == [True] * len(UNSAFE)
    assert not any(m in message for m in UNSAFE for message in imp.problems["message"])


def test_unsafe_mrns_refused_per_row_in_wide_labs():
    body = "".join(f"{m},2026-01-19,5.2,150\n" for m in [*UNSAFE, "BC0001"])
    imp = ingest.read_labs(("Patient ID,Date,WBC (10^9/L),PLT (10^9/L)\n" + body).encode(), file_name="w.csv")
    assert set(imp.results["mrn"]) == {"BC0001"}
    assert set(_reasons_by_line(imp).items()) == {(line, "unsafe MRN") for line in range(2, 2 + len(UNSAFE))}


def test_unsafe_mrns_refused_per_row_in_patients_and_events():
    patients = PATIENT_HEADER + "\n" + "".join(PATIENT_ROW.replace("BC0001", m) + "\n" for m in [*UNSAFE, "BC0001"])
    imp = ingest.read_patients(patients.encode(), file_name="p.csv")
    assert imp.rows["mrn"].tolist() == ["BC0001"]
    assert _reasons_by_line(imp) == {line: "unsafe MRN" for line in range(2, 2 + len(UNSAFE))}
    events = EVENT_HEADER + "\n" + "".join(EVENT_ROWS[0].replace("BC0001", m) + "\n" for m in [*UNSAFE, "BC0001"])
    imp = ingest.read_events(events.encode(), file_name="e.csv")
    assert imp.rows["mrn"].tolist() == ["BC0001"]
    assert _reasons_by_line(imp) == {line: "unsafe MRN" for line in range(2, 2 + len(UNSAFE))}
    assert not any(m in message for m in UNSAFE for message in imp.problems["message"])
