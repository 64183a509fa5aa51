"""The kept assessment (issue 14): assessed once per change of a patient's inputs, shared by every session of
the server process and kept in the database (store.summary), so pages read what they show.

- The worklist reads one kept summary per patient (assess entries with their draws cut to the latest ones):
  no lab rows. A patient whose inputs changed (an import, an event, a course or patient edit: the
  store.summary.patient_inputs fingerprint) is reassessed alone - its own rows, through the (patient,
  collected time) index - and spliced in; the rows are written back for the next process.
- The patient page and the visit view assess their one patient (kept per patient fingerprint).
- The Clinic insight page assesses the whole clinic (kept per data version), on that page only.

Everything here is process-wide and read-only for its readers: a page never changes a frame or dict it got
from this module. Patient data stays in this process and the clinic's database; nothing is written elsewhere.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lenadash.dashboard.worklist import worklist_frame, worklist_rows

# Patients assessed together when many changed (a first start, a new as-of day): bounds the lab rows in
# memory at once (~200,000 at 1,000 results a patient) while keeping assess's per-call overhead small.
CHUNK_PATIENTS = 200
# One patient's full assessment (draws, labs) kept for the patient page: the last few patients opened.
PATIENTS_KEPT = 32
# (database, rule profile, as-of day) combinations kept in this process.
CLINICS_KEPT = 8
# Things built from the kept clinic for display (a worklist table, a patient's figure), shared by sessions.
SHARED_KEPT = 48
# The assess entry's insight fields (docs/insight.md), which the worklist never reads: most of an entry's size.
INSIGHT_FIELDS = ("nadirs", "nadir_trend", "monitoring", "exposure", "thresholds", "vte", "rems", "hold_spans")
# The analytes whose latest value the worklist shows (worklist._worklist_row).
WORKLIST_ANALYTES = ("anc", "plt", "hgb")


@dataclass(frozen=True)
class Snapshot:
    """The kept clinic at one data version: what the worklist, the pickers and Setup read."""

    version: str
    serial: int  # this process's count of snapshots: tells two snapshots of one version apart (own edits)
    as_of: dt.date
    rules: str
    grading: str | None
    inputs: dict[str, str]  # MRN -> store.summary.patient_inputs fingerprint
    entries: dict[str, list[dict]]  # MRN -> its assess entries, draws cut to the latest (summary_entry)
    rows: dict[str, list[dict]]  # MRN -> its worklist rows (worklist.worklist_rows)
    patients: pd.DataFrame
    events: pd.DataFrame
    worklist: pd.DataFrame
    assessed: tuple[str, ...] = ()  # MRNs (re)assessed to build this snapshot from the one before
    read_from_database: int = 0  # MRNs whose kept summary was read from the database
    seconds: dict[str, float] = field(default_factory=dict)

    def result(self) -> dict:
        """The assess contract's head with the summary entries (draws cut): what the worklist is built from."""
        entries = [e for mrn in sorted(self.entries) for e in self.entries[mrn]]
        return {"as_of": self.as_of.isoformat(), "rules": self.rules, "grading": self.grading, "patients": entries}


@dataclass
class _Kept:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: Snapshot | None = None


_LOCK = threading.Lock()
_CLINICS: OrderedDict[tuple, _Kept] = OrderedDict()
_PATIENTS: OrderedDict[tuple, dict] = OrderedDict()
_WHOLE: dict[tuple, tuple[tuple, dict]] = {}
_SHARED: OrderedDict[tuple, Any] = OrderedDict()
_SERIALS = itertools.count(1)
# Every MRN assessed in this process, in order (tests count them: an edit reassesses only its patient).
ASSESSED: list[str] = []


def forget() -> None:
    """Drop everything kept in this process (the database's summaries stay)."""
    with _LOCK:
        _CLINICS.clear()
        _PATIENTS.clear()
        _WHOLE.clear()
        _SHARED.clear()


def shared(key: tuple, build: Callable[[], Any]) -> Any:
    """`build()`, kept under `key` for every session of this process (the SHARED_KEPT last used): for what a
    page builds from kept data and only reads (a worklist table, a patient's figure). The key must name
    every input (e.g. the snapshot's serial, a patient's fingerprint)."""
    with _LOCK:
        if key in _SHARED:
            _SHARED.move_to_end(key)
            return _SHARED[key]
    value = build()
    with _LOCK:
        _SHARED[key] = value
        while len(_SHARED) > SHARED_KEPT:
            _SHARED.popitem(last=False)
    return value


def summary_entry(entry: dict) -> dict:
    """An assess entry as the worklist needs it: every field but the insight ones (INSIGHT_FIELDS), and only
    the draws the worklist reads - the last draw and the latest draw with each of WORKLIST_ANALYTES - in
    their order. tests/test_kept.py holds that the worklist built from these equals the whole clinic's."""
    draws = entry.get("draws") or []
    keep = {len(draws) - 1} if draws else set()
    for analyte in WORKLIST_ANALYTES:
        for i in range(len(draws) - 1, -1, -1):
            value = (draws[i].get("values") or {}).get(analyte)
            if value is not None:
                keep.add(i)
                break
    fields = {k: v for k, v in entry.items() if k not in INSIGHT_FIELDS}
    return {**fields, "draws": [draws[i] for i in sorted(keep)]}


