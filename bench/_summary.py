"""Markdown tables for docs/benchmarks.md and the README from the JSON the benchmarks wrote (not a benchmark).

    .venv/bin/python bench/_summary.py bench/out [bench/out/before]

Reads bench_dashboard*.json, bench_scale.json, bench_assess.json and bench_browser.json in the first
folder (the figures) and, when given, the second (the "before" column); prints the summary table and
one table per benchmark, each with its machine line (time UTC, load averages, commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _common import SCALE_HEAD, scale_rows


def _load(folder: Path, pattern: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(pattern))]


def _sizes(folder: Path | None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for doc in _load(folder, "bench_dashboard*.json") if folder else []:
        for s in doc.get("sizes", []):
            out[s["size"]] = {**s, "machine": doc["machine"]}
    return out


def _one(folder: Path | None, name: str) -> dict | None:
    docs = _load(folder, name) if folder else []
    return docs[0] if docs else None


def _machine(m: dict) -> str:
    load = m.get("load_avg") or [m.get("load_avg_1m")]
    return f"{m.get('time_utc', '?')} UTC, load {' / '.join(str(x) for x in load)}, commit {m.get('commit', '?')}"


def _fmt(x: float | None, unit: str = "s") -> str:
    if x is None:
        return "-"
    return f"{x:,.0f} MB" if unit == "MB" else f"{x:.2f} s"


def _met(x: float | None, target: float) -> str:
    return "" if x is None else ("met" if x < target else "**missed**")


def summary(now: Path, before: Path | None) -> str:
    d, b = _sizes(now), _sizes(before)
    scale, assess = _one(now, "bench_scale.json"), _one(now, "bench_assess.json")
    rows = []

    cpu_key = {"first": "first_cpu_s", "second": "second_session_cpu_s", "patient": "patient_first_cpu_s"}

    def dash(label, issue_now, size, key, target, floor_key=None, unit="s"):
        def value(src):
            s = src.get(size)
            if not s:
                return None
            return s["peak_rss_mb"] if key == "peak_rss_mb" else s[key]["best"]

        def cpu(src):
            s = src.get(size)
            return None if not s or key not in cpu_key else s.get("cpu_best_s", {}).get(cpu_key[key])

        got, was = value(d), value(b)
        if size in d and key != "peak_rss_mb":
            shown = d[size][key]["text"] + " s" + (f"; CPU {cpu(d):.2f} s" if cpu(d) is not None else "")
        else:
            shown = _fmt(got, unit)
        before_text = _fmt(was, unit) + (f"; CPU {cpu(b):.2f} s" if cpu(b) is not None else "")
        floor = f"{d[size][floor_key]:.3f} s" if size in d and floor_key else ""
        met = _met(got, target)
        if cpu(d) is not None:
            met += f" (CPU: {_met(cpu(d), target)})"
        rows.append(
            [label, issue_now, before_text if was is not None else "-", shown, floor, f"< {target:g} {unit}", met]
        )

    dash("first load of a new session, 200 patients x 2 y (395k)", "5.5 s", "400k", "first", 1.0, "floor_first_s")
    dash("first load of a new session, 1M results", "12.3 s", "1M", "first", 2.0, "floor_first_s")
    dash("second session on the same data, 1M", "same as the first", "1M", "second", 0.5, "floor_first_s")
    dash("worklist first load, 5M results", "135-160 s", "5M", "first", 3.0, "floor_first_s")
    dash("second session on the same data, 5M", "", "5M", "second", 0.5, "floor_first_s")
    dash("patient page, first view, 5M", "", "5M", "patient", 0.3, "floor_patient_s")
    dash("5M results peak RSS (the dashboard's process)", "5.8 GB", "5M", "peak_rss_mb", 2048, unit="MB")
    if assess:
        a = assess["assess_s"]
        was = _one(before, "bench_assess.json") if before else None
        rows.append(
            [
                "`assess.assess`, 1M results",
                "6.1-6.4 s",
                f"{was['assess_s']['best']:.2f} s; CPU {was['assess_cpu_s']['best']:.2f} s" if was else "-",
                f"{a['text']} s (CPU {assess['assess_cpu_s']['best']:.2f} s)",
                f"{assess['floor_load_s']['best']:.2f} s",
                "< 5 s",
                _met(a["best"], 5.0) + f" (CPU: {_met(assess['assess_cpu_s']['best'], 5.0)})",
            ]
        )
    if scale:
        was = _one(before, "bench_scale.json") if before else None
        rows.append(
            [
                "assess time vs courses (100 / 1,000 / 5,000): fitted exponent",
                "",
                f"{was['exponent_assess_cpu']:.2f}" if was else "-",
                f"{scale['exponent_assess_cpu']:.2f} (CPU time; wall {scale['exponent_assess']:.2f})",
                f"{scale['exponent_load']:.2f} (load)",
                "1 (linear)",
                "met" if scale["exponent_assess_cpu"] <= 1.1 else "**missed**",
            ]
        )
    head = ["measure", "issue's 'now'", "before (main this morning)", "measured: best (range)", "floor", "target", ""]
    return _table(head, rows)


def details(now: Path) -> str:
    parts = []
    for size, s in _sizes(now).items():
        runs = s["runs"]
        rows = [
            [
                i + 1,
                f"{r['first_s']:.2f}",
                f"{r['rerun_s']:.2f}",
                f"{r['patient_first_s']:.2f}",
                f"{r['patient_rerun_s']:.2f}",
                f"{r['second_session_s']:.2f}",
                f"{r['floor_app_s']:.2f}",
                f"{r['worklist_sql_s']:.3f} / {r['patient_sql_s']:.3f}",
                f"{r['peak_rss_mb']:,.0f}",
            ]
            for i, r in enumerate(runs)
        ]
        head = [
            "run",
            "first load",
            "rerun",
            "patient first",
            "patient rerun",
            "2nd session",
            "empty clinic",
            "floors (worklist / patient)",
            "peak RSS MB",
        ]
        parts.append(
            f"**{size}** ({_machine(s['machine'])}; first open after the import "
            f"{s['setup']['first_open_after_import_s']:.1f} s"
            + (f", peak RSS of that process {s['setup']['peak_rss_mb']:,.0f} MB" if "peak_rss_mb" in s["setup"] else "")
            + f"):\n\n{_table(head, rows)}"
        )
    scale = _one(now, "bench_scale.json")
    if scale:
        rows = scale_rows(scale["sizes"])
        head = SCALE_HEAD
        parts.append(
            f"**Scale** ({_machine(scale['machine'])}; fitted exponent: assess CPU time "
            f"{scale['exponent_assess_cpu']:.2f}, wall time {scale['exponent_assess']:.2f}, load "
            f"{scale['exponent_load']:.2f}):\n\n" + _table(head, rows)
        )
    browser = _one(now, "bench_browser.json")
    if browser:
        rows = [
            [i + 1, f"{r['floor_start_s']:.2f}", f"{r['overview_s']:.2f}", f"{r['first_chart_s']:.2f}"]
            for i, r in enumerate(browser["rounds"])
        ]
        parts.append(
            f"**Browser**, {browser['size']} ({_machine(browser['machine'])}; round 1 = the server's "
            f"first sessions):\n\n" + _table(["round", "floor: /start", "/overview", "first chart"], rows)
        )
    return "\n\n".join(parts)


def _table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    before = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    print(summary(folder, before))
    print()
    print(details(folder))
