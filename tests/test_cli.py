"""CLI: `python -m lenadash import|demo|assess`, exit codes, messages, and docs/cli.md coverage."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lenadash import cli, imports, store

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20"


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """Every CLI test gets its own data folder, so defaults never touch a real database."""
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    return tmp_path / "data"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# --- documentation and usage -----------------------------------------------------------------------


def test_every_command_and_option_is_documented():
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = []
    for name, sub in _subcommands().items():
        if f"`{name}" not in doc:
            missing.append(name)
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and f"`{option}" not in doc:
                    missing.append(f"{name} {option}")
    assert missing == [], f"document these in docs/cli.md: {missing}"
    assert set(_subcommands()) == {"import", "demo", "watch", "assess", "prepare", "users", "backup", "restore"}


def test_python_dash_m_runs_and_a_missing_command_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "lenadash", "--help"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "import" in done.stdout and "assess" in done.stdout
    done = subprocess.run([sys.executable, "-m", "lenadash"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "COMMAND" in done.stderr


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["import", "no/such/file.csv"], "check the path"),
        (["assess", "--as-of", "20.11.2026", "--db", "sqlite://"], "YYYY-MM-DD"),
        (["assess", "--as-of", AS_OF, "--labs", "x.csv"], "--patients FILE"),
        (["assess", "--as-of", AS_OF, "--db", "sqlite://", "--patients", "p.csv", "--labs", "l.csv"], "not both"),
        (["import", "--db", "nosuchdb://x", str(REPO / "sample_data" / "patients.csv")], "postgresql+psycopg://"),
        (
            ["assess", "--as-of", AS_OF, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
            "check that the server runs",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line_naming_the_fix(capsys, argv, fix):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert fix in err and err.count("\n") == 1 and err.startswith("lenadash: error: ")


def test_a_file_that_is_not_an_export_is_a_usage_error(capsys, tmp_path):
    odd = tmp_path / "shopping.csv"
    odd.write_text("item,price\nbread,2\n")
    code, _, err = run(capsys, "import", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", str(odd))
    assert code == 2 and "shopping.csv" in err and err.count("\n") == 1


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["assess", "--format", "xml", "--as-of", AS_OF])
    assert exc.value.code == 2


# --- import ----------------------------------------------------------------------------------------


def test_import_takes_patients_first_whatever_the_order(capsys, tmp_path, sample_dir):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    files = [sample_dir / "epic_long_us.csv", sample_dir / "events.csv", sample_dir / "patients.csv"]
    code, out, _ = run(capsys, "import", "--db", url, "--json", *map(str, files))
    assert code == 0
    summaries = json.loads(out)
    assert [s["kind"] for s in summaries] == ["patients", "events", "labs"]
    assert all(not s["already_imported"] for s in summaries)
    labs = summaries[2]
    assert labs["rows_imported"] > 100 and labs["patients_created"] == 0  # every MRN was registered first
    assert summaries[0]["rows_imported"] > 0 and summaries[1]["rows_imported"] > 0

    code, out, _ = run(capsys, "import", "--db", url, *map(str, files))
    assert code == 0 and out.count("already imported") == 3

    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            assert len(store.list_uploads(session=session)) == 3
            assert store.load_labs(session=session)["mrn"].nunique() > 1
    finally:
        engine.dispose()


def test_import_lists_rejected_rows_with_line_reason_and_hint(capsys, tmp_path, sample_dir):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    code, out, _ = run(capsys, "import", "--db", url, str(sample_dir / "bad_rows.csv"))
    assert code == 0
    head, *rejects = out.strip().splitlines()
    assert head.startswith("bad_rows.csv (labs):") and "rejected" in head
    assert rejects and all(line.startswith("  rejected line ") for line in rejects)
    assert all(" - " in line for line in rejects), "every reject carries a hint"

    code, out, _ = run(capsys, "import", "--db", url, "--json", str(sample_dir / "bad_rows.csv"))
    (summary,) = json.loads(out)
    assert summary["already_imported"] and summary["rows_rejected"] == len(rejects)
    assert {"line", "column", "value", "reason", "hint"} <= set(summary["rejects"][0])
    # the text lines name where and why, never the cell (issue 10: terminals, cron mail and logs keep it);
    # the --json report, asked for as data, carries it like the Upload page's problems table
    values = {str(r["value"]) for r in summary["rejects"] if r.get("value") and not str(r["value"]).isdigit()}
    assert values and not [line for line in rejects for v in values if repr(v) in line or f" {v} " in line]


def test_import_uses_the_clinic_database_by_default(capsys, private_data_dir, sample_dir):
    code, _, _ = run(capsys, "import", str(sample_dir / "patients.csv"))
    assert code == 0
    assert (private_data_dir / "lenadash.sqlite").exists()
    assert not (private_data_dir / "demo.sqlite").exists()


# --- demo --------------------------------------------------------------------------------------------


def test_demo_loads_every_sample_file_idempotently_and_reset_recreates(capsys, private_data_dir, sample_dir):
    code, out, _ = run(capsys, "demo", "--json")
    assert code == 0
    first = json.loads(out)
    assert len(first) == len(imports.sample_files(sample_dir)) and first[0]["kind"] == "patients"
    assert (private_data_dir / "demo.sqlite").exists() and not (private_data_dir / "lenadash.sqlite").exists()

    code, out, _ = run(capsys, "demo", "--json")
    assert all(s["already_imported"] for s in json.loads(out))

    demo_url = f"sqlite:///{private_data_dir / 'demo.sqlite'}"
    engine = store.make_engine(demo_url)
    try:
        with store.open_session(engine) as session:
            labs_before = len(store.load_labs(session=session))
            assert len(store.list_uploads(session=session)) == len(first)
    finally:
        engine.dispose()

    code, out, _ = run(capsys, "demo", "--reset")
    assert code == 0 and "already imported" not in out and "demo database:" in out
    engine = store.make_engine(demo_url)
    try:
        with store.open_session(engine) as session:
            assert len(store.list_uploads(session=session)) == len(first)
            assert len(store.load_labs(session=session)) == labs_before
    finally:
        engine.dispose()


# --- assess ------------------------------------------------------------------------------------------


def _sample_args(sample_dir: Path) -> list[str]:
    labs = [p for p in imports.sample_files(sample_dir) if p.name not in ("patients.csv", "events.csv")]
    args = ["--patients", str(sample_dir / "patients.csv"), "--events", str(sample_dir / "events.csv")]
    for path in labs:
        args += ["--labs", str(path)]
    return args


def test_assess_files_as_json_with_an_import_report(capsys, sample_dir):
    code, out, _ = run(capsys, "assess", *_sample_args(sample_dir), "--as-of", AS_OF, "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["as_of"] == AS_OF and result["patients"]
    report = result["import_report"]
    assert report["rows_read"] > 0 and report["rows_rejected"] == len(report["rejects"]) > 0
    assert {r["file"] for r in report["rejects"]} >= {"bad_rows.csv"}
    assert all(set(r) == {"file", "line", "reason"} for r in report["rejects"])


def test_assess_csv_is_one_row_per_draw(capsys, sample_dir):
    code, out, _ = run(capsys, "assess", *_sample_args(sample_dir), "--as-of", AS_OF, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and "mrn" in rows[0]


def test_assess_over_a_database_agrees_with_assess_over_the_files(capsys, db_url, sample_dir):
    url = db_url
    assert run(capsys, "import", "--db", url, *map(str, imports.sample_files(sample_dir)))[0] == 0
    code, from_db, _ = run(capsys, "assess", "--db", url, "--as-of", AS_OF)
    assert code == 0
    code, from_files, _ = run(capsys, "assess", *_sample_args(sample_dir), "--as-of", AS_OF)
    db_result, file_result = json.loads(from_db), json.loads(from_files)
    assert db_result["patients"] == file_result["patients"]
    assert db_result["import_report"]["rows_rejected"] == file_result["import_report"]["rows_rejected"]


def test_demo_refuses_the_clinic_database(capsys, private_data_dir, monkeypatch, tmp_path):
    clinic = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    monkeypatch.setenv("LENADASH_DATABASE_URL", clinic)
    code, _, err = run(capsys, "demo", "--reset", "--db", clinic)
    assert code == 2 and "never mix with real patients" in err
    assert not (tmp_path / "clinic.sqlite").exists()


def test_dev_script_is_executable_and_explains_its_commands():
    for script in (REPO / "dev", REPO / ".ci" / "run"):
        assert script.stat().st_mode & 0o111, f"{script} must be executable (chmod +x)"
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    done = subprocess.run([str(REPO / "dev"), "nonsense"], capture_output=True, text=True)
    assert done.returncode == 2 and "./dev open | ./dev test" in done.stderr


def test_assess_over_a_missing_sqlite_file_is_an_error_and_creates_nothing(capsys, tmp_path, private_data_dir):
    missing = tmp_path / "typo" / "clinic.sqlite"
    code, out, err = run(capsys, "assess", "--db", f"sqlite:///{missing}", "--as-of", AS_OF)
    assert code == 2 and out == ""
    assert f"no database at {missing}" in err and "--db" in err
    assert not missing.exists() and not missing.parent.exists()
    # the default clinic database too: before the first import there is nothing to assess
    code, _, err = run(capsys, "assess", "--as-of", AS_OF)
    assert code == 2 and "import files first" in err
    assert not (private_data_dir / "lenadash.sqlite").exists()


def test_import_of_a_folder_says_it_is_a_folder(capsys, tmp_path):
    code, _, err = run(capsys, "import", str(tmp_path))
    assert code == 2 and "is a folder" in err and "*.csv" in err


# --- honest errors: what the user can fix is a message, a bug is a traceback ---------------------------


def test_a_rule_profile_to_fix_exits_1_with_its_message(capsys, monkeypatch, sample_dir):
    monkeypatch.setenv("LENADASH_RULES", "nosuch")
    code, out, err = run(capsys, "assess", *_sample_args(sample_dir), "--as-of", AS_OF)
    assert code == 1 and out == ""
    assert err.startswith("lenadash: error: unknown rule profile 'nosuch'") and "LENADASH_RULES" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("bug", [KeyError("analyte"), ValueError("Length mismatch: Expected axis has 3 elements")])
def test_a_bug_while_checking_files_raises_and_is_not_called_unrecognised(
    capsys, monkeypatch, tmp_path, sample_dir, bug
):
    """A pandas ValueError used to be printed as if the file were not recognised (exit 2)."""
    from lenadash import ingest

    def broken(data):
        raise bug

    monkeypatch.setattr(ingest, "detect_kind", broken)
    with pytest.raises(type(bug)):
        cli.main(["import", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", str(sample_dir / "patients.csv")])
    assert capsys.readouterr().err == ""


def test_a_bug_while_saving_raises_and_rolls_that_file_back(monkeypatch, tmp_path, sample_dir):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"

    def broken(connection, sql, rows):
        raise KeyError("collected_at")

    monkeypatch.setattr(store.labs, "insert_chunk", broken)
    with pytest.raises(KeyError):
        cli.main(["import", "--db", url, str(sample_dir / "patients.csv"), str(sample_dir / "epic_long_us.csv")])
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            assert store.list_uploads(session=session)["kind"].tolist() == ["patients"]  # its own transaction
            assert store.load_labs(session=session).empty
    finally:
        engine.dispose()


def test_a_bug_while_reading_files_for_assess_raises(capsys, monkeypatch, sample_dir):
    def broken(data, *, file_name=""):
        raise ValueError("cannot reindex on an axis with duplicate labels")

    monkeypatch.setitem(imports.READERS, "labs", broken)
    with pytest.raises(ValueError, match="duplicate labels"):
        cli.main(["assess", *_sample_args(sample_dir), "--as-of", AS_OF])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("database_says", "told"),
    [
        ("database is locked", "busy"),
        ("database or disk is full", "disk holding the database is full"),
        ("attempt to write a readonly database", "read-only"),
    ],
)
def test_a_database_that_cannot_take_the_import_is_a_message_not_a_traceback(
    capsys, monkeypatch, tmp_path, sample_dir, database_says, told
):
    """The store's write fails the way SQLite fails (the statement and an MRN in the error): the CLI says
    what happened and how to fix it, never the SQL or its parameters, and nothing of that file is saved."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from lenadash.store import labs as store_labs

    def refuse(*args, **kwargs):
        raise OperationalError(
            "INSERT INTO lab_result VALUES (?)", ("LD0001",), sqlite3.OperationalError(database_says)
        )

    monkeypatch.setattr(store_labs, "insert_chunk", refuse)
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    code, out, err = run(capsys, "import", "--db", url, str(sample_dir / "epic_long_us.csv"))
    assert code != 0 and told in err and "nothing was saved" in err
    assert "LD0001" not in out + err and "INSERT" not in out + err and "Traceback" not in err
    engine = store.make_engine(url)
    with store.open_session(engine) as session:
        assert len(store.list_uploads(session=session)) == 0 and len(store.load_labs(session=session)) == 0
    engine.dispose()


def test_a_database_error_that_is_a_bug_still_raises(monkeypatch, tmp_path, sample_dir):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from lenadash.store import labs as store_labs

    def broken(*args, **kwargs):
        raise OperationalError(
            "INSERT INTO lab_result (no_such) VALUES (?)", (1,), sqlite3.OperationalError("no such column")
        )

    monkeypatch.setattr(store_labs, "insert_chunk", broken)
    with pytest.raises(OperationalError):
        cli.main(["import", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", str(sample_dir / "epic_long_us.csv")])
