"""Parse benchmark (issue 14): `ingest.read_labs` alone on the 1M-row lab export, beside pandas' Arrow read of it.

Phases, each in a fresh subprocess (its own peak RSS and page faults), alternating, `--repeat` rounds:
- floor: `pd.read_csv(dtype=str, engine="pyarrow")` of the same bytes, every cell as text (what read_labs
  itself starts from);
- read_labs: `ingest.read_labs` of the bytes (sniff, parse, normalise, problems).
Each phase reads the file into memory first (not timed; in both) and reports wall time, user and system
CPU and minor page faults of the call alone (getrusage before and after), and the process's peak RSS.
With `--digest` the read_labs phase also prints a digest of its output, to compare two versions of the code
on the full-size file (tests/test_ingest_speed_identity.py does that on ~140 small files in the suite).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, best_and_range, emit, ensure_clinic, machine, peak_rss_mb, run_phase, save, table

PHASES = ("floor", "read_labs")


def _floor(data: bytes) -> int:
    import pandas as pd

    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[], engine="pyarrow")
    return len(df)


def _read_labs(data: bytes) -> int:
    from lenadash import ingest

    return len(ingest.read_labs(data, file_name="labs_long_us.csv").results)


def output_digest(data: bytes) -> str:
    """A digest of read_labs' results and problems: dtypes and every value (pandas' row hashes)."""
    import pandas as pd

    from lenadash import ingest

    imp = ingest.read_labs(data, file_name="labs_long_us.csv")
    h = hashlib.sha256()
    for df in (imp.results, imp.problems, imp.conversions):
        h.update(repr([(c, repr(t)) for c, t in df.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()[:24]


def phase(args) -> dict:
    import numpy  # noqa: F401  (imported before the clock starts in both phases)
    import pandas  # noqa: F401
    import pyarrow.csv  # noqa: F401

    if args.phase == "read_labs":
        import lenadash.ingest  # noqa: F401

    data = Path(args.labs).read_bytes()
    before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    rows = (_floor if args.phase == "floor" else _read_labs)(data)
    wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "phase": args.phase,
        "rows": rows,
        "wall_s": wall,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.digest and args.phase == "read_labs":
        out["digest"] = output_digest(data)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--quick", action="store_true", help="100 patients x 500 results")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each runs both phases); best and range")
    parser.add_argument("--digest", action="store_true", help="also print a digest of read_labs' output")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--labs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit(phase(args))
        return 0
    if args.quick:
        args.patients, args.results = 100, 500
    clinic, _ = ensure_clinic(args.patients, args.results)
    labs = clinic["labs"]
    extra = ["--digest"] if args.digest else []
    runs = {p: [] for p in PHASES}
    for _ in range(args.repeat):
        for p in PHASES:
            runs[p].append(run_phase(Path(__file__), p, "--labs", str(labs), *extra))
    n_rows = args.patients * args.results
    print(f"read_labs on {labs.name}: {n_rows:,} rows, {labs.stat().st_size / 1e6:.1f} MB; best of {args.repeat}")
    rows = []
    for p in PHASES:
        r = runs[p]
        rows.append(
            [
                p,
                best_and_range([x["wall_s"] for x in r])["text"],
                best_and_range([x["user_s"] for x in r])["text"],
                best_and_range([x["sys_s"] for x in r])["text"],
                f"{min(x['minor_faults'] for x in r):,}",
                f"{max(x['peak_rss_mb'] for x in r):,.0f}",
            ]
        )
    print(table(rows, ["phase", "wall s", "user CPU s", "system CPU s", "minor faults", "peak RSS MB"]))
    cpu = {p: min(x["user_s"] + x["sys_s"] for x in runs[p]) for p in PHASES}
    print(f"read_labs CPU (user + system) / floor: {cpu['read_labs'] / cpu['floor']:.2f}x")
    digests = sorted({x["digest"] for x in runs["read_labs"] if "digest" in x})
    if digests:
        print(f"read_labs output digest: {', '.join(digests)}")
    info = machine()
    print(f"load average {info['load_avg']} at {info['time_utc']} UTC, commit {info['commit']}")
    path = save("bench_parse", {"rows": n_rows, "runs": runs, "cpu_vs_floor": cpu, "machine": info})
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
