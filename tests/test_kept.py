"""The kept assessment (issue 14 items 1-2, dashboard.kept and store.summary): a patient assessed alone equals
its entry in the whole clinic's assessment; the worklist built from kept summaries equals the one built from
the whole clinic; an import, an event or a course edit reassesses only the patients it touched; a new process
reads the kept summaries from the database instead of reassessing."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from lenadash import imports, samples, store
from lenadash.clinical import assess
from lenadash.dashboard import kept, worklist
from lenadash.store import summary

AS_OF = samples.TODAY
RULES = "us_pi"


def _seed(url: str, paths) -> None:
    engine = store.make_engine(url)
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=list(paths))
    engine.dispose()


@pytest.fixture(scope="module")
def sample_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('kept') / 'sample.sqlite'}"
    _seed(url, imports.sample_files())
    return url


@pytest.fixture(scope="module")
def bench_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("kept_bench")
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    _seed(url, samples.write_benchmark_clinic(folder, 36, results_per_patient=300).values())
    return url


def _whole(url: str):
    engine = store.make_engine(url)
    with store.open_session(engine) as s:
        patients, labs, events = (
            store.load_patients(session=s),
            store.load_labs(session=s),
            store.load_events(session=s),
        )
    engine.dispose()
    return patients, events, assess.assess(patients, labs, events, as_of=AS_OF, rules=RULES)


def _snapshot(url: str, *, force: bool = False) -> kept.Snapshot:
    engine = store.make_engine(url)
    with store.open_session(engine) as s:
        version = store.data_version(session=s)
    return kept.clinic_snapshot(
        url=url, open_session=lambda: store.open_session(engine), version=version, as_of=AS_OF, rules=RULES, force=force
    )


def _opener(url: str):
    engine = store.make_engine(url)
    return lambda: store.open_session(engine)


@pytest.mark.parametrize("which", ["sample_url", "bench_url"])
def test_a_patient_assessed_alone_equals_its_entry_in_the_whole_clinic(which, request):
    """Every sample-clinic patient (every kind of course, labs-only MRNs, events) and the benchmark clinic's
    first 36: assess() on one patient's rows gives exactly the entries the whole clinic's assess gives."""
    url = request.getfixturevalue(which)
    kept.forget()
    patients, events, whole = _whole(url)
    by_mrn: dict[str, list[dict]] = {}
    for entry in whole["patients"]:
        by_mrn.setdefault(str(entry["mrn"]), []).append(entry)
    snap = _snapshot(url)
    assert set(snap.entries) == set(by_mrn) and len(by_mrn) >= 17
    for mrn, expected in by_mrn.items():
        alone, labs = kept.patient_assessment(url=url, open_session=_opener(url), snapshot=snap, mrn=mrn)
        assert json.dumps(alone, sort_keys=True) == json.dumps(expected, sort_keys=True), mrn
        assert len(labs) and set(labs["mrn"]) == {mrn} or not expected[-1].get("draws")
    # the whole clinic kept for the insight page is the clinic's own assessment, in its order, without draws
    insight = kept.whole_clinic(url=url, open_session=_opener(url), snapshot=snap)
    assert [(e["mrn"], e["course_id"]) for e in insight["patients"]] == [
        (e["mrn"], e["course_id"]) for e in whole["patients"]
    ]
    without_draws = [{k: v for k, v in e.items() if k != "draws"} for e in whole["patients"]]
    assert json.dumps(insight["patients"], sort_keys=True) == json.dumps(without_draws, sort_keys=True)
    assert (insight["as_of"], insight["rules"], insight["grading"]) == (
        whole["as_of"],
        whole["rules"],
        whole["grading"],
    )


@pytest.mark.parametrize("which", ["sample_url", "bench_url"])
def test_the_worklist_from_kept_summaries_equals_the_whole_clinics(which, request):
    """The overview's worklist built from the kept summaries (draws cut to the latest) equals the one built
    from the whole clinic's assessment - in this process, and read back from the database by a new one."""
    url = request.getfixturevalue(which)
    kept.forget()
    patients, _, whole = _whole(url)
    expected = worklist.worklist(whole, patients)
    first = _snapshot(url)
    pd.testing.assert_frame_equal(first.worklist, expected)
    kept.forget()  # a new server process: the summaries come from the database
    before = len(kept.ASSESSED)
    second = _snapshot(url)
    assert second.assessed == () and len(kept.ASSESSED) == before, "nothing reassessed"
    assert second.read_from_database == len(second.inputs)
    pd.testing.assert_frame_equal(second.worklist, expected)


