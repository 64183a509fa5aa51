"""First load of a new session, reruns, the patient page and a second session (server-side, AppTest).

Sizes: 400k (200 patients x 2 years of weekly CBC + CMP = 1,975 results each: 395,000), 1M (1,000 x
1,000) and 5M (5,000 x 1,000). Per size, in fresh subprocesses (bench/README.md):

- setup (not timed into the figures): the benchmark clinic imported with lenadash's own import
  (bench/_common.py:clinic_db), then one overview run: the first open after an import, reported apart;
- measure (`--repeat` times, each in its own fresh process): a fresh AppTest on an empty clinic, run
  twice (the process's imports, then a new session's own framework time: printed for reference), then a
  fresh AppTest on the clinic: first load of the overview, a rerun, the patient page (first view, rerun),
  then a SECOND fresh AppTest = a second session on the same data; the floors: a bare `pd.read_sql` of
  the rows the worklist shows (the kept summary rows when the database has them, else the course rows)
  and of one patient's lab rows; peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, REPO, best_and_range, clinic_db, emit, machine, peak_rss_mb, run_phase, save, table, verdict

SIZES = {"400k": (200, 1975), "1M": (1000, 1000), "5M": (5000, 1000)}
QUICK = {"quick": (20, 200)}
# issue 14's targets (seconds, MB); the first-load target depends on the size
TARGET_FIRST_S = {"400k": 1.0, "1M": 2.0, "5M": 3.0, "quick": 1.0}
TARGET_SECOND_S = 0.5
TARGET_PATIENT_S = 0.3
TARGET_RSS_5M_MB = 2048


def _env(db: Path) -> None:
    data = OUT / "dashboard_data"
    data.mkdir(parents=True, exist_ok=True)
    os.environ["LENADASH_DATA_DIR"] = str(data)
    os.environ["LENADASH_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["LENADASH_DEMO_DATABASE_URL"] = f"sqlite:///{data / 'demo.sqlite'}"


def _fresh_run(page: str = "app_pages/overview.py"):
    """A new session: a fresh AppTest of app.py opened on `page`; (seconds of its first run, the AppTest)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=1800)
    at.switch_page(page)
    return _timed(at), at


CPU: dict[str, float] = {}  # the last run's CPU seconds (this process: the script thread and AppTest's)


def _timed(at) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    took = time.perf_counter() - t0
    CPU["last"] = time.process_time() - c0
    if at.exception:
        raise SystemExit(f"page raised: {[e.value for e in at.exception]}")
    return took


def _worklist_rows(at) -> int:
    titles = [t.value for t in at.title]
    assert "Clinic overview" in titles, f"not the overview: {titles}"
    return max((len(d.value) for d in at.dataframe), default=0)


def _open_patient(at, mrn: str) -> float:
    at.session_state["patient_mrn"] = mrn
    at.switch_page("app_pages/patient.py")
    took = _timed(at)
    assert "Clinic overview" not in [t.value for t in at.title], "not the patient page"
    assert len(at.get("plotly_chart")) >= 1, "the patient page shows no chart"
    return took


def phase_setup(n_patients: int, results: int) -> dict:
    """Import the clinic once (clinic_db), then open the overview once: the first open after an import."""
    t0 = time.perf_counter()
    db = clinic_db(n_patients, results)
    imported = time.perf_counter() - t0
    _env(db)
    first_open, at = _fresh_run()
    return {
        "db": str(db),
        "import_s": imported,
        "first_open_after_import_s": first_open,
        "rows": _worklist_rows(at),
        "peak_rss_mb": peak_rss_mb(),  # the import (when it ran here) and the first open after it
    }


def _sql_floors(db: Path, mrn: str) -> dict:
    """Bare reads of what the pages show, no lenadash code: the floor of a first load."""
    import sqlite3

    import pandas as pd

    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        summary = "course_summary" if "course_summary" in tables else "treatment_course"
        t0 = time.perf_counter()
        rows = pd.read_sql(f"SELECT * FROM {summary}", con)
        t1 = time.perf_counter()
        labs = pd.read_sql(
            "SELECT l.* FROM lab_result l JOIN patient p ON p.id = l.patient_id WHERE p.mrn = ? "
            "ORDER BY l.collected_at",
            con,
            params=(mrn,),
        )
        t2 = time.perf_counter()
    return {
        "worklist_table": summary,
        "worklist_rows": len(rows),
        "worklist_sql_s": t1 - t0,
        "patient_rows": len(labs),
        "patient_sql_s": t2 - t1,
    }


