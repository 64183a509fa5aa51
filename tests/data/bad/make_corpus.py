"""Write the bad-input corpus (tests/data/bad/): synthetic files that break imports, and MANIFEST.csv.

Run `python tests/data/bad/make_corpus.py`; the output is the same byte for byte on every run
(tests/test_bad_corpus.py checks the committed files against a fresh generation). Every MRN and name
here is made up. The expected columns were set by hand from docs/import.md and checked against a run.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABS = "mrn,collected_at,analyte,value,unit\n"
PATIENTS = (
    "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg,schedule,combination,"
    "reproductive_potential,menses,dialysis\n"
)
EVENTS = "mrn,date,event,value,detail\n"
GOOD = "BC0001,2026-01-19 08:30,anc,1.2,10^9/L\nBC0001,2026-01-19 08:30,plt,150,10^9/L\n"
MANIFEST_COLUMNS = (
    "file",
    "kind",
    "trap",
    "exit",
    "rows",
    "landed",
    "rejected",
    "reasons",
    "warnings",
    "values",
    "refusal",
    "secrets",
)
# Warnings a file must raise (nothing silent), and the words the refusal of a refused file must hold.
WARNINGS = {
    "key_same_twice.csv": "conflicting result",
    "ctl_lookalike_mrn.csv": "look-alike MRN",
    "msg_labs_every_reason.csv": "unreadable reference range;reference range on another scale;assumed unit",
    "msg_events_every_reason.csv": "value ignored",
}
REFUSALS = {
    "header_two_result.csv": "more than one column named 'Result'",
    "header_two_mrn.csv": "more than one column named 'MRN'",
    "magic_gzip_junk.csv.gz": "compressed (gzip)",
    "magic_zip_junk.zip": "save it as CSV",
    "magic_xlsx_junk.xlsx": "Excel workbook",
    "magic_xls_junk.xls": "save it as CSV",
    "magic_pdf_junk.pdf": "PDF document",
}


def _patient(mrn: str, *, name: str = "Alex Example", sex: str = "M", dob: str = "1958-04-17", dose: str = "25") -> str:
    return f"{mrn},{name},{sex},{dob},82,MM,2026-03-09,{dose},21/28,dexamethasone,no,,no\n"


def _big_labs(target: int, *, boundary_char: str | None = None) -> bytes:
    """A long labs file of about `target` bytes; with `boundary_char`, that character straddles byte 65536."""
    out = bytearray(b"mrn,collected_at,analyte,value,unit,comment\n")
    i = 0
    while len(out) < target:
        row = f"BZ{i % 50:04d},2026-02-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d},anc,{1 + i % 9}.{i % 10},10^9/L,x\n"
        if boundary_char and len(out) + len(row) + 60 > 65536:
            head = row[:-2]  # the comment cell is padded so the character's bytes start at 65535
            filler = "y" * (65536 - len(out) - len(head) - 1)
            row = f"{head}{filler}{boundary_char}\n"
            assert len(out) + len(head) + len(filler) == 65535, "the character must straddle byte 65536"
            boundary_char = None
        out += row.encode()
        i += 1
    return bytes(out)


# (file, kind, trap, data, exit, rows, landed, rejected, reasons, values, secrets). rows: data rows read;
# landed: current results (labs), courses (patients) or events stored, -1 for every row of a big file;
# values: "MRN|analyte|value" results that must be current; secrets: cells no refusal may print.
class _Corpus(list):
    """The cases, in order: (file, kind, trap, bytes, exit, rows, landed, rejected, reasons, values, secrets)."""

    def add(
        self, name, kind, trap, data, *, exit=0, rows=None, landed=0, rejected=0, reasons="", values="", secrets=""
    ):
        raw = data if isinstance(data, bytes) else data.encode()
        rows = (landed + rejected) if rows is None else rows
        self.append((name, kind, trap, raw, exit, rows, landed, rejected, reasons, values, secrets))


def _encodings(add) -> None:
    """Every encoding, a character cut at 64 KiB, and a 70 KiB file."""
    add("enc_utf8.csv", "labs", "UTF-8 without BOM", LABS + GOOD, landed=2, values="BC0001|anc|1.2")
    add(
        "enc_utf8_bom.csv",
        "labs",
        "UTF-8 with BOM",
        ("\ufeff" + LABS + GOOD).encode(),
        landed=2,
        values="BC0001|plt|150",
    )
    cp = LABS + "BC0002,2026-01-19 08:30,creatinine,88.4,µmol/L\n"
    add("enc_cp1252.csv", "labs", "Windows-1252 µmol/L", cp.encode("cp1252"), landed=1, values="BC0002|creatinine|1")
    add("enc_utf16le_bom.csv", "labs", "UTF-16 LE with BOM", b"\xff\xfe" + (LABS + GOOD).encode("utf-16-le"), landed=2)
    add("enc_utf16be_bom.csv", "labs", "UTF-16 BE with BOM", b"\xfe\xff" + (LABS + GOOD).encode("utf-16-be"), landed=2)
    mixed = (
        (LABS + "BC0003,2026-01-19 08:30,creatinine,88.4,µmol/L\n").encode()
        + ("BC0003,2026-01-20 08:30,creatinine,97.2,µmol/L\n".encode("cp1252"))
        + "BC0003,2026-01-21 08:30,creatinine,106.1,µmol/L\n".encode()
    )
    add(
        "enc_utf8_one_cp1252_line.csv",
        "labs",
        "UTF-8 file with one Windows-1252 line",
        mixed,
        landed=3,
        values="BC0003|creatinine|1",
    )
    add(
        "enc_multibyte_at_64k.csv",
        "labs",
        "a 4-byte character straddling byte 65536",
        _big_labs(70_000, boundary_char="\U0001f9ea"),
        landed=-1,
    )
    add("size_70k.csv", "labs", "about 70 KiB of valid rows", _big_labs(71_000), landed=-1)


def _delimiters(add) -> None:
    """Every delimiter, decimal commas, a wide file."""
    add("delim_semicolon.csv", "labs", "semicolon", (LABS + GOOD).replace(",", ";"), landed=2)
    add("delim_tab.tsv", "labs", "tab", (LABS + GOOD).replace(",", "\t"), landed=2)
    add("delim_pipe.txt", "labs", "pipe", (LABS + GOOD).replace(",", "|"), landed=2)
    add(
        "delim_decimal_comma.csv",
        "labs",
        "semicolon with decimal commas",
        (
            "mrn;collected_at;analyte;value;unit\n"
            "BC0004;19.01.2026 08:30;anc;1,2;G/L\n"
            "BC0004;19.01.2026 08:30;hgb;12,5;g/dL\n"
        ),
        landed=2,
        values="BC0004|anc|1.2;BC0004|hgb|12.5",
    )
    wide = (
        "Patienten-ID;Name;Datum;Uhrzeit;Leukozyten (G/L);Hämoglobin (g/L);Thrombozyten (/nL)\n"
        "BC0005;Muster;19.01.2026;08:30;5,2;125;150\n"
        "BC0005;Muster;20.01.2026;08:30;;;\n"
    )
    add(
        "shape_wide_cp1252.csv",
        "labs",
        "wide German, cp1252, decimal commas, one empty draw",
        wide.encode("cp1252"),
        rows=2,
        landed=3,
        rejected=1,
        reasons="no result",
        values="BC0005|wbc|5.2;BC0005|hgb|12.5",
        secrets="Muster",
    )


def _shapes(add) -> None:
    """Header-only, empty, blank lines, ragged rows, quoted newlines, no header."""
    add("shape_header_only.csv", "labs", "header row only", LABS, landed=0)
    add("shape_empty.csv", "none", "zero bytes", b"", exit=2)
    add("shape_whitespace.csv", "none", "blank lines only", "\n\n  \n", exit=2)
    add("shape_blank_lines.csv", "labs", "blank lines between rows", LABS + "\n" + GOOD.replace("\n", "\n\n"), landed=2)
    add("shape_crlf.csv", "labs", "Windows line endings", (LABS + GOOD).replace("\n", "\r\n"), landed=2)
    add(
        "shape_ragged.csv",
        "labs",
        "a row with too many fields and one with too few",
        LABS + GOOD + "BC0006,2026-01-19 08:30,anc,1,5,10^9/L\nBC0006,2026-01-19 09:30,anc\n",
        landed=2,
        rejected=2,
        reasons="malformed row;no result",
    )
    add(
        "shape_quoted_newline.csv",
        "labs",
        "comment with an embedded newline",
        (
            "mrn,collected_at,analyte,value,unit,comment\n"
            'BC0007,2026-01-19 08:30,anc,1.2,10^9/L,"line one\n'
            'line two"\n'
            "BC0007,2026-01-19 08:30,plt,150,10^9/L,ok\n"
        ),
        landed=2,
    )
    add(
        "shape_no_header.csv",
        "none",
        "data without a header row",
        "BC0008,EXAMPLE SECRETNAME,2026-01-19,anc,1.2\n",
        exit=2,
        secrets="BC0008;SECRETNAME",
    )
    add("shape_unknown_columns.csv", "none", "a shopping list", "item,price\nbread,2\n", exit=2)


def _injection(add) -> None:
    """Formula and markup MRNs, names and cells."""
    inj = (
        LABS
        + (
            "=CMD(1),2026-01-19 08:30,anc,1.2,10^9/L\n"
            "+BC1,2026-01-19 08:30,anc,1.2,10^9/L\n"
            "-BC1,2026-01-19 08:30,anc,1.2,10^9/L\n"
            "@SUM(A1),2026-01-19 08:30,anc,1.2,10^9/L\n"
        )
        + GOOD
    )
    add("inj_mrn_formula.csv", "labs", "MRNs starting with = + - @", inj, landed=2, rejected=4, reasons="unsafe MRN")
    add(
        "inj_mrn_script.csv",
        "labs",
        "MRN holding <script>",
        LABS + "<script>alert(1)</script>,2026-01-19 08:30,anc,1.2,10^9/L\n" + GOOD,
        landed=2,
        rejected=1,
        reasons="unsafe MRN",
    )
    names = (
        "mrn,Patient Name,collected_at,analyte,value,unit\n"
        "BC0009,[click](http://canary.invalid/x),2026-01-19 08:30,anc,1.2,10^9/L\n"
        "BC0009,<img src=http://canary.invalid/y>,2026-01-19 08:30,plt,150,10^9/L\n"
    )
    add("inj_name_markdown_html.csv", "labs", "names with a Markdown link and HTML", names, landed=2)
    formula = (
        "mrn,collected_at,analyte,value,unit,comment\n"
        "BC0010,2026-01-19 08:30,anc,=1+1,10^9/L,ok\n"
        'BC0010,2026-01-19 08:30,plt,150,10^9/L,"=HYPERLINK(""http://canary.invalid"",""x"")"\n'
    )
    add(
        "inj_formula_cells.csv",
        "labs",
        "formula in a result and in a comment",
        formula,
        landed=1,
        rejected=1,
        reasons="non-numeric result",
        values="BC0010|plt|150",
    )
    events_inj = EVENTS + "BC0011,2026-03-09,thromboprophylaxis,=HYPERLINK(1),<b>x</b> [a](http://canary.invalid)\n"
    add("inj_events_detail.csv", "events", "formula agent and markup detail", events_inj, landed=1)


def _unsafe_mrns(add) -> None:
    """Formula and markup MRNs in every file kind and lab layout (issue 9, item 9)."""
    unsafe = ("=CMD(1)", "+BC1", "-BC1", "@SUM(A1)", "BC<1")
    add(
        "inj_mrn_patients.csv",
        "patients",
        "MRNs starting with = + - @ or holding < in a patients file",
        PATIENTS + "".join(_patient(m) for m in unsafe) + _patient("BC0041"),
        landed=1,
        rejected=5,
        reasons="unsafe MRN",
    )
    add(
        "inj_mrn_events.csv",
        "events",
        "MRNs starting with = + - @ or holding < in an events file",
        EVENTS + "".join(f"{m},2026-03-09,fever,38.7,\n" for m in (*unsafe, "BC0042")),
        landed=1,
        rejected=5,
        reasons="unsafe MRN",
    )
    add(
        "inj_mrn_wide.csv",
        "labs",
        "MRNs starting with = + - @ or holding < in a wide lab file",
        "Patient ID;Date;WBC (10^9/L);PLT (10^9/L)\n"
        + "".join(f"{m};19.01.2026;5,2;150\n" for m in (*unsafe, "BC0043")),
        rows=6,
        landed=2,
        rejected=5,
        reasons="unsafe MRN",
        values="BC0043|wbc|5.2",
    )
    add(
        "inj_mrn_semicolon.csv",
        "labs",
        "MRNs starting with = + - @ or holding < in a semicolon lab file",
        (LABS + "".join(f"{m},2026-01-19 08:30,anc,1.2,10^9/L\n" for m in (*unsafe, "BC0044"))).replace(",", ";"),
        landed=1,
        rejected=5,
        reasons="unsafe MRN",
    )


def _overlong(add) -> None:
    """Cells longer than the database stores."""
    add(
        "long_mrn.csv",
        "labs",
        "MRN of 65 characters",
        LABS + "M" * 65 + ",2026-01-19 08:30,anc,1.2,10^9/L\n" + GOOD,
        landed=2,
        rejected=1,
        reasons="text too long",
    )
    add(
        "long_name_patients.csv",
        "patients",
        "name of 201 characters",
        PATIENTS + _patient("BC0012", name="N" * 201) + _patient("BC0013"),
        landed=1,
        rejected=1,
        reasons="text too long",
    )
    add(
        "long_detail_events.csv",
        "events",
        "detail of 501 characters",
        EVENTS + "BC0014,2026-03-09,marrow_biopsy,," + "d" * 501 + "\nBC0014,2026-03-10,marrow_biopsy,,ok\n",
        landed=1,
        rejected=1,
        reasons="text too long",
    )
    add(
        "long_agent_events.csv",
        "events",
        "agent of 65 characters",
        EVENTS
        + "BC0015,2026-03-09,thromboprophylaxis,"
        + "a" * 65
        + ",x\nBC0015,2026-03-09,thromboprophylaxis,aspirin,x\n",
        landed=1,
        rejected=1,
        reasons="text too long",
    )


def _control(add) -> None:
    """NUL and control characters, look-alike MRNs."""
    add(
        "ctl_nul.csv",
        "labs",
        "NUL byte in an MRN",
        LABS + "BC\x000016,2026-01-19 08:30,anc,1.2,10^9/L\n" + GOOD,
        landed=2,
        rejected=1,
        reasons="control character",
    )
    add(
        "ctl_bell_escape.csv",
        "labs",
        "BEL and ESC in cells",
        LABS + "BC\x070017,2026-01-19 08:30,anc,1.2,10^9/L\nBC0017,2026-01-19 08:30,anc,1.2\x1b[31m,10^9/L\n" + GOOD,
        landed=2,
        rejected=2,
        reasons="control character",
    )
    add(
        "ctl_escape_patients.csv",
        "patients",
        "ESC in a sex, DEL in a dose, C1 in a schedule",
        PATIENTS
        + _patient("BC0036", sex="F\x1b")
        + _patient("BC0037", dose="2\x7f5")
        + _patient("BC0038").replace("21/28", "21/\x9b28")
        + _patient("BC0039"),
        landed=1,
        rejected=3,
        reasons="control character",
    )
    add(
        "ctl_escape_events.csv",
        "events",
        "ESC in a fever value and an event kind",
        EVENTS
        + "BC0040,2026-03-09,fever,38\x1b.7,\nBC0040,2026-03-10,fe\x1bver,38.7,\nBC0040,2026-03-11,fever,38.9,\n",
        landed=1,
        rejected=2,
        reasons="control character",
    )
    add(
        "ctl_lookalike_mrn.csv",
        "labs",
        "MRNs differing by case and a zero-width space",
        LABS
        + (
            "bc0018,2026-01-19 08:30,anc,1.2,10^9/L\n"
            "BC0018,2026-01-19 08:30,anc,1.3,10^9/L\n"
            "BC\u200b0018,2026-01-19 08:30,anc,1.4,10^9/L\n"
        ),
        landed=3,
    )


def _dates(add) -> None:
    """Implausible dates and time-zone offsets."""
    add(
        "date_year_0001.csv",
        "labs",
        "collected 0001-01-01",
        LABS + "BC0019,0001-01-01 08:30,anc,1.2,10^9/L\n" + GOOD,
        landed=2,
        rejected=1,
        reasons="implausible date",
    )
    add(
        "date_1989_next_year.csv",
        "labs",
        "collected in 1989 and next year",
        LABS + "BC0020,1989-12-31 08:30,anc,1.2,10^9/L\nBC0020,2027-12-31 08:30,anc,1.2,10^9/L\n" + GOOD,
        landed=2,
        rejected=2,
        reasons="implausible date",
    )
    tz = LABS + "BC0021,2026-01-19T08:30:00+10:00,anc,1.2,10^9/L\nBC0021,2026-01-19T08:30:00-04:00,anc,1.9,10^9/L\n"
    add(
        "date_tz_offsets.csv",
        "labs",
        "same clock time, offsets 14 h apart",
        tz,
        landed=2,
        values="BC0021|anc|1.2;BC0021|anc|1.9",
    )
    add(
        "date_dob_0058.csv",
        "patients",
        "birth date 0058-03-02",
        PATIENTS + _patient("BC0022", dob="0058-03-02") + _patient("BC0023"),
        landed=1,
        rejected=1,
        reasons="implausible date",
    )
    add(
        "date_dob_1900.csv",
        "patients",
        "placeholder birth date 1900-01-01",
        PATIENTS + _patient("BC0024", dob="1900-01-01") + _patient("BC0025"),
        landed=1,
        rejected=1,
        reasons="implausible date",
    )


def _keys_and_headers(add) -> None:
    """The same key twice, repeated header columns."""
    add(
        "key_same_twice.csv",
        "labs",
        "one key, two values",
        LABS + "BC0026,2026-01-19 08:30,anc,1.2,10^9/L\nBC0026,2026-01-19 08:30,anc,2.4,10^9/L\n",
        rows=2,
        landed=1,
        values="BC0026|anc|2.4",
    )
    add(
        "header_two_result.csv",
        "none",
        "two Result columns",
        "MRN,Collected,Component,Result,Result,Units\nBC0027,2026-01-19 08:30,ANC,1.2,9.9,K/uL\n",
        exit=2,
        secrets="BC0027",
    )
    add(
        "header_two_mrn.csv",
        "none",
        "two MRN columns",
        "MRN,MRN,Collected,Component,Result,Units\nBC0028,BC0029,2026-01-19 08:30,ANC,1.2,K/uL\n",
        exit=2,
        secrets="BC0028;BC0029",
    )


def _not_text(add) -> None:
    """Gzip, zip, xlsx, xls and PDF bytes."""
    add("magic_gzip_junk.csv.gz", "none", "gzip magic and junk", b"\x1f\x8b\x08\x00" + b"junk" * 8, exit=2)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write((LABS + GOOD).encode())
    add("magic_gzip_valid.csv.gz", "labs", "a valid gzip CSV", buf.getvalue(), landed=2)
    add("magic_zip_junk.zip", "none", "zip magic and junk", b"PK\x03\x04" + b"junk" * 8, exit=2)
    add(
        "magic_xlsx_junk.xlsx",
        "none",
        "xlsx (zip) magic and junk",
        b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00junk",
        exit=2,
    )
    add(
        "magic_xls_junk.xls",
        "none",
        "xls (OLE) magic and junk",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"junk" * 8,
        exit=2,
    )
    add("magic_pdf_junk.pdf", "none", "PDF magic and junk", b"%PDF-1.7\n" + b"junk BC0030\n", exit=2, secrets="BC0030")


def _bad_rows(add) -> None:
    """Patients and events files with bad rows."""
    bad_patients = PATIENTS + _patient("BC0031", sex="X") + _patient("BC0032", dose="7") + _patient("BC0033")
    add(
        "patients_bad_rows.csv",
        "patients",
        "invalid sex, invalid dose, one good",
        bad_patients,
        landed=1,
        rejected=2,
        reasons="invalid sex;invalid dose",
    )
    ev = EVENTS + (
        "BC0034,2026-03-09,fever,38.7 °C,\n"
        "BC0034,2026-03-10,fever,500 F,\n"
        "BC0034,2026-03-11,teleportation,,\n"
        "BC0034,2026-03-12,toxicity,grade 9,\n"
    )
    add(
        "events_bad_rows.csv",
        "events",
        "fever 38.7 °C valid, 500 F invalid, unknown event, grade 9",
        ev,
        landed=1,
        rejected=3,
        reasons="invalid value;unknown event",
    )
    add(
        "events_cp1252.csv",
        "events",
        "events in Windows-1252 with °F",
        (EVENTS + "BC0035,2026-03-09,fever,101.3 °F,\n").encode("cp1252"),
        landed=1,
    )


def _every_message(add) -> None:
    """One row per problem message, each cell a distinctive made-up word, so a message that quotes its cell shows."""
    labs = (
        "mrn,collected_at,analyte,value,unit,reference_range,status\n"
        "BC0045,2026-01-19 08:30,MCV,91,fL,,final\n"
        "BC0045,2026-01-19 08:30,Neutrophils %,61,%,,final\n"
        "BC0045,2026-01-19 08:30,anc,1.7,furlongs,,final\n"
        "BC0045,2026-01-19 08:30,hgb,125,g/dL,,final\n"
        "BC0045,2026-01-19 08:30,plt,see Dr Quillfeather,10^9/L,,final\n"
        "BC0045,2026-01-19 08:30,wbc,5.3,10^9/L,,cancelled\n"
        "BC0045,sometime Tuesday,wbc,5.4,10^9/L,,final\n"
        "BC0045,2026-01-20 08:30,wbc,5.5,10^9/L,abc to xyz,final\n"
        "BC0045,2026-01-20 08:30,hgb,12.5,g/dL,120-160,final\n"
        "BC0045,2026-01-20 08:30,creatinine,0.97,,,final\n"
        "BC0045,2026-01-21 08:30,plt,212,10^9/L,,final\n"
    )
    add(
        "msg_labs_every_reason.csv",
        "labs",
        "one lab row per problem message, each with a distinctive cell",
        labs,
        rows=11,
        landed=4,
        rejected=7,
        reasons="unknown analyte;percentage, not a count;unknown unit;implausible value;non-numeric result;"
        "no result;unreadable date",
        values="BC0045|plt|212",
    )
    good = _patient("BC0046", sex="F").replace(",no,,no", ",no,regular,no")
    bad = (
        good.replace(",F,", ",Quasar,"),
        good.replace(",82,", ",heavyish,"),
        good.replace(",MM,", ",Flugrippe,"),
        good.replace(",25,", ",7.77,"),
        good.replace(",21/28,", ",fortnightly,"),
        good.replace(",no,regular,", ",perhapsly,regular,"),
        good.replace(",regular,", ",moonphase,"),
        good.replace("1958-04-17", "Candlemas"),
        good.replace("2026-03-09", "Michaelmas"),
    )
    add(
        "msg_patients_every_reason.csv",
        "patients",
        "one patients row per problem message, each with a distinctive cell",
        PATIENTS + "".join(row.replace("BC0046", f"BC{47 + i:04d}") for i, row in enumerate(bad)) + good,
        landed=1,
        rejected=9,
        reasons="invalid sex;invalid weight;unknown indication;invalid dose;invalid schedule;invalid value;"
        "unreadable date",
    )
    events = EVENTS + (
        "BC0056,2026-03-09,fever,toasty,\n"
        "BC0056,2026-03-09,toxicity,dreadful,\n"
        "BC0056,2026-03-09,pregnancy_test,murky,\n"
        "BC0056,2026-03-09,dose_change,plenty,\n"
        "BC0056,2026-03-09,thromboprophylaxis,,\n"
        "BC0056,2026-03-09,levitation,,\n"
        "BC0056,Lammas,fever,38.7,\n"
        "BC0056,2026-03-10,marrow_biopsy_planned,soonish,\n"
        "BC0056,2026-03-11,fever,38.9,\n"
    )
    add(
        "msg_events_every_reason.csv",
        "events",
        "one events row per problem message, each with a distinctive cell",
        events,
        landed=2,
        rejected=7,
        reasons="invalid value;unknown event;unreadable date",
    )


def cases() -> list[tuple]:
    """Every case of the corpus, group by group."""
    corpus = _Corpus()
    for group in (
        _encodings,
        _delimiters,
        _shapes,
        _injection,
        _unsafe_mrns,
        _overlong,
        _control,
        _dates,
        _keys_and_headers,
        _not_text,
        _bad_rows,
        _every_message,
    ):
        group(corpus.add)
    return corpus


def write(folder: Path = HERE) -> None:
    """Write every corpus file and MANIFEST.csv into `folder` (other files there are removed first)."""
    for old in folder.iterdir():
        if old.is_file() and old.name != "make_corpus.py":
            old.unlink()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for name, kind, trap, data, exit_status, rows, landed, rejected, reasons, values, secrets in cases():
        (folder / name).write_bytes(data)
        if landed == -1:  # a generated big file: every data row lands
            rows = landed = data.count(b"\n") - 1
        warnings, refusal = WARNINGS.get(name, ""), REFUSALS.get(name, "")
        writer.writerow(
            (name, kind, trap, exit_status, rows, landed, rejected, reasons, warnings, values, refusal, secrets)
        )
    (folder / "MANIFEST.csv").write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    write()
