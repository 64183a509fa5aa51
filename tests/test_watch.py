"""The watched folder: whole files only (written in pieces, or renamed when complete), imported once,
moved to done/ or failed/ with a report, restart-safe, shown as "folder" in the upload history."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from lenadash import cli, store, watch
from lenadash.errors import InputError

HL7 = (
    "MSH|^~\\&|LAB|GH|LENADASH|CLINIC|202603031200||ORU^R01^ORU_R01|{control}|P|2.5.1\r"
    "PID|1||LD0301^^^GH^MR\r"
    "OBR|1||A1|58410-2^CBC^LN|||202603031029\r"
)
OBX = "OBX|{n}|NM|{code}^^LN||{value}|10*3/uL|||||F\r"


def message(control: str = "M1", values=((1, "751-8", "0.82"), (2, "777-3", "148"))) -> bytes:
    text = HL7.format(control=control) + "".join(OBX.format(n=n, code=c, value=v) for n, c, v in values)
    return text.encode()


class Clock:
    """A clock the test moves: the watcher's settle time without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inbox(tmp_path) -> Path:
    """The watched folder (the test's database files stay beside it, not in it)."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def uploads(url: str):
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as s:
            return store.list_uploads(session=s), store.load_labs(session=s)
    finally:
        engine.dispose()


def test_a_file_written_in_pieces_is_read_once_whole(inbox, db_url, clock):
    watcher = watch.Watcher(inbox, db_url, settle_s=2.0, clock=clock)
    data = message()
    target = inbox / "labs.hl7"
    target.write_bytes(data[:120])  # the writer has written the MSH and part of PID
    assert watcher.poll() == []
    clock.now += 5
    with target.open("ab") as f:
        f.write(data[120:200])  # still growing at the next look
    assert watcher.poll() == []
    clock.now += 1
    with target.open("ab") as f:
        f.write(data[200:])
    assert watcher.poll() == []  # just changed
    clock.now += 1
    assert watcher.poll() == []  # unchanged for 1 s < settle 2 s
    clock.now += 1.5
    (outcome,) = watcher.poll()
    assert outcome.status == "done" and outcome.moved_to == inbox / "done" / "labs.hl7"
    assert outcome.moved_to.read_bytes() == data and not target.exists()
    report = json.loads((inbox / "done" / "labs.hl7.report.json").read_text())
    assert report["status"] == "done" and report["rows_imported"] == 2 and report["rows_read"] == 2
    history, labs = uploads(db_url)
    assert history[["file_name", "source", "rows_imported"]].values.tolist() == [["labs.hl7", "folder", 2]]
    assert sorted(labs["value"].tolist()) == [0.82, 148.0]
    clock.now += 10
    assert watcher.poll() == []  # nothing left: imported once


def test_a_file_renamed_when_complete(inbox, sqlite_url, clock):
    watcher = watch.Watcher(inbox, sqlite_url, settle_s=0.0, clock=clock)
    part = inbox / "labs.hl7.part"
    part.write_bytes(message())
    hidden = inbox / ".labs2.hl7"
    hidden.write_bytes(message("M2"))
    for _ in range(3):
        assert watcher.poll() == []  # never read under a name a writer uses while writing
    part.rename(inbox / "labs.hl7")
    assert watcher.poll() == []  # seen once
    assert [o.name for o in watcher.poll()] == ["labs.hl7"]
    assert hidden.exists()


def test_restart_after_a_crash_between_commit_and_move(inbox, db_url, clock, monkeypatch):
    (inbox / "labs.hl7").write_bytes(message())
    first = watch.Watcher(inbox, db_url, settle_s=0.0, clock=clock)
    first.poll()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process is stopped after the import committed, before the move

    monkeypatch.setattr(watch, "_move", crash)
    with pytest.raises(KeyboardInterrupt):
        first.poll()
    monkeypatch.undo()
    assert (inbox / "labs.hl7").exists()
    restarted = watch.Watcher(inbox, db_url, settle_s=0.0, clock=clock)
    assert restarted.poll() == []
    (outcome,) = restarted.poll()
    assert outcome.status == "done" and outcome.report["already_imported"] is True
    history, labs = uploads(db_url)
    assert len(history) == 1 and len(labs) == 2 and history["source"].tolist() == ["folder"]


def test_unreadable_files_go_to_failed_with_the_reason(inbox, sqlite_url, clock):
    watcher = watch.Watcher(inbox, sqlite_url, settle_s=0.0, clock=clock)
    (inbox / "notes.txt").write_text("dear colleague,\nplease see the attached\n")
    (inbox / "labs.hl7").write_bytes(message())
    (inbox / "done").mkdir(exist_ok=True)
    (inbox / "done" / "labs.hl7").write_bytes(b"an older file of the same name")
    watcher.poll()
    outcomes = {o.name: o for o in watcher.poll()}
    assert outcomes["notes.txt"].status == "failed"
    report = json.loads((inbox / "failed" / "notes.txt.report.json").read_text())
    assert "Could not tell" in report["error"] or "columns" in report["error"]
    assert outcomes["labs.hl7"].moved_to == inbox / "done" / "labs.2.hl7"  # the older one is kept


def test_patients_before_labs_and_the_same_content_again(inbox, sqlite_url, clock, sample_dir):
    watcher = watch.Watcher(inbox, sqlite_url, settle_s=0.0, clock=clock)
    (inbox / "a_labs.hl7").write_bytes(message())
    (inbox / "z_patients.csv").write_bytes((sample_dir / "patients.csv").read_bytes())
    watcher.poll()
    assert [o.name for o in watcher.poll()] == ["z_patients.csv", "a_labs.hl7"]
    (inbox / "again.hl7").write_bytes(message())  # the interface engine sends the file twice
    watcher.poll()
    (again,) = watcher.poll()
    assert again.report["already_imported"] is True and again.status == "done"


def test_one_watcher_per_folder(tmp_path):
    with watch.folder_lock(tmp_path):
        second = watch.folder_lock(tmp_path)
        with pytest.raises(InputError, match="already watched"):
            second.__enter__()


def test_a_missing_folder_says_so(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        watch.Watcher(tmp_path / "nope")


def test_the_running_watcher_in_a_thread(inbox, sqlite_url):
    """The loop the CLI and the dashboard server run: real time, a file arriving while it runs."""
    stop = threading.Event()
    seen: list[watch.Outcome] = []
    watcher = watch.Watcher(inbox, sqlite_url, settle_s=0.2)
    thread = threading.Thread(target=watcher.run, kwargs={"interval_s": 0.05, "stop": stop, "echo": seen.append})
    thread.start()
    try:
        tmp = inbox / "labs.hl7.tmp"
        tmp.write_bytes(message())
        tmp.rename(inbox / "labs.hl7")
        for _ in range(200):
            if seen:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert [o.status for o in seen] == ["done"]


def test_cli_watch_once(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "labs.hl7").write_bytes(message())
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert cli.main(["watch", str(inbox), "--db", url, "--once", "--settle", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "labs.hl7 (labs): 2 rows read, 2 new" in out and (inbox / "done" / "labs.hl7").exists()
    assert "LD0301" not in out  # counts only, no MRNs


def test_describe_a_failure_names_no_data(tmp_path):
    outcome = watch.Outcome("x.csv", "failed", Path(tmp_path / "failed" / "x.csv"), {"error": "LD0001 ..."})
    assert "LD0001" not in watch.describe(outcome)


def test_the_dashboard_server_setting(tmp_path, inbox, monkeypatch):
    """LENADASH_WATCH_FOLDER: off by default; the server's background watcher imports into the clinic database."""
    from lenadash.dashboard import ui

    monkeypatch.delenv("LENADASH_WATCH_FOLDER", raising=False)
    ui.start_folder_watch.clear()
    assert ui.start_folder_watch() is None
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    stop = threading.Event()
    thread = watch.start_in_background(inbox, url, interval_s=0.05, stop=stop, settle_s=0.1)
    try:
        (inbox / "labs.hl7").write_bytes(message())
        for _ in range(200):
            if (inbox / "done" / "labs.hl7").exists():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    history, _ = uploads(url)
    assert history["source"].tolist() == ["folder"] and not thread.is_alive()
