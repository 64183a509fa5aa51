"""The watched folder: every file that lands in a folder is imported once, then moved to done/ or failed/.

`python -m lenadash watch FOLDER` (or LENADASH_WATCH_FOLDER for the dashboard server). Per file:

1. **Only whole files.** A name a writer uses while it writes (hidden `.name`, `*.tmp`, `*.part`,
   `*.partial`, `*.filepart`, `*.crdownload`, `*.swp`) is never read: such writers rename the file when it
   is complete. Any other file is read only once its size and modification time are the same at two
   polls at least `settle_s` apart, and again the same after it was read.
2. **Atomically.** The file's bytes go through the one import path (imports.import_file: kind and
   format from the content) in one transaction; the upload is marked `source = "folder"`.
3. **Then moved.** `done/NAME` on success (rejected rows included), `failed/NAME` when the file cannot
   be read as any export or the database refuses it; `NAME.report.json` beside it says what happened.
   A name already in done/ or failed/ gets a number (`labs.2.hl7`).

Restart-safe without a state file: a file leaves the folder only after its import committed and its
report was written, and a file imported before a crash but not yet moved is recognised by its SHA-256
(already imported, nothing written) and moved on the next pass. One watcher per folder (a lock file).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lenadash import access, imports, ingest, store
from lenadash.errors import InputError, LenadashError

log = logging.getLogger("lenadash.watch")

DONE, FAILED = "done", "failed"
LOCK_NAME = ".lenadash-watch.lock"
WRITING_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp", ".report.json")
SOURCE = "folder"


@dataclass(frozen=True)
class Outcome:
    """One file handled: where it went and its report (the import summary, or the error)."""

    name: str
    status: str  # "done" | "failed"
    moved_to: Path
    report: dict


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time this size and mtime were first seen


@dataclass
class Watcher:
    """Watches `folder` and imports into the database at `url` (None: the clinic database)."""

    folder: Path
    url: str | None = None
    settle_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: no such folder; create it or give the folder the lab system writes to")
        for sub in (DONE, FAILED):
            (self.folder / sub).mkdir(exist_ok=True)

    def ready_files(self) -> list[Path]:
        """Files complete by the rules above, in import order (patients, events, labs; then by name)."""
        now, ready, present = self.clock(), [], set()
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or _being_written(path.name):
                continue
            present.add(path.name)
            stat = path.stat()
            seen = self._seen.get(path.name)
            if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                self._seen[path.name] = _Seen(stat.st_size, stat.st_mtime_ns, now)
            elif now - seen.since >= self.settle_s and stat.st_size > 0:
                ready.append(path)
        self._seen = {k: v for k, v in self._seen.items() if k in present}
        return ready

    def poll(self) -> list[Outcome]:
        """One pass: import every ready file into the database, each in its own transaction."""
        ready = self.ready_files()
        if not ready:
            return []
        engine = store.make_engine(self.url)
        try:
            # No one signed in drops these files: the folder acts as the server's OS user (audit trail, roles).
            with access.acting_as(access.os_actor("folder")), store.open_session(engine) as session:
                return [o for path in _in_import_order(ready) if (o := self._handle(session, path)) is not None]
        finally:
            engine.dispose()

    def _handle(self, session, path: Path) -> Outcome | None:
        seen = self._seen.pop(path.name)
        data = path.read_bytes()
        stat = path.stat()
        if (len(data), stat.st_size, stat.st_mtime_ns) != (seen.size, seen.size, seen.mtime_ns):
            return None  # written to meanwhile: read again once it settles
        try:
            summary = imports.import_file(session=session, file_name=path.name, data=data)
        except LenadashError as exc:  # not an export lenadash reads, or the database refused it
            session.rollback()
            return _move(path, FAILED, {"file": path.name, "error": str(exc)})
        except Exception:  # a bug: the traceback goes to the log (without SQL parameters), the file aside
            session.rollback()
            _log_bug("importing a file from the watched folder failed")
            return _move(
                path, FAILED, {"file": path.name, "error": "lenadash failed on this file (a bug); see its log"}
            )
        store.set_upload_source(session=session, upload_id=summary.upload_id, source=SOURCE)
        return _move(path, DONE, summary.as_dict())

    def run(self, *, interval_s: float = 5.0, stop: threading.Event | None = None, echo=None) -> None:
        """Poll until `stop` is set (or forever); `echo(outcome)` is called for every file handled."""
        stop = stop or threading.Event()
        with folder_lock(self.folder):
            while not stop.is_set():
                try:
                    outcomes = self.poll()
                except (OSError, LenadashError) as exc:  # a share gone for a while, the database busy: retry
                    log.error("watched folder: %s; trying again in %g s", _one_line(exc), interval_s)
                    outcomes = []
                for outcome in outcomes:
                    if echo:
                        echo(outcome)
                stop.wait(interval_s)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) if isinstance(exc, LenadashError) else type(exc).__name__


def _being_written(name: str) -> bool:
    lower = name.lower()
    return name.startswith(".") or lower.endswith(WRITING_SUFFIXES)


def _in_import_order(paths: list[Path]) -> list[Path]:
    """Patients files first, then events, then labs (so labs attach to registered patients)."""

    def rank(path: Path) -> int:
        try:
            return imports.KIND_ORDER.index(ingest.detect_kind(path.read_bytes()))
        except LenadashError:
            return len(imports.KIND_ORDER)

    return sorted(paths, key=lambda p: (rank(p), p.name))


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem.2.ext`, ... when a file of that name is already there."""
    target = folder / name
    stem, dot, ext = name.partition(".")
    n = 2
    while target.exists():
        target = folder / f"{stem}.{n}{dot}{ext}"
        n += 1
    return target


