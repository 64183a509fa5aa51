"""Import benchmark: 1,000,000 lab rows through ingest.read_labs + store.save_labs, beside a pandas + sqlite3 floor."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, emit, ensure_clinic, machine, peak_rss_mb, run_phase, save, table

TARGET_RATIO = 3.0
TARGET_RSS_MB = 1536.0

# The floor table has the shape of lab_result (models.LabResult) and its two indexes.
FLOOR_DDL = (
    """CREATE TABLE lab_result (
        id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, upload_id INTEGER, superseded_by_id INTEGER,
        collected_at DATETIME NOT NULL, analyte VARCHAR(32) NOT NULL, value FLOAT NOT NULL, unit VARCHAR(16) NOT NULL,
        comparator VARCHAR(2) NOT NULL, raw_value VARCHAR(64) NOT NULL, raw_unit VARCHAR(32) NOT NULL,
        raw_name VARCHAR(128) NOT NULL, loinc VARCHAR(16), ref_low FLOAT, ref_high FLOAT, flag VARCHAR(8),
        status VARCHAR(32), source_line INTEGER)""",
    "CREATE INDEX ix_lab_result_patient_collected ON lab_result (patient_id, collected_at)",
    "CREATE INDEX ix_lab_result_patient_analyte_collected ON lab_result (patient_id, analyte, collected_at)",
    "CREATE INDEX ix_lab_result_upload_id ON lab_result (upload_id)",
)


def phase_floor(labs: Path, db: Path) -> dict:
    """pandas.read_csv + sqlite3 executemany into an indexed table of the same shape: the floor."""
    import sqlite3

    import pandas as pd

    rss_start = peak_rss_mb()
    t0 = time.perf_counter()
    df = pd.read_csv(labs, dtype=str, keep_default_na=False)
    t_read = time.perf_counter()
    # the least any importer must do to fill the same columns: ids, parse times and numbers
    patient_id, _ = pd.factorize(df["MRN"])
    collected = pd.to_datetime(df["Collection Date/Time"], format="%m/%d/%Y %H:%M").dt.strftime(
        "%Y-%m-%d %H:%M:%S.000000"
    )
    value = pd.to_numeric(df["Result"], errors="coerce")
    rows = zip(
        (patient_id + 1).tolist(),
        collected.tolist(),
        df["Component"].tolist(),
        value.tolist(),
        df["Units"].tolist(),
        df["Result"].tolist(),
        df["Units"].tolist(),
        df["Component"].tolist(),
        df["Flag"].tolist(),
        df["Result Status"].tolist(),
        range(2, len(df) + 2),
    )
    con = sqlite3.connect(db)
    for ddl in FLOOR_DDL:
        con.execute(ddl)
    con.executemany(
        "INSERT INTO lab_result (patient_id, collected_at, analyte, value, unit, comparator, raw_value, raw_unit,"
        " raw_name, flag, status, source_line) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.commit()
    n = con.execute("SELECT count(*) FROM lab_result").fetchone()[0]
    con.close()
    t_end = time.perf_counter()
    return {
        "phase": "floor",
        "rows": n,
        "read_s": t_read - t0,
        "write_s": t_end - t_read,
        "total_s": t_end - t0,
        "peak_rss_mb": peak_rss_mb(),
        "rss_at_start_mb": rss_start,
    }


def phase_lenadash(labs: Path, db: Path) -> dict:
    """The real path: ingest.read_labs(bytes) then store.save_labs into a fresh SQLite database."""
    from lenadash import ingest, store

    engine = store.make_engine(f"sqlite:///{db}")  # schema creation is not timed
    rss_start = peak_rss_mb()
    t0 = time.perf_counter()
    data = labs.read_bytes()
    imported = ingest.read_labs(data, file_name=labs.name)
    t_read = time.perf_counter()
    rss_read = peak_rss_mb()
    with store.open_session(engine) as session:
        summary = store.save_labs(session=session, file_name=labs.name, data=data, lab_import=imported)
    t_end = time.perf_counter()
    engine.dispose()
    return {
        "phase": "lenadash",
        "rows": summary.rows_imported,
        "rows_read": summary.rows_read,
        "rows_rejected": summary.rows_rejected,
        "read_s": t_read - t0,
        "write_s": t_end - t_read,
        "total_s": t_end - t0,
        "peak_rss_after_read_mb": rss_read,
        "peak_rss_mb": peak_rss_mb(),
        "rss_at_start_mb": rss_start,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each phase (alternating); best reported")
    parser.add_argument("--phase", choices=["floor", "lenadash"], help=argparse.SUPPRESS)
    parser.add_argument("--labs", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = phase_floor if args.phase == "floor" else phase_lenadash
        emit(run(Path(args.labs), Path(args.db)))
        return 0

    paths, generated_s = ensure_clinic(args.patients, args.results)
    n_rows = args.patients * args.results
    print(
        f"benchmark clinic: {args.patients} patients x {args.results} results = {n_rows:,} rows "
        f"({paths['labs'].stat().st_size / 1e6:.1f} MB; "
        + (f"generated in {generated_s:.1f} s)" if generated_s is not None else "reused)")
    )
    runs: dict[str, list[dict]] = {"floor": [], "lenadash": []}
    for _ in range(args.repeat):  # alternate the phases so that machine load hits both alike
        for phase in ("floor", "lenadash"):
            db = OUT / f"import_{phase}.sqlite"
            for p in (db, Path(f"{db}-journal"), Path(f"{db}-wal"), Path(f"{db}-shm")):
                p.unlink(missing_ok=True)
            runs[phase].append(run_phase(Path(__file__), phase, "--labs", str(paths["labs"]), "--db", str(db)))
            db.unlink(missing_ok=True)
    floor = min(runs["floor"], key=lambda r: r["total_s"])
    real = min(runs["lenadash"], key=lambda r: r["total_s"])
    for r in runs["floor"] + runs["lenadash"]:
        if r["rows"] != n_rows:
            print(f"WARNING: {r['phase']} stored {r['rows']:,} rows, expected {n_rows:,}")
    labels = {
        "floor": "floor: pandas.read_csv + sqlite3 executemany",
        "lenadash": "lenadash: ingest.read_labs + store.save_labs",
    }
    rows = [
        [
            f"{labels[name]}{f' (run {i + 1})' if args.repeat > 1 else ''}",
            f"{r['read_s']:.2f}",
            f"{r['write_s']:.2f}",
            f"{r['total_s']:.2f}",
            f"{n_rows / r['total_s']:,.0f}",
            f"{r['peak_rss_mb']:,.0f}",
        ]
        for name in ("floor", "lenadash")
        for i, r in enumerate(runs[name])
    ]
    print(table(rows, ["path", "read s", "write s", "total s", "rows/s", "peak RSS MB"]))
    ratio = real["total_s"] / floor["total_s"]
    peak = max(r["peak_rss_mb"] for r in runs["lenadash"])
    ok_ratio, ok_rss = ratio <= TARGET_RATIO, peak <= TARGET_RSS_MB
    print(
        f"best of {args.repeat}: floor {floor['total_s']:.2f} s, lenadash {real['total_s']:.2f} s "
        f"({n_rows / real['total_s']:,.0f} rows/s)"
    )
    print(
        f"ratio lenadash/floor: {ratio:.2f}x (target <= {TARGET_RATIO:g}x: {'met' if ok_ratio else 'MISSED'}); "
        f"peak RSS {peak:,.0f} MB (target < {TARGET_RSS_MB:,.0f} MB: {'met' if ok_rss else 'MISSED'})"
    )
    path = save(
        "bench_import",
        {
            "rows": n_rows,
            "floor": floor,
            "lenadash": real,
            "ratio": ratio,
            "runs": runs,
            "target_ratio": TARGET_RATIO,
            "target_rss_mb": TARGET_RSS_MB,
            "machine": machine(),
        },
    )
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
