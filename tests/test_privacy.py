"""Privacy at the edges: private files on disk, CSV exports that no spreadsheet runs, text shown as text."""

from __future__ import annotations

import os
import stat

import pytest

from lenadash import imports, store


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The common default umask (022), under which a plain mkdir/open gives 0755 and 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_fresh_data_folder_and_database_files_are_private(tmp_path, open_umask):
    data_dir = tmp_path / "new" / "lenadash"
    engine = store.make_engine(f"sqlite:///{data_dir / 'lenadash.sqlite'}")
    with engine.connect() as connection:  # the WAL and shared-memory files exist while a connection is open
        assert _mode(data_dir) == 0o700
        for name in ("lenadash.sqlite", "lenadash.sqlite-wal", "lenadash.sqlite-shm"):
            assert (data_dir / name).exists(), name
            assert _mode(data_dir / name) == 0o600, name
        connection.close()
    engine.dispose()


def test_demo_database_is_private(tmp_path, open_umask):
    data_dir = tmp_path / "fresh"
    imports.load_demo(url=f"sqlite:///{data_dir / 'demo.sqlite'}")
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "demo.sqlite") == 0o600


# --- CSV exports: formula cells guarded (OWASP CSV injection) --------------------------------------

FORMULAS = [
    '=HYPERLINK("https://example.invalid/?x","open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_cell_is_prefixed_with_an_apostrophe(text):
    from lenadash.vocab import csvsafe

    assert csvsafe.cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-2.5", "+3", "-1e-3", ".5", "LD0001", "", "a=b", "x-1", -2.5, 3, None])
def test_plain_numbers_and_ordinary_text_stay_as_they_are(value):
    from lenadash.vocab import csvsafe

    assert csvsafe.cell(value) == value


def test_to_csv_guards_cells_and_headers_and_keeps_numbers():
    import csv
    import io

    import pandas as pd

    from lenadash.vocab import csvsafe

    df = pd.DataFrame({"MRN": ["=1+1", "LD1"], "=bad header": ["@x", "-4"], "value": [-1.5, 2.0]})
    rows = list(csv.reader(io.StringIO(csvsafe.to_csv(df))))
    assert rows == [["MRN", "'=bad header", "value"], ["'=1+1", "'@x", "-1.5"], ["LD1", "-4", "2.0"]]


def test_assessment_csv_guards_the_mrn_and_every_text_cell():
    import csv
    import io

    from lenadash.clinical import assess

    result = {
        "patients": [
            {
                "mrn": '=HYPERLINK("https://example.invalid","x")',
                "draws": [
                    {"date": "2026-01-02", "action": "@continue", "dose_mg": -2.5, "reasons": ["-bad"], "rules": []}
                ],
            }
        ]
    }
    row = next(csv.DictReader(io.StringIO(assess.assessment_csv(result))))
    assert row["mrn"] == "'" + result["patients"][0]["mrn"]
    assert row["action"] == "'@continue" and row["reasons"] == "'-bad"
    assert row["dose_mg"] == "-2.5"  # a number stays a number


def test_cli_assess_csv_writes_no_formula_cell(capsys, tmp_path, monkeypatch):
    """Through the CLI with an export whose MRN is a formula: no cell of the CSV starts one."""
    import csv
    import io

    from lenadash import cli

    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    mrn = '=HYPERLINK("https://example.invalid/a","open")'
    quoted = '"' + mrn.replace('"', '""') + '"'
    (tmp_path / "labs.csv").write_text(
        "MRN,Collection Date/Time,Component,Result,Units\n"
        f"{quoted},03/03/2026 10:29,WBC,5.2,K/uL\n{quoted},03/03/2026 10:29,PLATELETS,150,K/uL\n"
    )
    (tmp_path / "patients.csv").write_text(
        "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"
        f"{quoted},Alex Example,M,1958-04-17,82,MM,2026-03-04,25\n"
    )
    argv = ["assess", "--patients", str(tmp_path / "patients.csv"), "--labs", str(tmp_path / "labs.csv")]
    code = cli.main([*argv, "--as-of", "2026-03-10", "--format", "csv"])
    out = capsys.readouterr().out
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert not [c for row in rows for c in row if c.startswith(("=", "+", "@", "\t", "\r"))]
    assert all(row[0] == "'" + mrn for row in rows[1:])  # an MRN ingest accepts is kept, as text


def test_worklist_download_guards_formula_cells():
    import pandas as pd

    from lenadash.dashboard import worklist

    wl = worklist.worklist({"patients": [{"mrn": "=1+2", "draws": []}]}, pd.DataFrame())
    text = worklist.worklist_csv(wl)
    assert "'=1+2" in text and "\n=1+2" not in text and ",=1+2" not in text


def test_streamlit_config_keeps_the_privacy_settings():
    """The table toolbars' unguarded CSV download is off (the worklist has a guarded button); the
    allowed hosts are loopback only; XSRF and CORS protection stay on."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    assert set(config["server"]["allowedHosts"]) == {"127.0.0.1", "localhost"}
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    assert config["browser"]["gatherUsageStats"] is False


# --- data-borne text in Markdown elements ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[x](https://example.invalid/a.png)", "\\[x\\](https:\u2060//example.invalid/a.png)"),
        ("![i](x.png) **bold** <img src=x>", r"!\[i\](x.png) \*\*bold\*\* \<img src=x>"),
        ("_em_ ~~gone~~ `code` a|b $x$ &amp;", r"\_em\_ \~\~gone\~\~ \`code\` a\|b \$x\$ \&amp;"),
        (":red[alarm] www.example.invalid a@b.invalid", ":red\\[alarm\\] www\u2060.example.invalid a\u2060@b.invalid"),
        ("line one\n# heading", "line one # heading"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("> quote", r"\> quote"),
        ("1. first", r"1\. first"),
        ("back\\slash", r"back\\slash"),
        # ordinary messages and names are unchanged
        ("O'Brien, Ann-Marie (MM): 2.5 mg", "O'Brien, Ann-Marie (MM): 2.5 mg"),
        ("rule profile 'no_such_profile'; set LENADASH_RULES", "rule profile 'no_such_profile'; set LENADASH_RULES"),
        ("LD0001", "LD0001"),
    ],
)
def test_plain_escapes_what_markdown_would_act_on(text, expected):
    from lenadash.dashboard import ui

    assert ui.plain(text) == expected


# --- messages and logs never echo SQL parameters -----------------------------------------------------


def test_a_database_bug_is_logged_without_its_sql_parameters(caplog):
    """The traceback of a bug goes to the server console, but a database error's parameters (an MRN,
    a name) are left out of it; the page shows only the generic message."""
    import logging

    import sqlalchemy.exc

    from lenadash.dashboard import ui

    error = sqlalchemy.exc.IntegrityError(
        "INSERT INTO patient (mrn, name) VALUES (?, ?)", ("LD-SECRET", "Ann Secret"), Exception("UNIQUE")
    )
    assert "LD-SECRET" in str(error)  # what SQLAlchemy would print
    with caplog.at_level(logging.ERROR):
        try:
            raise error
        except Exception:
            ui.log_bug("a bug")
    assert caplog.records and caplog.records[0].exc_info is not None
    assert "LD-SECRET" not in caplog.text and "Ann Secret" not in caplog.text
    assert "INSERT INTO patient" in caplog.text  # the statement (no data) stays, for whoever fixes the bug
