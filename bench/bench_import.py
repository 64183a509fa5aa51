"""Import benchmark (issue 14 item 3): lab rows through lenadash's import beside the floor, measured in one run.

Phases, each in a fresh subprocess (its own peak RSS):
- floor (SQLite): read the CSV with pandas (pyarrow engine) and with polars, derive ids, times and numbers,
  then plain `sqlite3.executemany` into an indexed table of lab_result's shape, one commit; the faster is the floor;
- lenadash (SQLite): `imports.import_file` into a fresh database (detect, hash check, read_labs, save_labs);
- re-import of the same export plus 12 new rows, then of it with 1,000 corrected values, then the last file
  again (identical bytes: recognised by its hash before parsing);
- with --postgres: the same against a throwaway PostgreSQL cluster, beside a `COPY` of the same rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, emit, ensure_clinic, machine, peak_rss_mb, run_phase, save, table

TARGET_SQLITE = 1.2  # lenadash / floor
TARGET_PG = 1.5  # lenadash / COPY
TARGET_REIMPORT = 0.20  # re-import / fresh import
TARGET_IDENTICAL_S = 0.5
TARGET_RSS_MB = 1024.0

COLUMNS = (
    "patient_id, collected_at, analyte, value, unit, comparator, raw_value, raw_unit, raw_name, flag, status, "
    "source_line"
)
# The floor table has the shape of lab_result (models.LabResult) and its indexes.
FLOOR_DDL = (
    """CREATE TABLE lab_result (
        id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, upload_id INTEGER, superseded_by_id INTEGER,
        collected_at TIMESTAMP NOT NULL, analyte VARCHAR(32) NOT NULL, value FLOAT NOT NULL, unit VARCHAR(16) NOT NULL,
        comparator VARCHAR(2) NOT NULL, raw_value VARCHAR(64) NOT NULL, raw_unit VARCHAR(32) NOT NULL,
        raw_name VARCHAR(128) NOT NULL, loinc VARCHAR(16), ref_low FLOAT, ref_high FLOAT, flag VARCHAR(8),
        status VARCHAR(32), source_line INTEGER)""",
    "CREATE INDEX ix_lab_result_patient_collected ON lab_result (patient_id, collected_at)",
    "CREATE UNIQUE INDEX uq_lab_result_current ON lab_result (patient_id, analyte, collected_at, id)",
    "CREATE INDEX ix_lab_result_upload_id ON lab_result (upload_id)",
)


# --- the floor -------------------------------------------------------------------------------------


def _floor_pandas(labs: Path) -> dict[str, list]:
    import pandas as pd

    df = pd.read_csv(labs, dtype=str, keep_default_na=False, engine="pyarrow")
    patient_id, _ = pd.factorize(df["MRN"])
    when = pd.to_datetime(df["Collection Date/Time"], format="%m/%d/%Y %H:%M")
    return {
        "patient_id": (patient_id + 1).tolist(),
        "collected_at": when.dt.strftime("%Y-%m-%d %H:%M:%S.000000").tolist(),
        "analyte": df["Component"].tolist(),
        "value": pd.to_numeric(df["Result"], errors="coerce").tolist(),
        "unit": df["Units"].tolist(),
        "comparator": [""] * len(df),
        "raw_value": df["Result"].tolist(),
        "raw_unit": df["Units"].tolist(),
        "raw_name": df["Component"].tolist(),
        "flag": df["Flag"].tolist(),
        "status": df["Result Status"].tolist(),
        "source_line": list(range(2, len(df) + 2)),
    }


def _floor_polars(labs: Path) -> dict[str, list]:
    import polars as pl

    df = pl.read_csv(labs, infer_schema=False)
    out = df.select(
        pl.col("MRN").rank("dense").cast(pl.Int64).alias("patient_id"),
        pl.col("Collection Date/Time")
        .str.strptime(pl.Datetime, "%m/%d/%Y %H:%M")
        .dt.strftime("%Y-%m-%d %H:%M:%S.000000")
        .alias("collected_at"),
        pl.col("Component").alias("analyte"),
        pl.col("Result").cast(pl.Float64, strict=False).alias("value"),
        pl.col("Units").alias("unit"),
        pl.lit("").alias("comparator"),
        pl.col("Result").alias("raw_value"),
        pl.col("Units").alias("raw_unit"),
        pl.col("Component").alias("raw_name"),
        pl.col("Flag").fill_null("").alias("flag"),
        pl.col("Result Status").alias("status"),
        (pl.int_range(pl.len()) + 2).alias("source_line"),
    )
    return {name: out[name].to_list() for name in out.columns}


READERS = {"pandas": _floor_pandas, "polars": _floor_polars}


def phase_floor(args) -> dict:
    import sqlite3

    t0 = time.perf_counter()
    columns = READERS[args.reader](Path(args.labs))
    t_read = time.perf_counter()
    con = sqlite3.connect(args.db)
    for ddl in FLOOR_DDL:
        con.execute(ddl)
    names = COLUMNS.split(", ")
    con.executemany(
        f"INSERT INTO lab_result ({COLUMNS}) VALUES ({', '.join('?' * len(names))})", zip(*(columns[n] for n in names))
    )
    con.commit()
    n = con.execute("SELECT count(*) FROM lab_result").fetchone()[0]
    con.close()
    t_end = time.perf_counter()
    return _result(args, rows=n, read_s=t_read - t0, total_s=t_end - t0)


def phase_pg_floor(args) -> dict:
    """COPY of the same rows (CSV text made by polars) into an indexed table of lab_result's shape."""
    import polars as pl
    import psycopg

    t0 = time.perf_counter()
    columns = READERS[args.reader](Path(args.labs))
    t_read = time.perf_counter()
    names = COLUMNS.split(", ")
    text = pl.DataFrame({n: columns[n] for n in names}).write_csv(include_header=False)
    del columns
    with psycopg.connect(args.db.replace("postgresql+psycopg", "postgresql")) as con:
        for ddl in FLOOR_DDL:
            con.execute(ddl.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"))
        with con.cursor() as cursor, cursor.copy(f"COPY lab_result ({COLUMNS}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(text)
        con.commit()
        n = con.execute("SELECT count(*) FROM lab_result").fetchone()[0]
    t_end = time.perf_counter()
    return _result(args, rows=n, read_s=t_read - t0, total_s=t_end - t0)


# --- lenadash ----------------------------------------------------------------------------------------


def phase_lenadash(args) -> dict:
    """`imports.import_file` of one file (fresh, re-import or identical, by the database it is given)."""
    from lenadash import imports, store

    engine = store.make_engine(args.db)  # schema creation is not timed
    t0 = time.perf_counter()
    data = Path(args.labs).read_bytes()
    with store.open_session(engine) as session:
        summary = imports.import_file(session=session, file_name=Path(args.labs).name, data=data)
    t_end = time.perf_counter()
    engine.dispose()
    return _result(
        args,
        rows=summary.rows_imported,
        superseding=summary.rows_superseding,
        unchanged=summary.rows_unchanged,
        already=summary.already_imported,
        total_s=t_end - t0,
    )


def _result(args, **figures) -> dict:
    return {"phase": args.phase, **figures, "peak_rss_mb": peak_rss_mb()}


# --- inputs and servers ----------------------------------------------------------------------------


def reimport_files(labs: Path) -> tuple[Path, Path]:
    """This month's export: the file plus 12 new results (a later draw); and it with 1,000 corrected values."""
    plus = labs.with_name("labs_plus12.csv")
    corrected = labs.with_name("labs_corrected1000.csv")
    if plus.exists() and corrected.exists():
        return plus, corrected
    lines = labs.read_bytes().decode().splitlines(keepends=True)
    new = [line.replace("/2025 ", "/2027 ").replace("/2026 ", "/2027 ") for line in lines[1:13]]
    plus.write_text("".join(lines + new))
    rows = lines + new
    step = max(1, (len(rows) - 1) // 1000)
    changed = 0
    for i in range(1, len(rows), step):
        record = next(csv.reader([rows[i]]))
        try:
            record[4] = f"{float(record[4]) * 1.1 + 0.1:.2f}"
        except ValueError:
            continue
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(record)
        rows[i] = out.getvalue()
        changed += 1
        if changed == 1000:
            break
    corrected.write_text("".join(rows))
    return plus, corrected


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's binaries), like tests/conftest.py's."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
        if not found:
            raise SystemExit("--postgres: no PostgreSQL server binaries (apt-get install postgresql)")
        self.bindir = found[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="lenadash-bench-pg-"))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def _run(self, *args) -> None:
        subprocess.run([*self.as_user, *map(str, args)], check=True, capture_output=True, stdin=subprocess.DEVNULL)

    def start(self) -> str:
        data = self.root / "data"
        self._run(self.bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        self._run(self.bindir / "pg_ctl", "-D", data, "-l", self.root / "log", "-o", options, "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def fresh_database(self, url: str, name: str) -> str:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}"')
            con.execute(f'CREATE DATABASE "{name}"')
        return url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        try:
            self._run(self.bindir / "pg_ctl", "-D", self.root / "data", "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- the run -----------------------------------------------------------------------------------------


def _fresh_sqlite(name: str) -> str:
    db = OUT / f"import_{name}.sqlite"
    for p in (db, Path(f"{db}-journal"), Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    return str(db)


def _one_backend(paths: dict[str, Path], backend: str, cluster: Cluster | None, reader: str) -> dict[str, dict]:
    """One round on one backend: the floor(s), then fresh import, re-imports and identical file in one database."""
    script = Path(__file__)
    got: dict[str, dict] = {}
    if backend == "sqlite":
        for name in READERS:
            got[f"floor_{name}"] = run_phase(
                script, "floor", "--reader", name, "--labs", str(paths["labs"]), "--db", _fresh_sqlite("floor")
            )
        db = _fresh_sqlite("lenadash")
        db_url = f"sqlite:///{db}"
    else:
        assert cluster is not None and cluster.url
        floor_url = cluster.fresh_database(cluster.url, "bench_floor")
        got["floor_copy"] = run_phase(
            script, "pg_floor", "--reader", reader, "--labs", str(paths["labs"]), "--db", floor_url
        )
        db_url = cluster.fresh_database(cluster.url, "bench_lenadash")
    for phase, labs in (
        ("fresh", paths["labs"]),
        ("reimport_12_new", paths["plus12"]),
        ("reimport_1000_corrections", paths["corrected"]),
        ("identical_file", paths["corrected"]),
    ):
        got[phase] = run_phase(script, "lenadash", "--labs", str(labs), "--db", db_url)
    return got


def _report(name: str, n_rows: int, runs: list[dict[str, dict]]) -> dict:
    best = {k: min(r[k]["total_s"] for r in runs) for k in runs[0]}
    peak = {k: max(r[k]["peak_rss_mb"] for r in runs) for k in runs[0]}
    floor_key = "floor_copy" if "floor_copy" in best else min(("floor_pandas", "floor_polars"), key=best.get)
    floor, fresh = best[floor_key], best["fresh"]
    target = TARGET_PG if name == "postgresql" else TARGET_SQLITE
    rows = []
    for key, total in best.items():
        if key.startswith("floor"):
            figure, goal = f"read {min(r[key]['read_s'] for r in runs):.2f} s", "the floor" if key == floor_key else ""
        elif key == "fresh":
            figure, goal = f"{total / floor:.2f}x floor", f"<= {target:g}x"
        elif key.startswith("reimport"):
            figure, goal = f"{total / fresh:.0%} of fresh", f"<= {TARGET_REIMPORT:.0%}"
        else:
            figure, goal = f"{total:.2f} s", f"< {TARGET_IDENTICAL_S:g} s"
        rows.append([key, f"{total:.2f}", f"{n_rows / total:,.0f}", f"{peak[key]:,.0f}", figure, goal])
    print(f"\n{name}: best of {len(runs)}")
    print(table(rows, ["phase", "total s", "rows/s", "peak RSS MB", "figure", "target"]))
    lenadash_peak = max(peak[k] for k in best if not k.startswith("floor"))
    new, corrections = best["reimport_12_new"] / fresh, best["reimport_1000_corrections"] / fresh
    checks = {
        "fresh_vs_floor": (fresh / floor, fresh / floor <= target),
        "reimport_12_new_vs_fresh": (new, new <= TARGET_REIMPORT),
        "reimport_1000_corrections_vs_fresh": (corrections, corrections <= TARGET_REIMPORT),
        "identical_file_s": (best["identical_file"], best["identical_file"] < TARGET_IDENTICAL_S),
        "peak_rss_mb": (lenadash_peak, lenadash_peak < TARGET_RSS_MB),
    }
    print("  ".join(f"{k} {v:.2f}: {'met' if ok else 'MISSED'}" for k, (v, ok) in checks.items()))
    return {"best_s": best, "peak_rss_mb": peak, "floor": floor_key, "checks": checks, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--quick", action="store_true", help="100 patients x 500 results (under a minute)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (each runs every phase); best reported")
    parser.add_argument("--postgres", action="store_true", help="also against a throwaway PostgreSQL cluster")
    parser.add_argument("--phase", choices=["floor", "pg_floor", "lenadash"], help=argparse.SUPPRESS)
    parser.add_argument("--reader", choices=list(READERS), default="polars", help=argparse.SUPPRESS)
    parser.add_argument("--labs", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit({"floor": phase_floor, "pg_floor": phase_pg_floor, "lenadash": phase_lenadash}[args.phase](args))
        return 0
    if args.quick:
        args.patients, args.results = 100, 500
    clinic, generated_s = ensure_clinic(args.patients, args.results)
    plus12, corrected = reimport_files(clinic["labs"])
    paths = {"labs": clinic["labs"], "plus12": plus12, "corrected": corrected}
    n_rows = args.patients * args.results
    print(
        f"benchmark clinic: {args.patients} patients x {args.results} results = {n_rows:,} rows "
        f"({paths['labs'].stat().st_size / 1e6:.1f} MB; "
        + (f"generated in {generated_s:.1f} s)" if generated_s is not None else "reused)")
    )
    backends = {"sqlite": [_one_backend(paths, "sqlite", None, "polars") for _ in range(args.repeat)]}
    if args.postgres:
        sqlite_best = {k: min(r[k]["total_s"] for r in backends["sqlite"]) for k in ("floor_pandas", "floor_polars")}
        reader = min(sqlite_best, key=sqlite_best.get).removeprefix("floor_")
        cluster = Cluster()
        try:
            cluster.url = cluster.start()
            backends["postgresql"] = [_one_backend(paths, "postgresql", cluster, reader) for _ in range(args.repeat)]
        finally:
            cluster.stop()
    reports = {name: _report(name, n_rows, runs) for name, runs in backends.items()}
    path = save("bench_import", {"rows": n_rows, "backends": reports, "machine": machine()})
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
