"""HL7 v2 ORU^R01 files: every field of docs/import.md "HL7 v2", problems by segment, corrections,
cancellations and preliminary results through the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lenadash import cli, imports, ingest, store
from lenadash.ingest.hl7v2 import read_hl7

DATA = Path(__file__).parent / "data" / "feeds"
MSH = "MSH|^~\\&|LAB|GENERAL HOSPITAL|LENADASH|HEME CLINIC|{sent}||ORU^R01^ORU_R01|{control}|P|2.5.1"
PID = "PID|1||{mrn}^^^GH^MR||TESTCASE^ROBIN||19600101|F"


def oru(*obx: str, mrn: str = "LD0101", when: str = "202603031029", control: str = "MSG1", end: str = "\r") -> str:
    """One ORU^R01 message: MSH, PID, OBR (OBR-7 = `when`) and the OBX segments given."""
    segments = [
        MSH.format(sent="202603031200", control=control),
        PID.format(mrn=mrn),
        f"OBR|1|ORD1|ACC1|58410-2^CBC panel - Blood by Automated count^LN|||{when}",
        *obx,
    ]
    return end.join(segments) + end


def obx(n: int, test: str, value: str, unit: str = "10*3/uL", status: str = "F", kind: str = "NM", **extra) -> str:
    ref, flag, when = extra.get("ref", ""), extra.get("flag", ""), extra.get("when", "")
    return f"OBX|{n}|{kind}|{test}||{value}|{unit}|{ref}|{flag}|||{status}|||{when}"


ANC = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
PLT = "777-3^Platelets [#/volume] in Blood by Automated count^LN"


def test_the_fixture_reads_field_by_field():
    read = read_hl7((DATA / "oru_r01_cbc.hl7").read_bytes(), file_name="oru.hl7")
    r = read.results.set_index("analyte")
    assert list(r["mrn"].unique()) == ["LD0001"]  # PID-3 repetition typed MR, not the SSN before it
    assert r.loc["wbc", "collected_at"] == pd.Timestamp("2026-03-03 10:29")
    assert (r.loc["anc", "value"], r.loc["anc", "unit"], r.loc["anc", "raw_unit"]) == (0.82, "10^9/L", "10*3/uL")
    assert (r.loc["anc", "loinc"], r.loc["anc", "flag"], r.loc["anc", "ref_low"]) == ("751-8", "L", 1.8)
    assert (r.loc["bilirubin", "comparator"], r.loc["bilirubin", "raw_value"]) == ("<", "<0.2")  # SN <^0.2
    assert r.loc["potassium", "status"] == "corrected"  # OBX-11 C
    assert (r.loc["plt", "status"], r.loc["plt", "raw_name"]) == ("preliminary", "PLATELET COUNT")  # local code
    assert read.shape == "hl7" and read.rows_read == 7 and read.column_map["OBX-5"] == "value"
    problems = read.problems.set_index("line")
    # the line is the segment's position in the file; the column its field
    assert problems.loc[7, ["column", "reason"]].tolist() == ["OBX-5", "no result"]  # X with no value
    assert problems.loc[8, ["column", "value", "reason"]].tolist() == ["OBX-5", "see note", "non-numeric result"]


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"])
def test_segment_ends_are_read_alike(end):
    text = oru(obx(1, ANC, "0.82"), obx(2, PLT, "26", ref="150-400", flag="LL"), end=end)
    read = read_hl7(text.encode())
    assert read.results["value"].tolist() == [0.82, 26.0] and read.results["line"].tolist() == [4, 5]
    assert read.results["flag"].tolist()[1] == "LL" and read.results["ref_high"].tolist()[1] == 400.0


def test_obx14_wins_over_obr7_and_offsets_go_to_the_clinic_zone(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "Europe/Berlin")
    text = oru(obx(1, ANC, "1.2", when="202601190730+0000"), obx(2, PLT, "120"), when="20260119")
    times = read_hl7(text.encode()).results["collected_at"].tolist()
    assert times == [pd.Timestamp("2026-01-19 08:30"), pd.Timestamp("2026-01-19 00:00")]


def test_batches_and_several_messages_and_patients():
    text = "FHS|^~\\&|LAB\rBHS|^~\\&|LAB\r"
    text += oru(obx(1, ANC, "0.9"), mrn="LD0101") + oru(obx(1, ANC, "2.4"), mrn="LD0102", control="MSG2")
    text += "BTS|2\rFTS|1\r"
    read = read_hl7(text.encode())
    assert read.results[["mrn", "value"]].values.tolist() == [["LD0101", 0.9], ["LD0102", 2.4]]
    assert read.problems.empty and read.rows_read == 2


def test_encoding_characters_come_from_msh_and_escapes_are_resolved():
    """MSH-2 `$~\\&`: `$` separates components; `\\T\\` is the subcomponent character `&`."""
    text = (
        "MSH|$~\\&|LAB|GH|LENADASH|CLINIC|202603031200||ORU$R01$ORU_R01|M9|P|2.5.1\r"
        "PID|1||LD0103$$$GH$MR\r"
        "OBR|1||A1|58410-2$CBC$LN|||202603031029\r"
        "OBX|1|SN|751-8$Neutrophils$LN||<$0.5|10*3/uL|||||F\r"
        "OBX|2|ST|777-3$Platelets$LN||clumped \\T\\ see smear|10*3/uL|||||F\r"
    )
    read = read_hl7(text.encode())
    assert read.results[["mrn", "analyte", "comparator", "value"]].values.tolist() == [["LD0103", "anc", "<", 0.5]]
    assert read.problems["value"].tolist() == ["clumped & see smear"]


def test_other_messages_and_stray_segments_are_reported():
    adt = "MSH|^~\\&|ADT|GH|LENADASH|CLINIC|202603031200||ADT^A01|A1|P|2.5.1\rPID|1||LD0104^^^GH^MR\r"
    text = "OBX|1|NM|751-8^ANC^LN||1.0|10*3/uL\r" + adt + oru(obx(1, ANC, "1.5"))
    read = read_hl7(text.encode(), file_name="mixed.hl7")
    by_reason = read.problems.set_index("reason")
    assert (
        by_reason.loc["unreadable message", "line"] == 1 and by_reason.loc["unreadable message", "severity"] == "error"
    )
    assert by_reason.loc["not a result message", ["line", "value", "severity"]].tolist() == [2, "ADT^A01", "warning"]
    assert read.results["value"].tolist() == [1.5]


def test_units_plausibility_and_unknown_tests_as_for_a_csv():
    text = oru(
        obx(1, "718-7^Hemoglobin^LN", "125", unit="g/L"),  # converted to 12.5 g/dL
        obx(2, PLT, "150000", unit=""),  # per uL without a unit: implausible
        obx(3, "2132-9^Vitamin B12^LN", "412", unit="pg/mL"),
        obx(4, "HGB^HEMOGLOBIN^99LAB", "12.5", unit="g/dL", when="202603041000"),  # name via the synonym table
    )
    read = read_hl7(text.encode())
    assert read.results[["analyte", "value", "raw_value", "raw_unit"]].values.tolist() == [
        ["hgb", 12.5, "125", "g/L"],
        ["hgb", 12.5, "12.5", "g/dL"],
    ]
    assert dict(zip(read.problems["line"], read.problems["reason"])) == {5: "implausible value", 6: "unknown analyte"}


# --- content, not names --------------------------------------------------------------------------------


def test_kind_and_format_come_from_the_content_not_the_name():
    data = oru(obx(1, ANC, "0.82")).encode()
    assert ingest.lab_format(data) == "hl7" and ingest.detect_kind(data) == "labs"
    prepared = imports.read_upload("results.csv", data)  # a misleading name
    assert prepared.kind == "labs" and prepared.parsed.shape == "hl7" and len(prepared.rows) == 1


# --- the store: re-import, corrections, cancellations, preliminary -----------------------------------


def _import(session, name: str, text: str) -> store.ImportSummary:
    return imports.import_file(session=session, file_name=name, data=text.encode())


def _current(session) -> list:
    labs = store.load_labs(session=session)
    return labs[["analyte", "value", "status"]].values.tolist()


def test_reimport_correction_cancellation_and_preliminary(db_url):
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as s:
            first = _import(s, "a.hl7", oru(obx(1, ANC, "0.82"), obx(2, PLT, "148", status="P")))
            assert (first.rows_imported, first.rows_superseding) == (2, 0)
            assert _import(s, "a.hl7", oru(obx(1, ANC, "0.82"), obx(2, PLT, "148", status="P"))).already_imported
            # the final platelet count with the same value replaces the preliminary one
            final = _import(s, "b.hl7", oru(obx(1, PLT, "148"), control="M2"))
            assert (final.rows_imported, final.rows_superseding, final.rows_unchanged) == (0, 1, 0)
            assert _current(s) == [["anc", 0.82, "final"], ["plt", 148.0, "final"]]
            # a corrected ANC supersedes; the earlier value stays as history
            corrected = _import(s, "c.hl7", oru(obx(1, ANC, "1.02", status="C"), control="M3"))
            assert corrected.rows_superseding == 1
            assert _current(s) == [["anc", 1.02, "corrected"], ["plt", 148.0, "final"]]
            # a cancelled (X) or deleted (D) result is reported and never stored
            cancelled = _import(s, "d.hl7", oru(obx(1, ANC, "", status="X"), obx(2, PLT, "150", status="D")))
            assert cancelled.rows_imported == cancelled.rows_superseding == 0 and cancelled.rows_rejected == 2
            assert {r["reason"] for r in cancelled.rejects} == {"no result"}
            assert _current(s) == [["anc", 1.02, "corrected"], ["plt", 148.0, "final"]]
            history = pd.read_sql("SELECT value, superseded_by_id FROM lab_result ORDER BY id", s.connection())
            assert len(history) == 4 and history["superseded_by_id"].notna().sum() == 2
    finally:
        engine.dispose()


def test_preliminary_then_final_of_another_value_in_one_file(db_url):
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as s:
            text = oru(obx(1, PLT, "40", status="P")) + oru(obx(1, PLT, "28"), control="M2")
            assert read_hl7(text.encode()).warnings.empty  # no "conflicting result": the final replaces it
            summary = _import(s, "p.hl7", text)
            assert (summary.rows_imported, summary.rows_superseding) == (1, 1)
            assert _current(s) == [["plt", 28.0, "final"]]
    finally:
        engine.dispose()


# --- the command line ------------------------------------------------------------------------------------


def test_cli_imports_and_assesses_hl7(tmp_path, capsys, sample_dir):
    hl7_file = tmp_path / "labs.txt"  # the extension says nothing
    hl7_file.write_text(oru(obx(1, ANC, "0.82"), obx(2, PLT, "148")))
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert cli.main(["import", "--db", url, str(hl7_file)]) == 0
    out = capsys.readouterr().out
    assert "labs.txt (labs): 2 rows read, 2 new" in out
    code = cli.main(
        ["assess", "--patients", str(sample_dir / "patients.csv"), "--labs", str(hl7_file), "--as-of", "2026-11-20"]
    )
    assert code == 0 and '"rows_rejected": 0' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"MSH|^~\\&|LAB|GH", "hl7"),
        (b"\xef\xbb\xbf\r\nBHS|^~\\&|LAB", "hl7"),
        (b"FHS|^~\\&|LAB", "hl7"),
        (b"MSH_ID,Date,Component,Result\n1,2026-01-19,WBC,5.2\n", "csv"),  # a CSV column named like a segment
        (b"MSH,Date,Component,Result\n", "csv"),
        (b"MRN,Collection Date,Component,Result\n", "csv"),
    ],
)
def test_hl7_is_told_by_its_first_segment_and_encoding_characters(head, expected):
    assert ingest.lab_format(head) == expected


def test_a_pid3_without_components_or_without_an_identifier():
    text = oru(obx(1, ANC, "0.82")).replace("PID|1||LD0101^^^GH^MR||", "PID|1||LD0101||")
    assert read_hl7(text.encode()).results["mrn"].tolist() == ["LD0101"]
    read = read_hl7(oru(obx(1, ANC, "0.82")).replace("LD0101^^^GH^MR", "").encode())
    assert read.problems[["line", "column", "reason"]].values.tolist() == [[4, "PID-3", "missing patient"]]
