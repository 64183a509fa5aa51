"""Shared helpers for the benchmark scripts: the benchmark clinic on disk, fresh-subprocess phases, tables."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux VmHWM (reset by exec, so a fresh subprocess starts from zero); ru_maxrss elsewhere, which
    on Linux survives fork+exec and would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clinic_dir(n_patients: int, results_per_patient: int) -> Path:
    return OUT / f"clinic_{n_patients}x{results_per_patient}"


def ensure_clinic(n_patients: int, results_per_patient: int) -> tuple[dict[str, Path], float | None]:
    """Write the benchmark clinic once (lenadash.samples.benchmark_clinic); return paths and seconds taken."""
    from lenadash import samples

    folder = clinic_dir(n_patients, results_per_patient)
    paths = {"patients": folder / "patients.csv", "events": folder / "events.csv", "labs": folder / "labs_long_us.csv"}
    if all(p.exists() for p in paths.values()):
        return paths, None
    t0 = time.perf_counter()
    paths = samples.write_benchmark_clinic(folder, n_patients, results_per_patient=results_per_patient)
    return paths, time.perf_counter() - t0


def clinic_db(n_patients: int, results_per_patient: int) -> Path:
    """The benchmark clinic imported once through lenadash's own import into bench/out/clinic_<n>x<m>.sqlite.

    Setup, never timed: patients, events, then the lab file in slices of whole patients (at most
    1,000,000 rows each, cut at line boundaries), so that a 5M-row clinic does not need the whole file
    parsed in one process at once. Delete the file to import it again.
    """
    from lenadash import ingest, store

    paths, _ = ensure_clinic(n_patients, results_per_patient)
    db = OUT / f"clinic_{n_patients}x{results_per_patient}.sqlite"
    if db.exists():
        return db
    partial = db.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    t0 = time.perf_counter()
    engine = store.make_engine(f"sqlite:///{partial}")
    with store.open_session(engine) as session:
        for reader, saver, key in (
            (ingest.read_patients, store.save_patients, "patients"),
            (ingest.read_events, store.save_events, "events"),
        ):
            data = paths[key].read_bytes()
            saver(
                session=session,
                file_name=paths[key].name,
                data=data,
                table_import=reader(data, file_name=paths[key].name),
            )
    for data in _lab_slices(paths["labs"], max(1, 1_000_000 // results_per_patient) * results_per_patient):
        with store.open_session(engine) as session:
            lab_import = ingest.read_labs(data, file_name=paths["labs"].name)
            store.save_labs(session=session, file_name=paths["labs"].name, data=data, lab_import=lab_import)
    engine.dispose()
    partial.rename(db)
    print(
        f"setup: imported {paths['labs'].parent.name} into {db.name} in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    return db


def _lab_slices(path: Path, rows: int):
    """The lab file as bytes of `rows` data lines each (whole patients when `rows` is a multiple of
    the results per patient), each with the header line."""
    with path.open("rb") as f:
        header = f.readline()
        while True:
            lines = [line for _, line in zip(range(rows), f)]
            if not lines:
                return
            yield header + b"".join(lines)


def run_phase(script: Path, phase: str, *args: str) -> dict:
    """Run `script --phase PHASE ARGS` in a fresh interpreter; it prints one JSON line last."""
    cmd = [sys.executable, str(script), "--phase", phase, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"})
    sys.stderr.writelines(line for line in proc.stderr.splitlines(keepends=True) if line.startswith("setup:"))
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def emit(result: dict) -> None:
    """Print a phase's result as the JSON line run_phase reads."""
    print(json.dumps(result))


def table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict:
    """The machine and its load at the end of a run, and the commit measured."""
    import platform

    code = ["lenadash", "app.py", "app_pages"]  # the last commit that changed the code measured (not bench/, docs/)
    commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", *code], capture_output=True, text=True, cwd=REPO)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", *code], capture_output=True, text=True, cwd=REPO
    )
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "commit": commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else ""),
    }


def best_and_range(values: list[float]) -> dict:
    """Best (smallest) of the runs and their range, as numbers and as "best (lo-hi)" text."""
    best, worst = min(values), max(values)
    text = f"{best:.2f}" if len(values) == 1 else f"{best:.2f} ({best:.2f}-{worst:.2f})"
    return {"best": best, "worst": worst, "runs": values, "text": text}


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


def fit_exponent(sizes: list[float], seconds: list[float]) -> float:
    """b of seconds = a * sizes**b: least squares on log-log (1 = linear)."""
    import numpy as np

    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def save(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


# bench_scale's table, printed by the script and by _summary for docs/benchmarks.md
SCALE_HEAD = ["courses", "results", "floor: load s", "assess s", "CPU s", "CPU ms per course", "peak RSS MB"]


def scale_rows(sizes: list[dict]) -> list[list]:
    """One row of SCALE_HEAD per size bench_scale measured."""
    return [
        [
            o["courses"],
            f"{o['results']:,}",
            o["load_s"]["text"],
            o["assess_s"]["text"],
            f"{o['assess_cpu_s']['best']:.2f}",
            f"{o['assess_cpu_s']['best'] / o['courses'] * 1000:.1f}",
            f"{o['peak_rss_mb']:,.0f}",
        ]
        for o in sizes
    ]
