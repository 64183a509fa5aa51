"""Byte-compare of the assess output before and after a speed change (not a benchmark: ./dev bench skips it).

    .venv/bin/python bench/_assess_json.py save before   # bench/out/assess_json_before/*.json
    .venv/bin/python bench/_assess_json.py compare before    # the current code's output against it, byte for byte

Two clinics: the sample clinic (sample_data/, imported into SQLite) and the benchmark clinic of
--patients x --results (default 1,000 x 1,000 = 1M results), each loaded with store.load_* and
assessed as of the sample data's today; the JSON is `json.dumps(result, sort_keys=True)`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, clinic_db


def _sample_db() -> Path:
    from lenadash import imports, store

    db = OUT / "assess_json_sample.sqlite"
    if not db.exists():
        engine = store.make_engine(f"sqlite:///{db}")
        with store.open_session(engine) as session:
            imports.import_paths(session=session, paths=list(imports.sample_files()))
        engine.dispose()
    return db


def _assess_json(db: Path) -> tuple[str, float]:
    from lenadash import samples, store
    from lenadash.clinical import assess

    engine = store.make_engine(f"sqlite:///{db}")
    with store.open_session(engine) as session:
        patients = store.load_patients(session=session)
        events = store.load_events(session=session)
        labs = store.load_labs(session=session)
    engine.dispose()
    t0 = time.perf_counter()
    result = assess.assess(patients, labs, events, as_of=samples.TODAY)
    took = time.perf_counter() - t0
    return json.dumps(result, sort_keys=True, default=str), took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["save", "compare"])
    parser.add_argument("label")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000)
    args = parser.parse_args()
    folder = OUT / f"assess_json_{args.label}"
    folder.mkdir(parents=True, exist_ok=True)
    clinics = {"sample": _sample_db(), f"bench_{args.patients}x{args.results}": clinic_db(args.patients, args.results)}
    same = True
    for name, db in clinics.items():
        text, took = _assess_json(db)
        path = folder / f"{name}.json"
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if args.action == "save":
            path.write_text(text, encoding="utf-8")
            print(f"{name}: saved {len(text):,} characters (sha256 {digest}), assess {took:.2f} s")
            continue
        ok = path.read_text(encoding="utf-8") == text
        same &= ok
        print(f"{name}: {'identical' if ok else 'DIFFERENT'} (sha256 {digest}), assess {took:.2f} s")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
