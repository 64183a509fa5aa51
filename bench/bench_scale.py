"""Scale: assess over 100 / 1,000 / 5,000 courses (1,000 results each: 100k / 1M / 5M results).

Per size: the clinic imported once (setup, not timed: bench/_common.py:clinic_db; the 5M import takes
minutes), then `--repeat` runs of bench_assess.py's assess phase, each in a fresh process: the floor
(store.load_* reading the frames), `assess.assess` alone, and that process's peak RSS (VmHWM). The
fitted exponent b of time = a * courses**b (least squares on log-log, best run per size) says how time
grows: 1 is linear (issue 14's target). It is fitted on the CPU time of the call (the verdict) and on
its wall time: on the shared machine the load, and so the wall time, moves by 2x between sizes. The
dashboard's figures at 5M (worklist first load, patient page, peak RSS) are bench_dashboard.py's
(`--sizes 5M`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_assess
from _common import REPO, SCALE_HEAD, best_and_range, fit_exponent, machine, save, scale_rows, table

SIZES = (100, 1000, 5000)
QUICK = (10, 40)
TARGET_EXPONENT = 1.1  # "linear in the number of courses", with room for noise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", default=",".join(map(str, SIZES)), help="comma-separated numbers of courses")
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--repeat", type=int, default=1, help="assess runs per size, each in a fresh process")
    parser.add_argument("--quick", action="store_true", help="10 and 40 courses x 200 results, one run each")
    args = parser.parse_args()
    sizes = list(QUICK) if args.quick else [int(x) for x in args.courses.split(",")]
    results = 200 if args.quick else args.results
    repeat = 1 if args.quick else args.repeat
    out = []
    for n in sizes:
        setup, runs = bench_assess.measure(n, results, repeat)
        out.append(
            {
                "courses": n,
                "results": runs[0]["labs"],
                "assess_s": best_and_range([r["assess_s"] for r in runs]),
                "assess_cpu_s": best_and_range([r["assess_cpu_s"] for r in runs]),
                "load_s": best_and_range([r["load_s"] for r in runs]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "runs": runs,
            }
        )
        print(f"{n} courses: assess {out[-1]['assess_s']['text']} s, peak RSS {out[-1]['peak_rss_mb']:,.0f} MB")
    courses = [o["courses"] for o in out]
    b_assess = fit_exponent(courses, [o["assess_s"]["best"] for o in out]) if len(out) > 1 else float("nan")
    b_load = fit_exponent(courses, [o["load_s"]["best"] for o in out]) if len(out) > 1 else float("nan")
    # the CPU time's exponent: the shared machine's load moves wall times by 2x between sizes, CPU time far less
    b_cpu = fit_exponent(courses, [o["assess_cpu_s"]["best"] for o in out]) if len(out) > 1 else float("nan")
    print(table(scale_rows(out), SCALE_HEAD))
    verdict = "met" if b_cpu <= TARGET_EXPONENT else "MISSED"
    print(
        f"fitted exponent (time ~ courses^b): assess CPU time b = {b_cpu:.2f} (target: linear, b <= "
        f"{TARGET_EXPONENT}: {verdict}); assess wall time b = {b_assess:.2f}; load (floor) b = {b_load:.2f}"
    )
    path = save(
        "bench_scale_quick" if args.quick else "bench_scale",
        {
            "sizes": out,
            "exponent_assess": b_assess,
            "exponent_assess_cpu": b_cpu,
            "exponent_load": b_load,
            "machine": machine(),
        },
    )
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