def _move(path: Path, status: str, report: dict) -> Outcome:
    """Write the report beside the file's new place (atomically), then move the file there."""
    target = _free_name(path.parent / status, path.name)
    report_path = target.with_name(target.name + ".report.json")
    tmp = report_path.with_name("." + report_path.name + ".tmp")
    tmp.write_text(json.dumps({"status": status, **report}, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, report_path)
    os.replace(path, target)
    return Outcome(name=path.name, status=status, moved_to=target, report=report)


def _log_bug(what: str) -> None:
    """The traceback for the console, without the SQL parameters a database error would print (MRNs)."""
    import sys

    exc: BaseException | None = sys.exc_info()[1]
    while exc is not None:
        if hasattr(exc, "hide_parameters"):
            exc.hide_parameters = True
        exc = exc.__cause__ or exc.__context__
    log.exception(what)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One watcher per folder: a second one (another terminal, the dashboard server) stops with a message."""
    with open(Path(folder) / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(f"{folder} is already watched by another lenadash process; stop that one first") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def describe(outcome: Outcome) -> str:
    """One line per file for the console (counts only: no values, no MRNs)."""
    r = outcome.report
    if outcome.status == FAILED:
        return f"{outcome.name}: failed -> {outcome.moved_to}"
    if r.get("already_imported"):
        return f"{outcome.name}: already imported -> {outcome.moved_to}"
    return (
        f"{outcome.name} ({r.get('kind')}): {r.get('rows_read')} rows read, {r.get('rows_imported')} new, "
        f"{r.get('rows_superseding')} corrected, {r.get('rows_unchanged')} unchanged, "
        f"{r.get('rows_rejected')} rejected -> {outcome.moved_to}"
    )


def start_in_background(
    folder: Path,
    url: str | None,
    *,
    interval_s: float = 5.0,
    stop: threading.Event | None = None,
    settle_s: float = 2.0,
) -> threading.Thread:
    """The dashboard server's watcher: a daemon thread polling `folder` into `url` until `stop` is set
    (errors logged, not raised)."""

    def loop() -> None:
        try:
            watcher = Watcher(folder, url, settle_s=settle_s)
            watcher.run(interval_s=interval_s, stop=stop, echo=lambda o: log.info(describe(o)))
        except LenadashError as exc:
            log.error("watched folder not started: %s", exc)

    thread = threading.Thread(target=loop, name="lenadash-watch", daemon=True)
    thread.start()
    return thread