def _fresh_copy(url: str, tmp_path) -> str:
    import shutil

    path = tmp_path / "copy.sqlite"
    shutil.copy(url.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


def test_an_event_a_course_edit_and_an_import_reassess_only_their_patients(sample_url, tmp_path):
    url = _fresh_copy(sample_url, tmp_path)
    kept.forget()
    first = _snapshot(url)
    assert len(first.assessed) + first.read_from_database == len(first.inputs) >= 17
    engine = store.make_engine(url)
    with store.open_session(engine) as s:
        store.add_event(session=s, row={"mrn": "LD0003", "date": AS_OF, "event": "marrow_biopsy", "value": ""})
    after_event = _snapshot(url)
    assert after_event.assessed == ("LD0003",)
    assert after_event.entries["LD0003"] is not first.entries["LD0003"]  # reassessed, spliced in
    assert all(after_event.entries[m] is first.entries[m] for m in first.entries if m != "LD0003")

    person = after_event.patients[after_event.patients["mrn"] == "LD0005"].iloc[-1].to_dict()
    with store.open_session(engine) as s:
        store.upsert_patient_course(session=s, row={**person, "weight_kg": float(person["weight_kg"]) + 5})
    assert _snapshot(url).assessed == ("LD0005",)

    labs = (
        "MRN,Collected,Test,Result,Units\nLD0007,2026-11-19 08:00,Platelets,41,10^9/L\nNEW9,2026-11-19,ANC,1.2,10^9/L\n"
    )
    with store.open_session(engine) as s:
        imports.import_file(session=s, file_name="two.csv", data=labs.encode())
    after_import = _snapshot(url)
    assert set(after_import.assessed) == {"LD0007", "NEW9"}
    assert "NEW9" in set(after_import.worklist["mrn"])
    engine.dispose()
    # each worklist still equals the whole clinic's
    patients, _, whole = _whole(url)
    pd.testing.assert_frame_equal(after_import.worklist, worklist.worklist(whole, patients))


def test_summaries_keep_a_few_as_of_days_and_only_present_patients(sample_url, tmp_path):
    url = _fresh_copy(sample_url, tmp_path)
    engine = store.make_engine(url)
    opener = _opener(url)
    with store.open_session(engine) as s:
        version = store.data_version(session=s)
    for days in range(summary.KEEP_AS_OF_DAYS + 2):
        kept.clinic_snapshot(
            url=url, open_session=opener, version=version, as_of=AS_OF - dt.timedelta(days), rules=RULES
        )
    with store.open_session(engine) as s:
        kept_days = {
            d
            for d in (AS_OF - dt.timedelta(n) for n in range(10))
            if summary.read_summaries(session=s, rules=RULES, as_of=d)
        }
    assert len(kept_days) == summary.KEEP_AS_OF_DAYS
    engine.dispose()


def test_summary_entry_keeps_the_draws_the_worklist_reads():
    draws = [
        {"date": "2026-01-01", "values": {"anc": 1.0, "plt": 90, "hgb": 11}},
        {"date": "2026-01-08", "values": {"anc": 0.9, "plt": None}},
        {"date": "2026-01-15", "values": {"anc": 0.8}},
        {"date": "2026-01-22", "values": {"creatinine": 1.1}},
    ]
    cut = kept.summary_entry({"mrn": "X", "draws": draws, "status": "held"})
    assert cut["status"] == "held" and [d["date"] for d in cut["draws"]] == ["2026-01-01", "2026-01-15", "2026-01-22"]
    assert kept.summary_entry({"mrn": "Y", "draws": []})["draws"] == []
