"""Settings: the one place that reads the environment (every LENADASH_* variable is here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RULES_DIR = PACKAGE_DIR / "rules"  # the clinical rules as data (CSV), each row with its source
SAMPLE_DIR = PACKAGE_DIR.parent / "sample_data"  # the synthetic sample clinic
# One weekly CBC interval: by then a weekly CBC has been missed outright, and a fortnightly or monthly one is a
# week late (docs/insight.md, "Escalation").
CBC_ESCALATE_DAYS = 7


def _default_data_dir() -> Path:
    # Per-user, outside the repository, following the XDG base-directory convention.
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "lenadash"


@dataclass(frozen=True)
class Settings:
    """What the environment says; documented setting by setting in the README."""

    data_dir: Path
    database_url: str
    demo_database_url: str
    rules: str
    # Defaults, so code that builds Settings by hand keeps working.
    lock_timeout_s: float = 30.0
    keep_uploads: bool = False
    timezone: str = ""  # IANA name of the clinic's time zone; "" = this machine's local zone
    cbc_escalate_days: int = CBC_ESCALATE_DAYS  # a CBC this many days overdue escalates (docs/insight.md)
    watch_folder: str = ""  # the dashboard server imports files landing here (lenadash.watch); "" = off
    mode: str = "local"  # "local" (no sign-in, the OS user is the actor) or "clinic" (sign-in, roles)
    idle_timeout_min: float = 15.0  # clinic mode: minutes without activity before data is hidden
    clinic_on_sqlite: bool = False  # clinic mode on an SQLite file: a one-machine trial only

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("LENADASH_DATA_DIR") or _default_data_dir())
        return cls(
            data_dir=data_dir,
            database_url=env.get("LENADASH_DATABASE_URL") or f"sqlite:///{data_dir / 'lenadash.sqlite'}",
            demo_database_url=env.get("LENADASH_DEMO_DATABASE_URL") or f"sqlite:///{data_dir / 'demo.sqlite'}",
            rules=env.get("LENADASH_RULES") or "us_pi",
            lock_timeout_s=_positive_seconds(env.get("LENADASH_LOCK_TIMEOUT_S"), default=30.0),
            keep_uploads=(env.get("LENADASH_KEEP_UPLOADS") or "").strip().lower() in ("1", "true", "yes", "on"),
            timezone=env.get("LENADASH_TIMEZONE") or "",
            cbc_escalate_days=_whole_days(env.get("LENADASH_CBC_ESCALATE_DAYS"), default=CBC_ESCALATE_DAYS),
            watch_folder=env.get("LENADASH_WATCH_FOLDER") or "",
            mode=_mode(env.get("LENADASH_MODE")),
            idle_timeout_min=_positive_seconds(env.get("LENADASH_IDLE_TIMEOUT_MIN"), default=15.0),
            clinic_on_sqlite=(env.get("LENADASH_CLINIC_ON_SQLITE") or "").strip().lower() in ("1", "true", "yes", "on"),
        )


def _whole_days(text: str | None, *, default: int) -> int:
    """A whole number of days >= 1 from the environment; empty, unreadable or below 1 gives `default`."""
    try:
        days = int((text or "").strip())
    except ValueError:
        return default
    return days if days >= 1 else default


MODES = ("local", "clinic")


def _mode(text: str | None) -> str:
    """LENADASH_MODE: empty means local; anything else but the two names is refused, never guessed
    (a typo must not open a clinic server without sign-in)."""
    mode = (text or "local").strip().lower()
    if mode not in MODES:
        raise ValueError(f"LENADASH_MODE must be local or clinic, not {text!r}")
    return mode


def _positive_seconds(text: str | None, *, default: float) -> float:
    """A number of seconds from the environment; empty, unreadable or not positive gives `default`."""
    try:
        seconds = float(text or "")
    except ValueError:
        return default
    return seconds if seconds > 0 else default


# Every setting the environment can carry, with its meaning; the README documents each one
# and tests/test_docs.py fails when one is missing there.
SETTINGS_DOC = {
    "LENADASH_DATA_DIR": (
        "folder for the SQLite databases (default ~/.local/share/lenadash, or $XDG_DATA_HOME/lenadash)"
    ),
    "LENADASH_DATABASE_URL": (
        "SQLAlchemy URL of the clinic database (default: SQLite file lenadash.sqlite in the data folder)"
    ),
    "LENADASH_DEMO_DATABASE_URL": (
        "SQLAlchemy URL of the separate sample-clinic database (default: demo.sqlite in the data folder)"
    ),
    "LENADASH_RULES": "rule profile for the dose engine (default us_pi)",
    "LENADASH_LOCK_TIMEOUT_S": (
        "seconds an import waits for another import or a lock on the database before it stops with "
        "'the database is busy' and saves nothing (default 30)"
    ),
    "LENADASH_KEEP_UPLOADS": (
        "1 keeps each imported file's original bytes (names, birth dates, comments) in the database; "
        "by default only its SHA-256, size, counts and rejected rows are kept"
    ),
    "LENADASH_TIMEZONE": (
        "the clinic's time zone, an IANA name such as Europe/Berlin (default: this machine's local zone); "
        "timestamps with an offset (+01:00, Z) are converted to it, and 'today' for date checks is its day"
    ),
    "LENADASH_CBC_ESCALATE_DAYS": (
        "days a required CBC may be overdue before the assessment escalates it to an urgent notice and the "
        "worklist flags the patient (whole days >= 1, default 7: one weekly interval; docs/insight.md)"
    ),
    "LENADASH_WATCH_FOLDER": (
        "a folder the dashboard server watches: every lab, patients or events file that lands in it is imported "
        "into the clinic database once and moved to done/ or failed/ with a report (default: off)"
    ),
    "LENADASH_MODE": (
        "local (default: no sign-in, this computer's user is recorded as the actor) or clinic (sign-in "
        "through the clinic's OpenID Connect provider, roles, PostgreSQL; see docs/deployment.md)"
    ),
    "LENADASH_IDLE_TIMEOUT_MIN": (
        "clinic mode: minutes without activity after which patient data is hidden and the user signs "
        "in again (default 15; fractions allowed, e.g. 0.5 for 30 seconds in a test)"
    ),
    "LENADASH_CLINIC_ON_SQLITE": (
        "1 lets clinic mode run on an SQLite file, for a trial on one machine with one app process; without "
        "it clinic mode refuses to start unless LENADASH_DATABASE_URL names a PostgreSQL database"
    ),
}


def get_settings() -> Settings:
    return Settings.from_env()
