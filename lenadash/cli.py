"""Command line: `python -m lenadash import|demo|watch|assess|prepare|users|backup|restore` (docs/cli.md)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from lenadash import __version__, access, imports, store
from lenadash import backup as backups
from lenadash.config import get_settings
from lenadash.errors import InputError, LenadashError, StoreError, UnrecognisedFile

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(InputError):
    """Arguments that do not go together or cannot be read: one line that names the fix; exit code 2."""


# What the user gave is wrong (arguments, files, the database URL): exit 2. Another LenadashError (a
# rule profile to fix, say) exits 1 with its message. Anything else is a bug and leaves a traceback.
USAGE_ERRORS = (InputError, UnrecognisedFile, StoreError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lenadash",
        description="lenadash: lab monitoring for patients on lenalidomide (synthetic data only in examples).",
    )
    parser.add_argument("--version", action="version", version=f"lenadash {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser(
        "import",
        help="import lab, patient and event files into the clinic database",
        description="Import files; patients files first, then events, then labs.",
    )
    imp.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="CSV/TSV exports, HL7 v2 or FHIR R4 files (kind and format detected from the content)",
    )
    imp.add_argument(
        "--db", metavar="URL", help="database URL (default: LENADASH_DATABASE_URL or the per-user SQLite file)"
    )
    imp.add_argument("--json", action="store_true", help="print the summaries as JSON")

    demo = commands.add_parser(
        "demo",
        help="load the synthetic sample clinic into the separate demo database",
        description="Load every sample_data/ file into the demo database (never the clinic's).",
    )
    demo.add_argument("--reset", action="store_true", help="drop and recreate the demo database first")
    demo.add_argument(
        "--db", metavar="URL", help="demo database URL (default: LENADASH_DEMO_DATABASE_URL or demo.sqlite)"
    )
    demo.add_argument("--json", action="store_true", help="print the summaries as JSON")

    watch = commands.add_parser(
        "watch",
        help="import every file that lands in a folder, then move it to done/ or failed/",
        description="Watch FOLDER: import each new file once (whole files only), move it to done/ or failed/ "
        "with NAME.report.json beside it. Ctrl+C stops.",
    )
    watch.add_argument("folder", metavar="FOLDER", help="the folder the lab system or export job writes to")
    watch.add_argument(
        "--db", metavar="URL", help="database URL (default: LENADASH_DATABASE_URL or the per-user SQLite file)"
    )
    watch.add_argument("--interval", type=float, default=5.0, metavar="S", help="seconds between looks (default 5)")
    watch.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds a file's size must stay the same before it is read (default 2)",
    )
    watch.add_argument("--once", action="store_true", help="import what is ready and stop (for cron jobs)")

    assess = commands.add_parser(
        "assess",
        help="grade, apply the dose rules and list what is due, as JSON or CSV",
        description="Assess files (--patients/--labs/--events) or a database (--db).",
    )
    assess.add_argument("--patients", metavar="FILE", help="patients (courses) file")
    assess.add_argument("--labs", metavar="FILE", action="append", default=[], help="lab file; repeat for several")
    assess.add_argument("--events", metavar="FILE", help="clinical events file")
    assess.add_argument(
        "--db", metavar="URL", help="assess a database instead of files (default without files: the clinic database)"
    )
    assess.add_argument(
        "--as-of", required=True, metavar="YYYY-MM-DD", help="assess as on this date (data after it is ignored)"
    )
    assess.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        help="json (default): the full contract; csv: one row per draw",
    )
    _add_prepare(commands)
    _add_clinic_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"import": _cmd_import, "demo": _cmd_demo, "watch": _cmd_watch, "assess": _cmd_assess}
    handlers |= {"prepare": _cmd_prepare, **CLINIC_COMMANDS}
    try:
        # The person at the shell holds the database's credentials: they act as this OS user (audit trail).
        with access.acting_as(access.os_actor("cli")):
            return handlers[args.command](args)
    except LenadashError as exc:
        print(f"lenadash: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, USAGE_ERRORS) else EXIT_ERROR


# --- import and demo -------------------------------------------------------------------------------


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _engine(url: str | None):
    return store.make_engine(url)


def _cmd_import(args) -> int:
    paths = imports.check_paths(args.files)
    engine = _engine(args.db)
    try:
        with store.open_session(engine) as session:
            summaries = imports.import_paths(session=session, paths=paths)
    finally:
        engine.dispose()
    _print_summaries(summaries, as_json=args.json)
    return EXIT_OK


def _cmd_demo(args) -> int:
    url = args.db or get_settings().demo_database_url
    summaries = imports.load_demo(url, reset=args.reset)
    if not args.json:
        print(f"demo database: {store.display_url(url)}")
    _print_summaries(summaries, as_json=args.json)
    return EXIT_OK


def _cmd_watch(args) -> int:
    from lenadash import watch

    watcher = watch.Watcher(Path(args.folder), args.db, settle_s=args.settle)
    if args.once:  # two looks `--settle` apart: a file still growing stays for the next run
        with watch.folder_lock(watcher.folder):
            watcher.ready_files()
            time.sleep(args.settle)
            for outcome in watcher.poll():
                print(watch.describe(outcome), flush=True)
        return EXIT_OK
    print(f"watching {args.folder} (Ctrl+C stops)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        watcher.run(interval_s=args.interval, echo=lambda o: print(watch.describe(o), flush=True))
    return EXIT_OK


def _print_summaries(summaries: list[store.ImportSummary], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2, default=str))
        return
    for s in summaries:
        print(format_summary(s))


def _created_words(kind: str) -> str:
    if kind == "patients":
        return "new patient(s)"
    return "patient(s) created from unregistered MRNs (complete them with a patients file or the Setup page)"


def format_summary(s: store.ImportSummary) -> str:
    """A per-file summary with one line per rejected row (line, column, reason, hint). Never the cell's value:
    this output ends up in terminals, cron mail and logs (issue 10: messages never echo cell values); the
    value is kept with the upload's rejects and shown in the Upload page's problems table."""
    if s.already_imported:
        head = f"{s.file_name} ({s.kind}): already imported (upload #{s.upload_id}); nothing written"
    else:
        head = (
            f"{s.file_name} ({s.kind}): {s.rows_read} rows read, {s.rows_imported} new, "
            f"{s.rows_superseding} corrected, {s.rows_unchanged} unchanged, {s.rows_rejected} rejected"
            + (f", {s.patients_created} {_created_words(s.kind)}" if s.patients_created else "")
        )
    lines = [head]
    for r in s.rejects:
        where = f"line {r.get('line')}" + (f", column {r['column']}" if r.get("column") else "")
        hint = f" - {r['hint']}" if r.get("hint") else ""
        lines.append(f"  rejected {where}: {r.get('reason', '')}{hint}".rstrip())
    return "\n".join(lines)


# --- assess ----------------------------------------------------------------------------------------


def _as_of(text: str, *, option: str = "--as-of") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. {option} 2026-11-20") from exc


def _inputs_from_files(args) -> imports.AssessInputs:
    if not args.patients or not args.labs:
        raise UsageError("assess needs --patients FILE and at least one --labs FILE (or --db URL for a database)")
    return imports.read_assess_inputs(patients=args.patients, labs=args.labs, events=args.events)


def _existing_database(url: str | None) -> str:
    """The URL to assess; a SQLite file must already exist - assessing a mistyped path would
    otherwise create an empty database and report "no patients" as if that were the answer."""
    url = url or get_settings().database_url
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        path = Path(sa_url.database.removeprefix("file:"))  # sqlite:///file:PATH?mode=ro&uri=true names PATH
        if not path.is_file():
            raise UsageError(
                f"no database at {path}: check the --db URL (or LENADASH_DATABASE_URL), or import files first "
                "with `python -m lenadash import FILE...`"
            )
    return url


def _inputs_from_db(url: str | None) -> imports.AssessInputs:
    engine = _engine(_existing_database(url))
    try:
        with store.open_session(engine) as session:
            return imports.load_assess_inputs(session=session)
    finally:
        engine.dispose()


def _cmd_assess(args) -> int:
    from lenadash.clinical import assess

    as_of = _as_of(args.as_of)
    if args.db and (args.patients or args.labs or args.events):
        raise UsageError("give either files (--patients/--labs/--events) or --db URL, not both")
    if args.patients or args.labs or args.events:
        patients, labs, events, report = _inputs_from_files(args)
    else:
        patients, labs, events, report = _inputs_from_db(args.db)
    result = assess.assess(patients, labs, events, as_of=as_of, rules=get_settings().rules, import_report=report)
    if args.format == "csv":
        sys.stdout.write(assess.assessment_csv(result))
    else:
        print(json.dumps(result, indent=2, default=str))
    return EXIT_OK


# --- prepare: the day's kept assessment ahead of clinic hours (issue 14) ------------------------------


def _add_prepare(commands) -> None:
    prepare = commands.add_parser(
        "prepare",
        help="assess the clinic ahead of clinic hours, so the day's first overview assesses no patient",
        description="Assess every patient whose kept assessment for the day is missing or stale and keep it in "
        "the database (the overview's first open reads it). For a timer before clinic hours.",
    )
    prepare.add_argument("--date", metavar="YYYY-MM-DD", help="the as-of day the app will open with (default: today)")
    prepare.add_argument(
        "--rules", metavar="PROFILE_ID", help="rule profile (default: LENADASH_RULES, what the app assesses with)"
    )
    prepare.add_argument(
        "--db", metavar="URL", help="database URL (default: LENADASH_DATABASE_URL or the per-user SQLite file)"
    )


def _cmd_prepare(args) -> int:
    from lenadash.dashboard import kept

    as_of = dt.date.today() if args.date is None else _as_of(args.date, option="--date")
    url = _existing_database(args.db)
    rules = args.rules or get_settings().rules
    snap = kept.prepare(url=url, as_of=as_of, rules=rules)
    print(
        f"prepared {as_of.isoformat()} (rules {rules}) in {store.display_url(url)}: {len(snap.inputs)} patient(s), "
        f"{len(snap.assessed)} assessed, {snap.read_from_database} already kept; "
        f"{snap.seconds.get('total', 0.0):.1f} s"
    )
    return EXIT_OK


# --- clinic mode: users and roles, backup and restore (issue 11) -------------------------------------


def _add_clinic_commands(commands) -> None:
    db_help = "database URL (default: LENADASH_DATABASE_URL or the per-user SQLite file)"
    users = commands.add_parser(
        "users",
        help="clinic mode: add users and set their roles, deactivate them, list them",
        description="Clinic mode's users (named by the e-mail they sign in with) and their roles. "
        "The first admin is added here; later ones on the Admin page.",
    )
    users.add_argument(
        "action", choices=("add", "deactivate", "list"), metavar="add|deactivate|list", help="what to do"
    )
    users.add_argument("email", nargs="?", metavar="EMAIL", help="the user's sign-in e-mail (add, deactivate)")
    users.add_argument(
        "--role", action="append", default=[], choices=sorted(access.PERMISSIONS), help="a role; repeat for several"
    )
    users.add_argument("--name", help="the user's name as shown on the Admin page")
    users.add_argument("--db", metavar="URL", help=db_help)
    backup = commands.add_parser(
        "backup",
        help="write a consistent backup of the clinic database while it is in use",
        description="SQLite: the online backup API; PostgreSQL: pg_dump (custom format). Never overwrites.",
    )
    backup.add_argument("path", metavar="PATH", help="the backup file to write (must not exist)")
    backup.add_argument("--db", metavar="URL", help=db_help)
    restore = commands.add_parser(
        "restore",
        help="replace the clinic database with a backup (an older schema is upgraded, a newer one refused)",
        description="SQLite: the online backup API; PostgreSQL: pg_restore. Replaces lenadash's tables.",
    )
    restore.add_argument("path", metavar="PATH", help="a file written by `backup`")
    restore.add_argument("--db", metavar="URL", help=db_help)


def _cmd_users(args) -> int:
    if args.action != "list" and not args.email:
        raise UsageError(f"users {args.action} needs an EMAIL")
    if args.action == "add" and not args.role:
        raise UsageError("users add needs at least one --role (" + ", ".join(sorted(access.PERMISSIONS)) + ")")
    engine = _engine(args.db)
    who = (args.email or "").strip().lower()
    try:
        with store.open_session(engine) as session:
            if args.action == "add":
                store.people.save_user(
                    session=session, email=args.email, roles=args.role, name=args.name or "", by="cli"
                )
                access.audit("user_roles", session=session, detail={"user": who, "roles": sorted(args.role)})
            elif args.action == "deactivate":
                store.people.deactivate_user(session=session, email=args.email)
                access.audit("user_roles", session=session, detail={"user": who, "roles": []})
            for user in store.people.list_users(session=session):
                state = "" if user.active else "  (deactivated)"
                print(f"{user.email}\t{','.join(user.roles) or '-'}{state}")
    finally:
        engine.dispose()
    return EXIT_OK


def _cmd_backup(args) -> int:
    url = args.db or get_settings().database_url
    revision = backups.backup(url=url, path=Path(args.path))
    print(f"backup of {store.display_url(url)} (schema {revision}) written to {args.path}")
    return EXIT_OK


def _cmd_restore(args) -> int:
    url = args.db or get_settings().database_url
    was, now = backups.restore(url=url, path=Path(args.path))
    upgraded = f", upgraded to {now}" if now != was else ""
    print(f"restored {args.path} (schema {was}{upgraded}) into {store.display_url(url)}")
    return EXIT_OK


CLINIC_COMMANDS = {"users": _cmd_users, "backup": _cmd_backup, "restore": _cmd_restore}
