"""Feeds benchmark: 100,000 lab results as HL7 v2 ORU^R01 messages vs the same results as a long CSV.

Both go through the real path (ingest.read_labs, which tells the format from the content, then
store.save_labs) into a fresh SQLite file, each run in a fresh subprocess, the formats alternating.
Target: HL7 within 2x the CSV's time (issue 12).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, emit, ensure_clinic, machine, peak_rss_mb, run_phase, save, table

TARGET_RATIO = 2.0
# Epic component names (the benchmark CSV's) to LOINC, so the messages code tests as labs send them
LOINC = {
    "WBC": "6690-2",
    "NEUTROPHILS ABSOLUTE": "751-8",
    "LYMPHOCYTES ABSOLUTE": "731-0",
    "HEMOGLOBIN": "718-7",
    "PLATELET COUNT": "777-3",
    "SODIUM": "2951-2",
    "POTASSIUM": "2823-3",
    "CHLORIDE": "2075-0",
    "CO2": "2028-9",
    "BUN": "3094-0",
    "GLUCOSE": "2345-7",
    "CREATININE": "2160-0",
    "CALCIUM": "17861-6",
    "ALBUMIN": "1751-7",
    "PROTEIN TOTAL": "2885-2",
    "ALKALINE PHOSPHATASE": "6768-6",
    "AST": "1920-8",
    "ALT": "1742-6",
    "BILIRUBIN TOTAL": "1975-2",
}


def csv_as_hl7(data: bytes) -> bytes:
    """The long CSV's results as ORU^R01 messages: one message per patient and draw, one OBX per row,
    in the CSV's order (so both files hold the same results, line for line)."""
    out: list[str] = []
    last = None
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    n = 0
    for row in reader:
        when = time.strftime("%Y%m%d%H%M", time.strptime(row["Collection Date/Time"], "%m/%d/%Y %H:%M"))
        draw = (row["MRN"], when)
        if draw != last:
            n += 1
            obx_n = 0
            out.append(
                f"MSH|^~\\&|BENCHLAB|LAB|LENADASH|CLINIC|{when}||ORU^R01^ORU_R01|B{n:07d}|P|2.5.1\r"
                f"PID|1||{row['MRN']}^^^CLINIC^MR\rOBR|1||A{n:07d}|58410-2^CBC panel^LN|||{when}"
            )
            last = draw
        obx_n += 1
        code = LOINC.get(row["Component"], row["Component"])
        status = {"Final": "F", "Corrected": "C", "Preliminary": "P"}.get(row["Result Status"], "F")
        out.append(
            f"OBX|{obx_n}|NM|{code}^{row['Component']}^LN||{row['Result']}|{row['Units']}|"
            f"{row['Reference Range']}|{row['Flag']}|||{status}|||{when}"
        )
    return ("\r".join(out) + "\r").encode("utf-8")


def phase(labs: Path, db: Path) -> dict:
    from lenadash import ingest, store

    engine = store.make_engine(f"sqlite:///{db}")  # schema creation is not timed
    t0 = time.perf_counter()
    data = labs.read_bytes()
    imported = ingest.read_labs(data, file_name=labs.name)
    t_read = time.perf_counter()
    with store.open_session(engine) as session:
        summary = store.save_labs(session=session, file_name=labs.name, data=data, lab_import=imported)
    t_end = time.perf_counter()
    engine.dispose()
    return {
        "format": imported.shape,
        "rows": summary.rows_imported + summary.rows_superseding,
        "rows_read": summary.rows_read,
        "read_s": t_read - t0,
        "write_s": t_end - t_read,
        "total_s": t_end - t0,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--results", type=int, default=1000, help="results per patient")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each format (alternating); best reported")
    parser.add_argument("--quick", action="store_true", help="10 patients x 1,000 results, one run of each format")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--labs", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit(phase(Path(args.labs), Path(args.db)))
        return 0
    if args.quick:
        args.patients, args.results, args.repeat = 10, 1000, 1

    paths, _ = ensure_clinic(args.patients, args.results)
    files = {"csv": paths["labs"], "hl7": paths["labs"].with_name("labs.hl7")}
    if not files["hl7"].exists():
        files["hl7"].write_bytes(csv_as_hl7(paths["labs"].read_bytes()))
    n_rows = args.patients * args.results
    print(
        f"{n_rows:,} results: long CSV {files['csv'].stat().st_size / 1e6:.1f} MB, "
        f"HL7 {files['hl7'].stat().st_size / 1e6:.1f} MB"
    )
    runs: dict[str, list[dict]] = {"csv": [], "hl7": []}
    for _ in range(args.repeat):
        for fmt, path in files.items():
            db = OUT / f"feeds_{fmt}.sqlite"
            for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
                p.unlink(missing_ok=True)
            runs[fmt].append(run_phase(Path(__file__), fmt, "--labs", str(path), "--db", str(db)))
            db.unlink(missing_ok=True)
    best = {fmt: min(r, key=lambda x: x["total_s"]) for fmt, r in runs.items()}
    rows = [
        [
            f"{fmt} (run {i + 1})",
            f"{r['read_s']:.2f}",
            f"{r['write_s']:.2f}",
            f"{r['total_s']:.2f}",
            f"{r['rows']:,}",
            f"{r['peak_rss_mb']:,.0f}",
        ]
        for fmt in runs
        for i, r in enumerate(runs[fmt])
    ]
    print(table(rows, ["format", "read s", "write s", "total s", "results stored", "peak RSS MB"]))
    ratio = best["hl7"]["total_s"] / best["csv"]["total_s"]
    same = best["hl7"]["rows"] == best["csv"]["rows"] == n_rows
    print(
        f"best of {args.repeat}: CSV {best['csv']['total_s']:.2f} s, HL7 {best['hl7']['total_s']:.2f} s; "
        f"ratio HL7/CSV {ratio:.2f}x (target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'}); "
        f"same results stored: {'yes' if same else 'NO'}"
    )
    path = save(
        "bench_feeds_quick" if args.quick else "bench_feeds",
        {"rows": n_rows, "best": best, "runs": runs, "ratio": ratio, "machine": machine()},
    )
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
