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


def run_phase(script: Path, phase: str, *args: str) -> dict:
    """Run `script --phase PHASE ARGS` in a fresh interpreter; it prints one JSON line last."""
    cmd = [sys.executable, str(script), "--phase", phase, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"})
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
    import platform

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def save(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
