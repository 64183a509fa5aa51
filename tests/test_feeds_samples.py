"""The sample clinic's labs as HL7 v2 and as FHIR R4 (sample_data/feeds/) assess exactly as its CSV files,
and are the generator's output byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest

from lenadash import imports, samples
from lenadash.clinical import assess

CSV_LABS = ("epic_long_us.csv", "europe_wide_si.csv", "loinc_long.csv")
FEEDS = ("feeds/lab_results.hl7", "feeds/lab_results_fhir.json")


@pytest.fixture(autouse=True)
def sample_clinic_zone(monkeypatch):
    """FHIR times carry the sample clinic's UTC offset; read them in its zone (HL7 and CSV carry none)."""
    monkeypatch.setenv("LENADASH_TIMEZONE", samples.FEED_ZONE)


def _assess(sample_dir, labs: list[str]) -> dict:
    inputs = imports.read_assess_inputs(
        patients=sample_dir / "patients.csv",
        labs=[sample_dir / name for name in labs],
        events=sample_dir / "events.csv",
    )
    return assess.assess(
        inputs.patients, inputs.labs, inputs.events, as_of=dt.date(2026, 11, 20), import_report=inputs.report
    )


@pytest.fixture(scope="module")
def from_csv(sample_dir) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LENADASH_TIMEZONE", samples.FEED_ZONE)
        return _assess(sample_dir, list(CSV_LABS))


@pytest.mark.parametrize("feed", FEEDS)
def test_the_sample_clinic_from_a_feed_assesses_as_from_its_csv_files(sample_dir, from_csv, feed):
    from_feed = _assess(sample_dir, [feed])
    assert from_feed["patients"] == from_csv["patients"]
    # the one cancelled platelet count (LD0004) is the only reject, as in the CSV
    assert [r["reason"] for r in from_feed["import_report"]["rejects"]] == ["no result"]
    assert [r["reason"] for r in from_csv["import_report"]["rejects"]] == ["no result"]


def test_the_feeds_are_the_generators_output(sample_dir):
    for name, data in samples.feed_files().items():
        assert (sample_dir / samples.FEEDS_DIR / name).read_bytes() == data, f"run python -m lenadash.samples ({name})"


def test_the_demo_loads_the_csv_files_only(sample_dir):
    """The feeds hold the same results: the demo database takes the CSV files, not both."""
    assert all(p.parent == sample_dir and p.suffix == ".csv" for p in imports.sample_files(sample_dir))


def test_the_hl7_sample_puts_each_field_where_hl7_v251_has_it(sample_dir):
    """Read with python-hl7 alone: MSH-9/12/18, PID-3/5/7/8, OBR-4/7 and OBX-2/3/5/6/7/11/14 in place."""
    import hl7

    text = (sample_dir / "feeds" / "lab_results.hl7").read_text(encoding="utf-8")
    batch = hl7.parse_batch(text.replace("\n", "\r"))
    assert len(batch) == len([s for s in text.splitlines() if s.startswith("MSH")])
    first = batch[0]
    assert (str(first["MSH.F9.R1.C1"]), str(first["MSH.F9.R1.C2"]), str(first["MSH.F12"])) == ("ORU", "R01", "2.5.1")
    assert str(first["MSH.F18"]) == "UNICODE UTF-8"
    assert (str(first["PID.F3.R1.C1"]), str(first["PID.F3.R1.C5"]), str(first["PID.F8"])) == ("LD0001", "MR", "M")
    assert (str(first["PID.F5.R1.C1"]), str(first["PID.F7"])) == ("EXAMPLE", "19580417")
    assert (str(first["OBR.F4.R1.C1"]), str(first["OBR.F7"])) == ("58410-2", "202603031029")
    obx = first.segments("OBX")[0]
    assert [str(obx(n)) for n in (2, 5, 6, 7, 11, 14)] == ["NM", "5.2", "K/uL", "4.0-11.0", "F", "202603031029"]
    assert str(obx.extract_field(field_num=3, component_num=2)) == "WBC"
