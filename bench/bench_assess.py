"""Assessment benchmark: assess.assess over the 1,000-patient, 1,000,000-result benchmark clinic loaded from SQLite."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, emit, ensure_clinic, machine, peak_rss_mb, run_phase, save, table

TARGET_ASSESS_S = 5.0


def phase_setup(folder: Path, db: Path) -> dict:
    """Import patients, events and labs into a fresh SQLite database through ingest + store."""
    from lenadash import ingest, store

    t0 = time.perf_counter()
    engine = store.make_engine(f"sqlite:///{db}")
    with store.open_session(engine) as session:
        for reader, saver, name in (
            (ingest.read_patients, store.save_patients, "patients.csv"),
            (ingest.read_events, store.save_events, "events.csv"),
        ):
            data = (folder / name).read_bytes()
            saver(session=session, file_name=name, data=data, table_import=reader(data, file_name=name))
        data = (folder / "labs_long_us.csv").read_bytes()
        summary = store.save_labs(
            session=session,
            file_name="labs_long_us.csv",
            data=data,
            lab_import=ingest.read_labs(data, file_name="labs_long_us.csv"),
        )
    engine.dispose()
    return {"phase": "setup", "labs_imported": summary.rows_imported, "seconds": time.perf_counter() - t0}


def phase_assess(db: Path, as_of: str) -> dict:
    """Load everything with store.load_* (timed apart), then time assess.assess alone."""
    import datetime as dt

    from lenadash import store
    from lenadash.clinical import assess

    engine = store.make_engine(f"sqlite:///{db}")
    t0 = time.perf_counter()
    with store.open_session(engine) as session:
        patients = store.load_patients(session=session)
        events = store.load_events(session=session)
        labs = store.load_labs(session=session)
    t_load = time.perf_counter()
    rss_loaded = peak_rss_mb()
    result = assess.assess(patients, labs, events, as_of=dt.date.fromisoformat(as_of))
    t_assess = time.perf_counter()
    entries = result["patients"]
    statuses: dict[str, int] = {}
    for entry in entries:
        statuses[str(entry.get("status"))] = statuses.get(str(entry.get("status")), 0) + 1
    n_draws = sum(len(entry.get("draws") or []) for entry in entries)
    engine.dispose()
    return {
        "phase": "assess",
        "labs": len(labs),
        "patients": len(patients),
        "events": len(events),
        "load_s": t_load - t0,
        "assess_s": t_assess - t_load,
        "entries": len(entries),
        "draws": n_draws,
        "statuses": statuses,
        "peak_rss_after_load_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--repeat", type=int, default=1, help="assess runs, each in a fresh process")
    parser.add_argument("--phase", choices=["setup", "assess"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "setup":
        emit(phase_setup(Path(args.folder), Path(args.db)))
        return 0
    if args.phase == "assess":
        emit(phase_assess(Path(args.db), args.as_of))
        return 0

    from lenadash import samples

    paths, _ = ensure_clinic(args.patients, args.results)
    n_rows = args.patients * args.results
    db = OUT / f"assess_{args.patients}x{args.results}.sqlite"
    db.unlink(missing_ok=True)
    setup = run_phase(Path(__file__), "setup", "--folder", str(paths["labs"].parent), "--db", str(db))
    print(
        f"setup: imported {setup['labs_imported']:,} of {n_rows:,} results for {args.patients} patients "
        f"in {setup['seconds']:.1f} s (not part of the figure)"
    )
    runs = [
        run_phase(Path(__file__), "assess", "--db", str(db), "--as-of", samples.TODAY.isoformat())
        for _ in range(args.repeat)
    ]
    rows = [
        [i + 1, f"{r['load_s']:.2f}", f"{r['assess_s']:.2f}", f"{r['peak_rss_mb']:,.0f}", r["entries"], r["draws"]]
        for i, r in enumerate(runs)
    ]
    print(table(rows, ["run", "store.load_* s", "assess.assess s", "peak RSS MB", "courses", "draws"]))
    best = min(r["assess_s"] for r in runs)
    print(
        f"assess over {runs[0]['labs']:,} results: best {best:.2f} s (target < {TARGET_ASSESS_S:g} s: "
        f"{'met' if best < TARGET_ASSESS_S else 'MISSED'}); statuses {runs[0]['statuses']}"
    )
    path = save(
        "bench_assess",
        {
            "rows": n_rows,
            "setup": setup,
            "runs": runs,
            "best_assess_s": best,
            "target_s": TARGET_ASSESS_S,
            "machine": machine(),
        },
    )
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    db.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
