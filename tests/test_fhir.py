"""FHIR R4 Observations: Bundles, a single resource, NDJSON and an Apple Health style zip, field by field
(docs/import.md "FHIR R4"); statuses through the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from lenadash import imports, ingest, store
from lenadash.errors import UnrecognisedFile
from lenadash.ingest.fhir import read_fhir

DATA = Path(__file__).parent / "data" / "feeds"
UCUM = "http://unitsofmeasure.org"


def observation(oid: str, loinc: str, value, unit: str = "10*3/uL", status: str = "final", **extra) -> dict:
    body = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": extra.pop("subject", {"reference": "Patient/LD0201"}),
        "effectiveDateTime": extra.pop("when", "2026-03-03T10:29:00+00:00"),
    }
    if value is not None:
        body["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return body | extra


def bundle(*resources: dict, kind: str = "collection") -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    if kind == "transaction":
        for entry in entries:
            entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}).encode()


@pytest.fixture(autouse=True)
def utc_clinic(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "UTC")


def test_the_searchset_fixture_reads_field_by_field(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "America/New_York")
    read = read_fhir((DATA / "bundle_searchset.json").read_bytes(), file_name="b.json")
    r = read.results.set_index("analyte")
    assert set(r["mrn"]) == {"LD0001"}  # the Patient's MR identifier, not its id "p1" or the SSN
    # panel members (hasMember) take the panel's subject and time; the panel itself is no result
    assert r.loc["wbc", "collected_at"] == pd.Timestamp("2026-03-03 10:29") and read.rows_read == 6
    assert (r.loc["anc", "raw_value"], r.loc["anc", "status"], r.loc["anc", "flag"]) == ("0.80", "amended", "L")
    assert (r.loc["bilirubin", "comparator"], r.loc["bilirubin", "ref_low"]) == ("<", 0.2)  # range text
    assert (r.loc["plt", "ref_low"], r.loc["plt", "ref_high"]) == (pytest.approx(float("nan"), nan_ok=True), 450.0)
    assert read.problems[["line", "value", "reason"]].values.tolist() == [
        [6, "", "no result"],  # cancelled, no value
        [7, "entered-in-error", "no result"],
    ]


@pytest.mark.parametrize("kind", ["searchset", "collection", "transaction"])
def test_every_bundle_type_and_a_patient_resource_by_full_url(kind):
    patient = {
        "resourceType": "Patient",
        "id": "x9",
        "identifier": [
            {"type": {"coding": [{"code": "MR"}]}, "value": "LD0202"},
        ],
    }
    obs = observation("o1", "751-8", 0.9, subject={"reference": "urn:uuid:x9"})
    read = read_fhir(bundle(patient, obs, kind=kind))
    assert read.results[["mrn", "analyte", "value"]].values.tolist() == [["LD0202", "anc", 0.9]]


def test_a_single_observation_and_value_kinds():
    single = observation("o1", "777-3", 148, comparator=None)
    assert read_fhir(json.dumps(single).encode()).results["value"].tolist() == [148.0]
    text = observation("o2", "718-7", None, valueString="see note")
    concept = observation("o3", "777-3", None, valueCodeableConcept={"text": "positive"})
    read = read_fhir(bundle(text, concept))
    assert read.problems[["value", "reason"]].values.tolist() == [
        ["see note", "non-numeric result"],
        ["positive", "non-numeric result"],
    ]


def test_ndjson_lines_are_positions(tmp_path):
    lines = [observation("o1", "751-8", 0.5), observation("o2", "777-3", 30)]
    text = "\n".join(json.dumps(o) for o in lines) + "\n{broken\n"
    read = read_fhir(text.encode(), file_name="Observation.ndjson")
    assert read.results["line"].tolist() == [1, 2]
    assert read.problems[["line", "reason"]].values.tolist() == [[3, "unreadable message"]]


def test_apple_health_zip_names_the_member_in_problems():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("apple_health_export/export.xml", "<HealthData/>")
        z.writestr(
            "apple_health_export/clinical-records/Observation-A.json", json.dumps(observation("a", "751-8", 1.1))
        )
        z.writestr(
            "apple_health_export/clinical-records/Observation-B.json", json.dumps(observation("b", "777-3", "x"))
        )
    data = buf.getvalue()
    assert ingest.lab_format(data) == "fhir" and ingest.detect_kind(data) == "labs"
    read = read_fhir(data, file_name="export.zip")
    assert read.results["value"].tolist() == [1.1]
    assert read.problems["file"].tolist() == ["export.zip:apple_health_export/clinical-records/Observation-B.json"]


def test_a_zip_without_resources_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("labs.csv", "a,b\n")
    assert ingest.lab_format(buf.getvalue()) == "csv"
    with pytest.raises(UnrecognisedFile):
        read_fhir(buf.getvalue(), file_name="x.zip")
    assert "zip" in imports.read_upload("x.zip", buf.getvalue()).error


def _current(session) -> list:
    return store.load_labs(session=session)[["analyte", "value", "status"]].values.tolist()


def test_statuses_through_the_store(db_url):
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as s:

            def load(name, *resources):
                return imports.import_file(session=s, file_name=name, data=bundle(*resources))

            load("1.json", observation("o1", "751-8", 0.8), observation("o2", "777-3", 120, status="preliminary"))
            assert load(
                "1.json", observation("o1", "751-8", 0.8), observation("o2", "777-3", 120, status="preliminary")
            ).already_imported
            later = load("2.json", observation("o1", "751-8", 1.1, status="amended"), observation("o2", "777-3", 120))
            assert (later.rows_superseding, later.rows_unchanged) == (2, 0)
            gone = load("3.json", observation("o1", "751-8", 1.5, status="entered-in-error"))
            assert gone.rows_rejected == 1 and gone.rows_imported == gone.rows_superseding == 0
            assert _current(s) == [["anc", 1.1, "amended"], ["plt", 120.0, "final"]]
    finally:
        engine.dispose()
