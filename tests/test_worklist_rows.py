"""The overview's table draws at most worklist.TABLE_ROWS rows, most urgent first, and says how to reach the
rest (search, filters, the CSV): thousands of styled rows cost seconds on every run at 5,000 courses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from lenadash.dashboard import worklist

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_table_rows_keeps_the_most_urgent_and_says_how_many_are_left_out():
    ordered = pd.DataFrame({"mrn": [f"P{i:04d}" for i in range(12)]})
    rows, note = worklist.table_rows(ordered, limit=5)
    assert list(rows["mrn"]) == ["P0000", "P0001", "P0002", "P0003", "P0004"]
    assert note == (
        "Showing the 5 most urgent of 12 patients. Find the others with Find MRN or name or the filters; "
        "the CSV download below holds every row."
    )
    assert worklist.table_rows(ordered, limit=12)[1] is None
    assert worklist.table_rows(ordered.head(3))[1] is None  # under TABLE_ROWS: every row, no note


def test_the_overview_draws_the_first_rows_and_search_still_finds_a_patient_left_out(clinic_env, monkeypatch):
    from lenadash import samples

    monkeypatch.setattr(worklist, "TABLE_ROWS", 5)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 1 and len(tables[0]) == 5
    assert "Showing the 5 most urgent of 18 patients." in " ".join(str(c.value) for c in at.caption)
    drawn = list(at.selectbox(key="open_choice").options)  # "MRN - name" of the drawn rows
    assert len(drawn) == 5
    everyone = pd.read_csv(samples.SAMPLE_DIR / "patients.csv", dtype=str)["mrn"]
    left_out = next(m for m in everyone if not any(d.startswith(m) for d in drawn))
    at.text_input(key="filter_search").set_value(left_out).run()
    assert not at.exception
    assert [o.split(" ")[0] for o in at.selectbox(key="open_choice").options] == [left_out]
