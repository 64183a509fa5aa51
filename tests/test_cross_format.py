"""The same result from two formats (vocab.draws): a date-only CSV row and a timed HL7 or FHIR result of the
same patient, test, date and value are one result - in the store (SQLite and PostgreSQL) and in assess."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lenadash import imports, samples, store
from lenadash.clinical import assess

WIDE = "Patienten-ID;Entnahmedatum;Thrombozyten (G/L);Hb (g/L)\nLD0401;03.03.2026;148;91\n"
MSH = "MSH|^~\\&|LAB|GH|LENADASH|CLINIC|202603031200||ORU^R01^ORU_R01|{c}|P|2.5.1\rPID|1||LD0401^^^GH^MR\r"
OBR = "OBR|1||A1|58410-2^CBC^LN|||202603031029\r"


def hl7(plt: str, hgb: str = "91", control: str = "M1") -> bytes:
    obx = f"OBX|1|NM|777-3^^LN||{plt}|10*9/L|||||F\rOBX|2|NM|718-7^^LN||{hgb}|g/L|||||F\r"
    return (MSH.format(c=control) + OBR + obx).encode()


def _labs(s) -> list:
    labs = store.load_labs(session=s)
    return labs[["analyte", "collected_at", "value"]].values.tolist()


@pytest.mark.parametrize("csv_first", [True, False])
def test_a_date_only_row_and_a_timed_message_are_one_result(db_url, csv_first):
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as s:
            files = [("wide.csv", WIDE.encode()), ("labs.hl7", hl7("148"))]
            first, second = files if csv_first else files[::-1]
            assert imports.import_file(session=s, file_name=first[0], data=first[1]).rows_imported == 2
            again = imports.import_file(session=s, file_name=second[0], data=second[1])
            assert (again.rows_imported, again.rows_superseding, again.rows_unchanged) == (0, 0, 2)
            stored_at = pd.Timestamp("2026-03-03") if csv_first else pd.Timestamp("2026-03-03 10:29")
            assert _labs(s) == [["hgb", stored_at, 9.1], ["plt", stored_at, 148.0]]  # the first one stays
            # another value that day is another result: both are kept, nothing is merged by guess
            other = imports.import_file(session=s, file_name="later.hl7", data=hl7("120", control="M2"))
            # csv first: 120 at 10:29 is a second platelet result that day; hl7 first: it corrects 148 at 10:29
            expected = (1, 0, 1) if csv_first else (0, 1, 1)
            assert (other.rows_imported, other.rows_superseding, other.rows_unchanged) == expected
    finally:
        engine.dispose()


def test_the_sample_clinic_from_csv_then_hl7_then_fhir_stores_nothing_twice(sqlite_url, sample_dir, monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", samples.FEED_ZONE)
    engine = store.make_engine(sqlite_url)
    try:
        with store.open_session(engine) as s:
            imports.import_paths(session=s, paths=imports.sample_files(sample_dir))
            before = store.load_labs(session=s)
            for feed in ("lab_results.hl7", "lab_results_fhir.json"):
                summary = imports.import_file(
                    session=s, file_name=feed, data=(sample_dir / "feeds" / feed).read_bytes()
                )
                assert (summary.rows_imported, summary.rows_superseding) == (0, 0), feed
            assert len(store.load_labs(session=s)) == len(before)
    finally:
        engine.dispose()


def test_assess_over_csv_and_feeds_together_counts_each_result_once(sample_dir, monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", samples.FEED_ZONE)
    csvs = [sample_dir / n for n in ("epic_long_us.csv", "europe_wide_si.csv", "loinc_long.csv")]
    feeds = [sample_dir / "feeds" / "lab_results.hl7", sample_dir / "feeds" / "lab_results_fhir.json"]

    def run(labs):
        i = imports.read_assess_inputs(
            patients=sample_dir / "patients.csv", labs=labs, events=sample_dir / "events.csv"
        )
        return assess.assess(i.patients, i.labs, i.events, as_of=dt.date(2026, 11, 20)), len(i.labs)

    (alone, n_alone), (together, n_together) = run(csvs), run(csvs + feeds)
    assert together["patients"] == alone["patients"] and n_together == n_alone
