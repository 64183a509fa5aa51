"""The sample clinic's handouts for the tests: every patient assessed through the real import and store path."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path


@functools.cache
def sample_clinic() -> dict:
    """The sample clinic imported into a fresh SQLite file (imports.import_paths), loaded back and assessed
    as of samples.TODAY: {"result", "patients", "labs", "events"}."""
    from lenadash import imports, samples, store
    from lenadash.clinical import assess

    folder = Path(tempfile.mkdtemp(prefix="lenadash-handout-"))
    engine = store.make_engine(f"sqlite:///{folder / 'clinic.sqlite'}")
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=imports.sample_files())
    with store.open_session(engine) as s:
        patients, labs, events = (
            store.load_patients(session=s),
            store.load_labs(session=s),
            store.load_events(session=s),
        )
    engine.dispose()
    result = assess.assess(patients, labs, events, as_of=samples.TODAY)
    return {"result": result, "patients": patients, "labs": labs, "events": events}


def person(mrn: str) -> dict:
    rows = sample_clinic()["patients"]
    rows = rows[rows["mrn"] == mrn]
    return rows.iloc[-1].to_dict() if len(rows) else {}


def handout(mrn: str, *, clinic: str = "Riverside Haematology, 0123 456 789") -> str:
    """The handout of one sample patient as the visit page makes it (the page's own helper)."""
    from lenadash import samples
    from lenadash.dashboard import cards, ui
    from lenadash.dashboard import handout as handout_mod

    clinic_data = sample_clinic()
    patient = next(p for p in clinic_data["result"]["patients"] if p["mrn"] == mrn)
    who = person(mrn)
    identity = cards.visit_identity(who.get("name"), who.get("birth_date"), who.get("sex"), as_of=samples.TODAY)
    thresholds = ui.thresholds_for(patient, who, as_of=samples.TODAY) if patient.get("indication") else None
    return handout_mod.patient_handout(
        patient,
        identity=identity,
        as_of=samples.TODAY,
        thresholds=thresholds,
        clinic=clinic,
        events=clinic_data["events"],
    )


def mrns() -> list[str]:
    return [p["mrn"] for p in sample_clinic()["result"]["patients"]]


def crowded_handout() -> str:
    """The longest handout a patient can get: LD0003 (MM, 20 mg) with, besides its own, every notice kind that
    can stand beside a continue (not the date kinds, which are the dates list) and an overdue blood test."""
    import copy

    from lenadash import samples
    from lenadash.clinical import notices
    from lenadash.dashboard import cards, patient_words, ui
    from lenadash.dashboard import handout as handout_mod

    clinic_data = sample_clinic()
    patient = copy.deepcopy(next(p for p in clinic_data["result"]["patients"] if p["mrn"] == "LD0003"))
    said = {"hold", "stopped", "review", "labs_without_course", *patient_words.DATE_KINDS}
    patient["notices"] += [
        {"kind": k, "severity": "action", "text": "", "source": "", "due": None} for k in notices.KINDS if k not in said
    ]
    patient.update(labs_overdue=True, next_labs_due="2026-11-02", next_pregnancy_test="2026-11-10")
    who = person("LD0003")
    identity = cards.visit_identity(who.get("name"), who.get("birth_date"), who.get("sex"), as_of=samples.TODAY)
    return handout_mod.patient_handout(
        patient,
        identity=identity,
        as_of=samples.TODAY,
        thresholds=ui.thresholds_for(patient, who, as_of=samples.TODAY),
        clinic="Riverside Haematology and Oncology Day Unit, Building 4, 0123 456 789",
        sample=True,
    )
