"""Dashboard benchmark: server-side script time of the overview and patient pages on the 1M-result clinic (AppTest)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, REPO, ensure_clinic, machine, peak_rss_mb, save, table

TARGETS_S = {"overview_rerun": 1.0, "patient_rerun": 0.3}


def _database(n_patients: int, results: int) -> Path:
    """The benchmark clinic imported through the real path (store.import_paths), once."""
    from lenadash import imports, store

    paths, _ = ensure_clinic(n_patients, results)
    db = OUT / f"dashboard_{n_patients}x{results}.sqlite"
    if not db.exists():
        t0 = time.perf_counter()
        engine = store.make_engine(f"sqlite:///{db}")
        with store.open_session(engine) as s:
            imports.import_paths(session=s, paths=list(paths.values()))
        engine.dispose()
        print(f"imported the benchmark clinic into {db.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return db


def _timed_run(at, *, timeout: float) -> float:
    t0 = time.perf_counter()
    at.run(timeout=timeout)
    took = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"page raised: {[e.value for e in at.exception]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--reruns", type=int, default=5)
    args = parser.parse_args()

    db = _database(args.patients, args.results)
    os.environ["LENADASH_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["LENADASH_DATA_DIR"] = str(OUT)
    from streamlit.testing.v1 import AppTest

    from lenadash import samples

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=900)
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.switch_page("app_pages/overview.py")
    cold = _timed_run(at, timeout=900)  # loads every result and assesses once per data version
    clinic = at.session_state["lenadash_clinic"]
    overview = [_timed_run(at, timeout=60) for _ in range(args.reruns)]
    assert at.title[0].value == "Clinic overview" and len(at.dataframe[0].value) == len(clinic.worklist)

    mrns = list(clinic.worklist["mrn"])
    first_views, patient = [], []
    for mrn in (mrns[0], mrns[len(mrns) // 2]):
        at.session_state["patient_mrn"] = mrn
        at.switch_page("app_pages/patient.py")
        first_views.append(_timed_run(at, timeout=120))  # one patient's labs + figure build
        assert len(at.get("plotly_chart")) == 2 and at.title[0].value != "Clinic overview", "not the patient page"
        patient += [_timed_run(at, timeout=60) for _ in range(args.reruns)]

    result = {
        "patients": len(clinic.result["patients"]),
        "results": int(args.patients * args.results),
        "cold_first_run_s": round(cold, 2),
        "of_which_load_s": round(clinic.load_seconds, 2),
        "of_which_assess_s": round(clinic.assess_seconds, 2),
        "overview_rerun_median_s": round(statistics.median(overview), 3),
        "overview_rerun_max_s": round(max(overview), 3),
        "patient_first_view_s": [round(x, 3) for x in first_views],
        "patient_rerun_median_s": round(statistics.median(patient), 3),
        "patient_rerun_max_s": round(max(patient), 3),
        "targets_s": TARGETS_S,
        "peak_rss_mb": round(peak_rss_mb()),
        "machine": machine(),
    }
    rows = [
        ["first run (load + assess, once per data version)", result["cold_first_run_s"], ""],
        ["clinic overview rerun (median)", result["overview_rerun_median_s"], TARGETS_S["overview_rerun"]],
        ["patient page first view (labs + figures)", max(result["patient_first_view_s"]), ""],
        ["patient page rerun (median)", result["patient_rerun_median_s"], TARGETS_S["patient_rerun"]],
    ]
    print(table(rows, ["server-side script time", "seconds", "target"]))
    print(
        f"load {result['of_which_load_s']} s, assess {result['of_which_assess_s']} s, "
        f"peak RSS {result['peak_rss_mb']} MB"
    )
    print(f"saved {save('bench_dashboard', result)}")
    ok = (
        result["overview_rerun_median_s"] <= TARGETS_S["overview_rerun"]
        and result["patient_rerun_median_s"] <= TARGETS_S["patient_rerun"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