def _kept(key: tuple) -> _Kept:
    with _LOCK:
        kept = _CLINICS.get(key)
        if kept is None:
            kept = _CLINICS[key] = _Kept()
            while len(_CLINICS) > CLINICS_KEPT:
                _CLINICS.popitem(last=False)
        _CLINICS.move_to_end(key)
        return kept


def clinic_snapshot(
    *, url: str, open_session: Callable, version: str, as_of: dt.date, rules: str, force: bool = False
) -> Snapshot:
    """The kept clinic for this database, rule profile and as-of day at data `version` (store.data_version):
    the kept snapshot when the version is the same, else the one before with only the patients whose inputs
    changed reassessed (on a process's first call, the database's kept summaries first). `force`: look for
    changed inputs even when the version is the same (an edit data_version cannot see)."""
    kept = _kept((url, rules, as_of))
    with kept.lock:
        before = kept.snapshot
        if before is not None and before.version == version and not force:
            return before
        kept.snapshot = _refreshed(before, open_session=open_session, version=version, as_of=as_of, rules=rules)
        return kept.snapshot


def _refreshed(
    before: Snapshot | None, *, open_session: Callable, version: str, as_of: dt.date, rules: str
) -> Snapshot:
    from lenadash import store
    from lenadash.store import summary

    t0 = time.perf_counter()
    with open_session() as s:
        inputs = summary.patient_inputs(session=s)
        patients = store.load_patients(session=s)
        events = store.load_events(session=s)
        # MRN -> (fingerprint, summary entries, worklist rows) kept so far: the snapshot before, else the database
        known = (
            {m: (f, before.entries.get(m, []), before.rows.get(m, [])) for m, f in before.inputs.items()}
            if before
            else {}
        )
        from_db = 0 if before is not None else _read_kept(s, known, inputs, rules=rules, as_of=as_of)
        stale = [m for m, f in inputs.items() if m not in known or known[m][0] != f]
        t1 = time.perf_counter()
        fresh = _assess_patients(s, stale, patients, events, as_of=as_of, rules=rules) if stale else {}
        t2 = time.perf_counter()
        entries = {m: [summary_entry(e) for e in fresh.get(m, [])] for m in stale}
        rows: dict[str, list[dict]] = {m: [] for m in stale}
        for row in worklist_rows([e for m in stale for e in entries[m]], as_of=as_of, patients=patients):
            rows[row["mrn"]].append(row)
        known.update({m: (inputs[m], entries[m], rows[m]) for m in stale})
        if stale:
            written = {m: (inputs[m], _dumps(entries[m], rows[m])) for m in stale}
            summary.write_summaries(session=s, rules=rules, as_of=as_of, rows=written, present=inputs)
    ASSESSED.extend(stale)
    return Snapshot(
        version=version,
        serial=next(_SERIALS),
        as_of=as_of,
        rules=rules,
        grading=_grading(rules) if before is None else before.grading,
        inputs=inputs,
        entries={m: known[m][1] for m in inputs if known[m][1]},
        rows={m: known[m][2] for m in inputs if known[m][2]},
        patients=patients,
        events=events,
        worklist=worklist_frame([r for m in sorted(inputs) for r in known[m][2]]),
        assessed=tuple(stale),
        read_from_database=from_db,
        seconds={"read": t1 - t0, "assess": t2 - t1, "total": time.perf_counter() - t0},
    )


# The worklist row's dates (worklist._worklist_row), ISO text in the database.
WORKLIST_DATES = ("last_draw", "next_labs_due", "next_marrow_biopsy", "next_pregnancy_test")


def _dumps(entries: list[dict], rows: list[dict]) -> str:
    """A patient's kept summary as JSON: its summary entries and its worklist rows (dates as ISO text)."""
    plain = [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()} for row in rows]
    return json.dumps({"entries": entries, "worklist": plain})


def _read_kept(session: Any, known: dict, inputs: dict[str, str], *, rules: str, as_of: dt.date) -> int:
    """Into `known`, the summaries the database kept for this rule profile and as-of day whose fingerprint is
    the patient's now; how many."""
    from lenadash.store import summary

    found = 0
    for mrn, (fingerprint, stored_json) in summary.read_summaries(session=session, rules=rules, as_of=as_of).items():
        if inputs.get(mrn) != fingerprint:
            continue  # the patient changed since: reassessed
        kept = json.loads(stored_json)
        rows = kept["worklist"]
        for row in rows:
            for name in WORKLIST_DATES:
                row[name] = dt.date.fromisoformat(row[name]) if row[name] else None
        known[mrn] = (fingerprint, kept["entries"], rows)
        found += 1
    return found


def _grading(rules: str) -> str | None:
    from lenadash.clinical import dosing

    return dosing.load_profile(rules).grading