def phase_measure(db: Path, empty: Path, mrn: str) -> dict:
    _env(empty)
    _fresh_run()  # this process's imports (Streamlit, lenadash, the pages): not part of any figure
    floor_app, _ = _fresh_run()  # a new session's first overview on an empty clinic: the framework's own time
    _env(db)
    first, at = _fresh_run()
    first_cpu = CPU["last"]
    rows = _worklist_rows(at)
    rerun = _timed(at)
    patient_first = _open_patient(at, mrn)
    patient_cpu = CPU["last"]
    patient_rerun = _timed(at)
    second, at2 = _fresh_run()
    second_cpu = CPU["last"]
    _worklist_rows(at2)
    return {
        "phase": "measure",
        "floor_app_s": floor_app,
        "first_s": first,
        "first_cpu_s": first_cpu,
        "patient_first_cpu_s": patient_cpu,
        "second_session_cpu_s": second_cpu,
        "rerun_s": rerun,
        "patient_first_s": patient_first,
        "patient_rerun_s": patient_rerun,
        "second_session_s": second,
        "worklist_rows": rows,
        **_sql_floors(db, mrn),
        "peak_rss_mb": peak_rss_mb(),
    }


def _report(size: str, setup: dict, runs: list[dict]) -> dict:
    def pick(key):
        return best_and_range([r[key] for r in runs])

    floor_app = min(r["floor_app_s"] for r in runs)
    wl_floor = min(r["worklist_sql_s"] for r in runs)
    pt_floor = min(r["patient_sql_s"] for r in runs)
    rss = max(r["peak_rss_mb"] for r in runs)
    first, second, patient = pick("first_s"), pick("second_session_s"), pick("patient_first_s")
    cpu = {k: min(r[k] for r in runs) for k in ("first_cpu_s", "patient_first_cpu_s", "second_session_cpu_s")}
    target_first = TARGET_FIRST_S[size]
    lines = [
        [
            "first load, new session (overview)",
            f"{first['text']} (CPU {cpu['first_cpu_s']:.2f})",
            f"{wl_floor:.3f}",
            f"< {target_first:g}",
            verdict(first["best"], target_first),
        ],
        ["overview rerun", pick("rerun_s")["text"], "", "", ""],
        ["(reference) a new session on an empty clinic", f"{floor_app:.2f}", "", "", ""],
        [
            "patient page, first view",
            f"{patient['text']} (CPU {cpu['patient_first_cpu_s']:.2f})",
            f"{pt_floor:.3f}",
            f"< {TARGET_PATIENT_S:g}",
            verdict(patient["best"], TARGET_PATIENT_S),
        ],
        ["patient page rerun", pick("patient_rerun_s")["text"], "", "", ""],
        [
            "second session (overview)",
            f"{second['text']} (CPU {cpu['second_session_cpu_s']:.2f})",
            f"{wl_floor:.3f}",
            f"< {TARGET_SECOND_S:g}",
            verdict(second["best"], TARGET_SECOND_S),
        ],
        [
            "peak RSS MB (measure process)",
            f"{rss:,.0f}",
            "",
            "< 2,048" if size == "5M" else "",
            verdict(rss, TARGET_RSS_5M_MB) if size == "5M" else "",
        ],
    ]
    print(
        f"\n{size}: {setup['rows']} worklist rows; first open after the import "
        f"{setup['first_open_after_import_s']:.1f} s (setup, not a figure; that process's peak RSS "
        f"{setup['peak_rss_mb']:,.0f} MB). Floors: a bare `pd.read_sql` of the "
        f"{runs[0]['worklist_rows']:,} {runs[0]['worklist_table']} rows (worklist) and of the "
        f"{runs[0]['patient_rows']:,} lab rows of one patient (patient page)"
    )
    print(table(lines, ["measure (best; range over runs), s", "measured (best CPU s)", "floor", "target", ""]))
    return {
        "size": size,
        "setup": setup,
        "runs": runs,
        "first": first,
        "second": second,
        "patient": patient,
        "cpu_best_s": cpu,
        "floor_first_s": wl_floor,
        "floor_patient_s": pt_floor,
        "floor_app_s": floor_app,
        "peak_rss_mb": rss,
        "target_first_s": target_first,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="400k,1M,5M", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--repeat", type=int, default=1, help="measure runs per size, each in a fresh process")
    parser.add_argument("--quick", action="store_true", help="one small clinic (20 x 200 results), one run")
    parser.add_argument("--phase", choices=["setup", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--m", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--mrn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "setup":
        emit(phase_setup(args.n, args.m))
        return 0
    if args.phase == "measure":
        emit(phase_measure(Path(args.db), OUT / "dashboard_empty.sqlite", args.mrn))
        return 0
    sizes = QUICK if args.quick else {s: SIZES[s] for s in args.sizes.split(",")}
    reports = []
    for size, (n, m) in sizes.items():
        setup = run_phase(Path(__file__), "setup", "--n", str(n), "--m", str(m))
        mrn = f"LB{(n // 2) + 1:06d}"
        runs = [run_phase(Path(__file__), "measure", "--db", setup["db"], "--mrn", mrn) for _ in range(args.repeat)]
        reports.append(_report(size, setup, runs))
    path = save("bench_dashboard_quick" if args.quick else "bench_dashboard", {"sizes": reports, "machine": machine()})
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