def _assess_patients(
    session: Any, mrns: Iterable[str], patients: pd.DataFrame, events: pd.DataFrame, *, as_of: dt.date, rules: str
) -> dict[str, list[dict]]:
    """{MRN: its assess entries} for `mrns`, CHUNK_PATIENTS at a time, each chunk's labs read through the
    index. A patient's entries do not depend on any other patient (tests/test_kept.py holds it)."""
    from lenadash import store

    out: dict[str, list[dict]] = {}
    ordered = sorted(set(mrns))
    for start in range(0, len(ordered), CHUNK_PATIENTS):
        chunk = ordered[start : start + CHUNK_PATIENTS]
        labs = store.load_labs(session=session, mrns=chunk)
        for entry in _assess(chunk, patients, labs, events, as_of=as_of, rules=rules)["patients"]:
            out.setdefault(str(entry["mrn"]), []).append(entry)
    return out


def _assess(mrns: list[str], patients: pd.DataFrame, labs: pd.DataFrame, events: pd.DataFrame, *, as_of, rules) -> dict:
    from lenadash.clinical import assess

    wanted = set(mrns)
    mine = patients[patients["mrn"].astype(str).isin(wanted)] if len(patients) else patients
    theirs = events[events["mrn"].astype(str).isin(wanted)] if len(events) else events
    return assess.assess(mine, labs, theirs, as_of=as_of, rules=rules)


def patient_assessment(
    *, url: str, open_session: Callable, snapshot: Snapshot, mrn: str
) -> tuple[list[dict], pd.DataFrame]:
    """One patient's full assess entries (every draw) and current lab results, kept per patient fingerprint:
    its rows only, through the (patient, collected time) index."""
    from lenadash import store

    fingerprint = snapshot.inputs.get(mrn)
    key = (url, mrn, fingerprint, snapshot.as_of, snapshot.rules)
    with _LOCK:
        if key in _PATIENTS:
            _PATIENTS.move_to_end(key)
            return _PATIENTS[key]["entries"], _PATIENTS[key]["labs"]
    with open_session() as s:
        labs = store.load_labs(session=s, mrn=mrn)
    result = _assess([mrn], snapshot.patients, labs, snapshot.events, as_of=snapshot.as_of, rules=snapshot.rules)
    entries = [e for e in result["patients"] if str(e["mrn"]) == mrn]
    with _LOCK:
        _PATIENTS[key] = {"entries": entries, "labs": labs}
        while len(_PATIENTS) > PATIENTS_KEPT:
            _PATIENTS.popitem(last=False)
    return entries, labs


def whole_clinic(*, url: str, open_session: Callable, snapshot: Snapshot) -> dict:
    """The whole clinic's assess result for the Clinic insight page - every course, without its draws (the
    insight figures read none) - kept for the latest data version of this database, rule profile and as-of
    day. Assessed CHUNK_PATIENTS patients at a time (their labs only), in the whole clinic's order: courses
    as store.load_patients lists them, then the MRNs known from lab files only, sorted."""
    key = (url, snapshot.rules, snapshot.as_of)
    token = (snapshot.version, tuple(sorted(snapshot.inputs.items())))
    with _LOCK:
        found = _WHOLE.get(key)
    if found is not None and found[0] == token:
        return found[1]
    with open_session() as s:
        fresh = _assess_patients(s, snapshot.entries, snapshot.patients, snapshot.events, **_on(snapshot))
    first = {m: i for i, m in reversed(list(enumerate(snapshot.patients["mrn"].astype(str))))}
    entries = [{k: v for k, v in e.items() if k != "draws"} for m in fresh for e in fresh[m]]
    courses = sorted((e for e in entries if e.get("course_id") is not None), key=lambda e: first[str(e["mrn"])])
    orphans = sorted((e for e in entries if e.get("course_id") is None), key=lambda e: str(e["mrn"]))
    result = {
        "as_of": snapshot.as_of.isoformat(),
        "rules": snapshot.rules,
        "grading": snapshot.grading,
        "patients": courses + orphans,
    }
    with _LOCK:
        _WHOLE.clear()  # one whole clinic at a time: it is the largest thing kept
        _WHOLE[key] = (token, result)
    return result


def _on(snapshot: Snapshot) -> dict:
    return {"as_of": snapshot.as_of, "rules": snapshot.rules}


def prepare(*, url: str, as_of: dt.date, rules: str) -> Snapshot:
    """Assess, ahead of clinic hours, every patient whose kept summary for this rule profile and as-of day is
    missing or stale, and keep the summaries in the database (`python -m lenadash prepare`): the app's first
    open that day then reads them (clinic_snapshot on a fresh process) and assesses no patient. The returned
    snapshot says how many were assessed (`assessed`) and how many were already kept (`read_from_database`)."""
    from lenadash import store

    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as s:
            version = store.data_version(session=s)
        return clinic_snapshot(
            url=url, open_session=lambda: store.open_session(engine), version=version, as_of=as_of, rules=rules
        )
    finally:
        engine.dispose()
