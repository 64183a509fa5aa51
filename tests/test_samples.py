"""The synthetic clinic shows the scenarios it promises (DOMAIN.md §2, §3, §5); its files hold what was simulated."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pandas as pd
import pytest

from lenadash import samples

TODAY = samples.TODAY
ULN_ALT = 40.0  # the Epic/LOINC reference range upper limit the sample clinic writes for ALT


@pytest.fixture(scope="module")
def clinic() -> dict[str, list[samples.Draw]]:
    return samples.simulate_clinic()


@pytest.fixture(scope="module")
def labs(clinic) -> pd.DataFrame:
    """Simulated results, one row per (draw, analyte), with the study day."""
    start = {p.mrn: p.start_date for p in samples.PATIENTS}
    rows = [
        (mrn, d.collected_at, (d.collected_at.date() - start[mrn]).days, a, v)
        for mrn, draws in clinic.items()
        for d in draws
        for a, v in d.values.items()
    ]
    return pd.DataFrame(rows, columns=["mrn", "collected_at", "day", "analyte", "value"])


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(samples.events_csv()), dtype=str, keep_default_na=False)


def patient(mrn: str) -> samples.SamplePatient:
    return next(p for p in samples.PATIENTS if p.mrn == mrn)


def series(labs: pd.DataFrame, mrn: str, analyte: str) -> pd.DataFrame:
    return labs[(labs.mrn == mrn) & (labs.analyte == analyte)].sort_values("day")


# --- coverage ---------------------------------------------------------------------------------


def test_clinic_covers_every_indication():
    counts = pd.Series([p.indication for p in samples.PATIENTS]).value_counts()
    assert len(samples.PATIENTS) >= 14
    assert set(counts.index) == {"MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"}
    assert counts["MM"] >= 2 and counts["MDS"] >= 2
    assert all(re.fullmatch(r"LD\d{4}", p.mrn) for p in samples.PATIENTS)
    assert len({p.mrn for p in samples.PATIENTS}) == len(samples.PATIENTS)


def test_every_patient_has_6_to_12_months_of_labs_ending_days_before_today(labs):
    for mrn, g in labs.groupby("mrn"):
        first, last = g.collected_at.min().date(), g.collected_at.max().date()
        assert 182 <= (last - first).days <= 366, mrn
        if patient(mrn).labs_until is None:
            assert 1 <= (TODAY - last).days <= 14, mrn
        else:  # missed visits: the monthly CBC is overdue by more than a cycle
            assert last == patient(mrn).labs_until and (TODAY - last).days > 28 + 7, mrn


def test_exactly_one_patient_has_missed_visits():
    assert [p.mrn for p in samples.PATIENTS if p.labs_until is not None] == ["LD0017"]


def test_baseline_labs_within_30_days_before_start(labs):
    for p in samples.PATIENTS:
        before = labs[(labs.mrn == p.mrn) & (labs.day <= 0)]
        assert {"anc", "plt", "creatinine", "alt"} <= set(before.analyte), p.mrn
        assert before.day.min() >= -30, p.mrn


def test_lab_styles_split_across_the_three_exports():
    styles = {p.labs for p in samples.PATIENTS} | {p.cmp_labs for p in samples.PATIENTS}
    assert styles == {"epic", "europe", "loinc"}


# --- counts: holds only where the scenario puts them ------------------------------------------

# Hold triggers per indication outside the first 4 weeks, DOMAIN.md §2 (US PI 2.1-2.4)
HOLD_BELOW = {  # indication: (ANC, platelets)
    "MM": (1.0, 30),
    "MM_MAINT": (0.5, 30),
    "MDS": (0.5, 30),
    "MCL": (1.0, 50),
    "FL": (1.0, 50),
    "MZL": (1.0, 50),
}


def _mds_first_4_weeks_limits(base_anc: float, base_plt: float) -> tuple[float, float]:
    """MDS within 4 weeks at 10 mg (DOMAIN.md §2 table): the ANC and platelet hold triggers."""
    anc = 0.75 if base_anc >= 1.0 else 0.5
    plt = 50 if base_plt >= 100 else 0.5 * base_plt
    return anc, plt


@pytest.mark.parametrize("mrn", [p.mrn for p in samples.PATIENTS])
def test_counts_cross_hold_thresholds_only_inside_scripted_episodes(labs, mrn):
    p = patient(mrn)
    scripted = {(e.analyte, e.day + 7 * i) for e in samples.EPISODES if e.mrn == mrn for i in range(len(e.values))}
    anc, plt = series(labs, mrn, "anc"), series(labs, mrn, "plt")
    base_anc, base_plt = anc[anc.day <= 0].value.iloc[-1], plt[plt.day <= 0].value.iloc[-1]
    for analyte, s, i in (("anc", anc, 0), ("plt", plt, 1)):
        for day, value in zip(s.day, s.value):
            limit = HOLD_BELOW[p.indication][i]
            if p.indication == "MDS" and 0 <= day < 28 and p.starting_dose_mg == 10:
                limit = _mds_first_4_weeks_limits(base_anc, base_plt)[i]
            if value < limit:
                assert (analyte, day) in scripted, f"{mrn} {analyte} {value} on day {day} is an unscripted hold"


def test_scripted_episodes_do_trigger_holds(labs, events):
    transfused = set(
        zip(events[events.event == "platelet_transfusion"].mrn, events[events.event == "platelet_transfusion"].date)
    )
    for e in samples.EPISODES:
        if e.analyte not in ("anc", "plt"):
            continue
        p = patient(e.mrn)
        s = series(labs, e.mrn, e.analyte)
        first = s[s.day == e.day].value.iloc[0]
        limit = HOLD_BELOW[p.indication][0 if e.analyte == "anc" else 1]
        if p.indication == "MDS" and e.day < 28:
            base = s[s.day <= 0].value.iloc[-1]
            limit = 0.5 * base if e.analyte == "plt" and base < 100 else limit
        if (
            p.indication == "MDS"
            and e.analyte == "plt"
            and (e.mrn, str(p.start_date + dt.timedelta(days=e.day))) in transfused
        ):
            limit = 50  # DOMAIN.md §2: plt < 50 with platelet transfusions
        assert first < limit, e


@pytest.mark.parametrize("ep", [e for e in samples.EPISODES], ids=lambda e: f"{e.mrn}-{e.analyte}")
def test_holds_are_followed_weekly_and_recover_in_1_to_3_weeks(labs, ep):
    s = series(labs, ep.mrn, ep.analyte)
    window = s[s.day >= ep.day]
    if not ep.ongoing:
        window = window[window.day <= ep.day + 7 * (len(ep.values) - 1)]
    assert list(window.day.diff().dropna()) == [7.0] * (len(window) - 1), "weekly draws while held"
    cbc_days = series(labs, ep.mrn, "wbc").day
    inside = cbc_days[(cbc_days > ep.day) & (cbc_days < window.day.max())]
    assert set(inside) <= set(window.day), "no routine draws squeezed into a hold"
    if not ep.ongoing:
        assert 7 <= window.day.max() - ep.day <= 21
        # the last value has recovered: better than every earlier value of the episode
        assert window.value.iloc[-1] == (window.value.min() if ep.analyte == "alt" else window.value.max())


def test_ongoing_holds_are_still_held_on_the_last_draw(labs):
    ongoing = [e for e in samples.EPISODES if e.ongoing]
    assert {e.mrn for e in ongoing} == {"LD0014", "LD0016"}
    for e in ongoing:
        s = series(labs, e.mrn, e.analyte)
        resume_at = {"anc": 1.0, "plt": 30 if patient(e.mrn).indication == "MM" else 50}[e.analyte]
        assert s.value.iloc[-1] < resume_at
        assert (TODAY - s.collected_at.iloc[-1].date()).days <= 7


def test_nadirs_fall_mid_cycle_and_recover_in_the_rest_week(labs):
    checked = 0
    for p in samples.PATIENTS:
        if p.schedule != "21/28" or any(e.mrn == p.mrn and e.day < 28 for e in samples.EPISODES):
            continue
        for analyte in ("anc", "plt"):
            s = series(labs, p.mrn, analyte).set_index("day").value
            if not {14, 28}.issubset(s.index):
                continue
            nadir = min(s.get(d, float("inf")) for d in (14, 21))
            assert nadir < s[7] if 7 in s.index else True
            assert nadir < s[28], f"{p.mrn} {analyte} recovers in the rest week"
            checked += 1
    assert checked >= 16


def test_first_mm_anc_episode_has_no_other_grade_3_toxicity(labs, events):
    # LD0001's first ANC episode must resume at the starting dose: neutropenia the only toxicity
    # (CTCAE v5: WBC < 2.0, platelets < 50, Hgb < 8.0, lymphocytes < 0.5 would be grade 3)
    ep = next(e for e in samples.EPISODES if e.mrn == "LD0001" and e.analyte == "anc")
    during = labs[(labs.mrn == "LD0001") & labs.day.between(ep.day, ep.day + 14)]
    low = {"wbc": 2.0, "plt": 50, "hgb": 8.0, "alc": 0.5}
    for analyte, limit in low.items():
        assert (during[during.analyte == analyte].value >= limit).all(), analyte
    assert not ((events.mrn == "LD0001") & (events.event == "toxicity")).any()
    plt = series(labs, "LD0001", "plt")
    assert (plt.day > ep.day + 14).any() and (plt[plt.day > ep.day + 14].value < 30).any(), "later platelet drop"


def test_mds_anc_below_half_for_7_days_after_week_4(labs):
    s = series(labs, "LD0008", "anc")
    low = s[(s.value < 0.5) & (s.day >= 28)]
    assert low.day.max() - low.day.min() >= 7
    assert list(low.day.diff().dropna()) == [7.0] * (len(low) - 1), "consecutive draws, none >= 0.5 in between"


def test_mds_low_baseline_platelets_halve_within_4_weeks(labs):
    s = series(labs, "LD0007", "plt")
    baseline = s[s.day <= 0].value.iloc[-1]
    assert baseline < 100
    early = s[(s.day >= 0) & (s.day < 28)]
    assert (early.value < 0.5 * baseline).any()


def test_fever_and_transfusion_events_fall_on_hold_draws(labs, events):
    fever = events[events.event == "fever"]
    assert len(fever) == 1 and float(fever.value.iloc[0]) >= 38.5
    for _, ev in fever.iterrows():
        day = (dt.date.fromisoformat(ev.date) - patient(ev.mrn).start_date).days
        s = series(labs, ev.mrn, "anc")
        assert s[s.day == day].value.iloc[0] < 1.0
        assert patient(ev.mrn).indication == "MCL"
    for _, ev in events[events.event == "platelet_transfusion"].iterrows():
        day = (dt.date.fromisoformat(ev.date) - patient(ev.mrn).start_date).days
        s = series(labs, ev.mrn, "plt")
        assert s[s.day == day].value.iloc[0] < 50


# --- renal starting doses (DOMAIN.md §3) -------------------------------------------------------

RENAL_START = {  # (indication group, band) -> starting dose mg; DOMAIN.md §3 table
    ("MM", ">=60"): None,
    ("MM", "30-59"): 10,
    ("MM", "<30"): None,
    ("MM", "dialysis"): 5,
    ("FL", ">=60"): None,
    ("FL", "30-59"): 10,
    ("FL", "<30"): 5,
    ("FL", "dialysis"): 5,
    ("MDS", ">=60"): None,
    ("MDS", "30-59"): 5,
    ("MDS", "<30"): 2.5,
    ("MDS", "dialysis"): 2.5,
}
GROUP = {"MM": "MM", "MCL": "MM", "FL": "FL", "MZL": "FL", "MM_MAINT": "MDS", "MDS": "MDS"}
STANDARD = {"MM": 25, "MM_MAINT": 10, "MDS": 10, "MCL": 25, "FL": 20, "MZL": 20}


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@pytest.mark.parametrize("mrn", [p.mrn for p in samples.PATIENTS])
def test_starting_dose_follows_the_renal_table(labs, mrn):
    p = patient(mrn)
    creat = series(labs, mrn, "creatinine")
    base = creat[creat.day <= 0].iloc[-1]
    crcl = (140 - _age(p.birth_date, base.collected_at.date())) * p.weight_kg / (72 * base.value)
    crcl *= 0.85 if p.sex == "F" else 1.0
    band = "dialysis" if p.dialysis else ">=60" if crcl >= 60 else "30-59" if crcl >= 30 else "<30"
    expected = RENAL_START[(GROUP[p.indication], band)] or STANDARD[p.indication]
    assert p.starting_dose_mg == expected, f"{mrn}: CrCl {crcl:.1f} ({band})"


def test_the_clinic_has_renal_and_dialysis_starts():
    assert sum(p.starting_dose_mg < STANDARD[p.indication] and not p.dialysis for p in samples.PATIENTS) >= 3
    assert any(p.dialysis for p in samples.PATIENTS)


# --- monitoring ---------------------------------------------------------------------------------


def test_cmp_every_4_weeks(labs):
    for mrn, g in labs[labs.analyte == "creatinine"].groupby("mrn"):
        gaps = g.sort_values("day").day.diff().dropna()
        assert gaps.max() <= 35, mrn


def test_exactly_one_grade_3_alt(labs):
    alt = labs[labs.analyte == "alt"]
    g3 = alt[(alt.value > 5 * ULN_ALT) & (alt.value <= 20 * ULN_ALT)]
    assert list(g3.mrn) == ["LD0003"]
    assert not (alt.value > 20 * ULN_ALT).any()


def test_marrow_biopsies_one_overdue(events):
    biopsies = events[events.event == "marrow_biopsy"]
    for p in samples.PATIENTS:
        if p.indication != "MDS":
            continue
        days = [(dt.date.fromisoformat(d) - p.start_date).days for d in biopsies[biopsies.mrn == p.mrn].date]
        assert any(-30 <= d <= 0 for d in days) and any(abs(d - 84) <= 14 for d in days), p.mrn
        week24_seen = any(abs(d - 168) <= 28 for d in days)
        assert week24_seen == (p.mrn != "LD0008"), p.mrn
    assert patient("LD0008").start_date + dt.timedelta(weeks=24 + 4) < TODAY


def test_exactly_one_dexamethasone_patient_lacks_thromboprophylaxis(events):
    covered = set(events[events.event == "thromboprophylaxis"].mrn)
    dex = {p.mrn for p in samples.PATIENTS if p.combination == "dexamethasone"}
    assert dex - covered == {"LD0003"}


@pytest.mark.parametrize("mrn", [p.mrn for p in samples.PATIENTS if p.reproductive_potential])
def test_pregnancy_tests_follow_rems(events, mrn):
    p = patient(mrn)
    tests = events[(events.mrn == mrn) & (events.event == "pregnancy_test") & (events.value == "negative")]
    days = sorted((dt.date.fromisoformat(d) - p.start_date).days for d in tests.date)
    assert any(-14 <= d <= -10 for d in days) and -1 in days
    assert {7, 14, 21, 28} <= set(days)
    gap = 14 if p.menses == "irregular" else 28
    later = [d for d in days if d >= 28]
    assert max(b - a for a, b in zip(later, later[1:])) <= gap
    assert (TODAY - p.start_date).days - later[-1] <= gap


def test_one_woman_has_a_positive_pregnancy_test_after_her_last_negative_one(events):
    """Issue 8: a positive test stops treatment (REMS); LD0013's comes after her last negative test and draw."""
    preg = events[events.event == "pregnancy_test"]
    positive = preg[preg.value == "positive"]
    assert positive[["mrn", "date"]].values.tolist() == [["LD0013", "2026-11-18"]]
    assert patient("LD0013").reproductive_potential and patient("LD0013").start_date < TODAY
    negatives = preg[(preg.mrn == "LD0013") & (preg.value == "negative")]
    assert negatives.date.max() < "2026-11-18" < TODAY.isoformat()
    assert set(preg.value) == {"negative", "positive"}


def test_a_myeloma_patient_has_a_marrow_biopsy_planned_after_today(events):
    """Issue 8: biopsies in myeloma come from a planned date (no calendar); LD0001's is weeks ahead."""
    planned = events[events.event == "marrow_biopsy_planned"]
    assert planned[["mrn", "date", "value"]].values.tolist() == [["LD0001", "2026-12-14", ""]]
    assert patient("LD0001").indication == "MM"
    assert 14 <= (dt.date(2026, 12, 14) - TODAY).days <= 42
    others = events[events.event != "marrow_biopsy_planned"]
    assert (others.date < TODAY.isoformat()).all()


def test_reproductive_potential_patients_include_irregular_menses():
    assert {p.menses for p in samples.PATIENTS if p.reproductive_potential} == {"regular", "irregular"}


LADDER = {  # DOMAIN.md §1 "next lower dose"
    "MM": (25, 20, 15, 10, 5, 2.5),
    "MM_MAINT": (15, 10, 5),
    "MDS": (10, 5, 2.5),
    "MCL": (25, 20, 15, 10, 5),
    "FL": (20, 15, 10, 5),
    "MZL": (20, 15, 10, 5),
}


def test_recorded_dose_changes_step_one_rung_down(events):
    changes = events[events.event == "dose_change"]
    assert 1 <= len(changes) <= 5, "few clinician dose changes"
    for mrn, g in changes.groupby("mrn"):
        p = patient(mrn)
        dose = p.starting_dose_mg
        for value in g.sort_values("date").value:
            if value == "hold":
                continue
            ladder = LADDER[p.indication]
            assert float(value) == ladder[ladder.index(dose) + 1], (mrn, dose, value)
            dose = float(value)


# --- the files hold what was simulated ----------------------------------------------------------

FROM_SI = {
    "hgb": 10.0,
    "albumin": 10.0,
    "total_protein": 10.0,
    "creatinine": 88.4,
    "bilirubin": 17.1,
    "glucose": 1 / 18.0,
    "calcium": 1 / 4.008,
    "bun": 1 / 2.8,
}  # DOMAIN.md §6


def _close(a: float, b: float, decimals_of_export: int, factor: float) -> bool:
    return abs(a - b) <= 0.5 * 10**-decimals_of_export / factor + 1e-9


def test_epic_file_holds_the_simulated_values(labs):
    f = pd.read_csv(io.StringIO(samples.epic_csv(samples.simulate_clinic())), dtype=str, keep_default_na=False)
    names = {c.name: c.analyte for c in samples.EPIC_COLUMNS}
    checked = 0
    for row in f.itertuples(index=False):
        text = row.Result.removesuffix(" H").removesuffix(" L")
        if row._8 != "Final" or text.startswith("<"):
            continue
        day = (dt.datetime.strptime(row._2, "%m/%d/%Y %H:%M").date() - patient(row.MRN).start_date).days
        sim = labs[(labs.mrn == row.MRN) & (labs.day == day) & (labs.analyte == names[row.Component])].value
        if row.MRN == "LD0002" and row.Component == "POTASSIUM" and text == "6.3":
            continue  # the haemolysed original, corrected in the next row
        assert len(sim) == 1 and _close(float(text), sim.iloc[0], 2, 1.0), row
        checked += 1
    # not compared: the cancelled row, two '<0.2', the haemolysed original and its correction
    assert checked == len(f) - 1 - 2 - 1 - 1


def test_europe_file_is_windows_1252_semicolon_decimal_comma(labs):
    data = samples.europe_csv(samples.simulate_clinic())
    assert "µmol/L".encode("cp1252") in data and b"\r\n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(data.decode("cp1252")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["Patienten-ID", "Entnahmedatum"]
    by_header = {f"{c.name} ({c.unit})": c for c in samples.EUROPE_COLUMNS}
    for row in body:
        when = dt.datetime.strptime(row[1], "%d.%m.%Y").date()
        day = (when - patient(row[0]).start_date).days
        for name, cell in zip(header[2:], row[2:]):
            if not cell:
                continue
            col = by_header[name]
            assert "." not in cell
            sim = labs[(labs.mrn == row[0]) & (labs.day == day) & (labs.analyte == col.analyte)].value.iloc[0]
            value = float(cell.replace(",", ".")) / FROM_SI.get(col.analyte, 1.0)
            assert _close(value, sim, col.decimals, FROM_SI.get(col.analyte, 1.0)), (row[0], name, cell, sim)


def test_loinc_file_holds_the_simulated_values(labs):
    f = pd.read_csv(io.StringIO(samples.loinc_csv(samples.simulate_clinic())), dtype=str)
    codes = {c.name: c for c in (*samples.LOINC_COLUMNS, *samples.LOINC_SI_OVERRIDES.values())}
    assert {"14682-9", "14631-6"} <= set(f.loinc)
    for row in f.itertuples(index=False):
        analyte, factor = codes[row.loinc].analyte, codes[row.loinc].factor
        day = (dt.datetime.fromisoformat(row.effective_datetime).date() - patient(row.patient_id).start_date).days
        sim = labs[(labs.mrn == row.patient_id) & (labs.day == day) & (labs.analyte == analyte)].value.iloc[0]
        assert _close(float(row.value) / factor, sim, codes[row.loinc].decimals, factor), row


# --- the benchmark clinic ------------------------------------------------------------------------


def test_benchmark_clinic_shape_and_determinism():
    a = samples.benchmark_clinic(12, results_per_patient=50)
    b = samples.benchmark_clinic(12, results_per_patient=50)
    assert a == b
    labs = pd.read_csv(io.BytesIO(a.labs_csv), dtype=str)
    assert len(labs) == a.n_results == 600
    assert labs.groupby("MRN").size().eq(50).all()
    pts = pd.read_csv(io.BytesIO(a.patients_csv), dtype=str)
    assert len(pts) == 12 and set(pts.indication) == {"MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"}
    when = pd.to_datetime(labs["Collection Date/Time"], format="%m/%d/%Y %H:%M")
    assert when.max().date() < TODAY
    assert pd.to_numeric(labs.Result).notna().all()


def test_benchmark_clinic_written_block_by_block_is_the_clinic_in_memory(tmp_path):
    """write_benchmark_clinic streams the lab file per block of patients; the bytes are the same, and a
    smaller clinic is the first patients of a larger one (a patient's data depends on its number only)."""
    n = samples.BENCH_BLOCK + 30  # two blocks, the second one cut short
    clinic = samples.benchmark_clinic(n, results_per_patient=40)
    paths = samples.write_benchmark_clinic(tmp_path, n, results_per_patient=40)
    assert paths["labs"].read_bytes() == clinic.labs_csv
    assert paths["patients"].read_bytes() == clinic.patients_csv
    assert paths["events"].read_bytes() == clinic.events_csv
    smaller = samples.benchmark_clinic(n - 20, results_per_patient=40)
    assert clinic.labs_csv.startswith(smaller.labs_csv) and clinic.patients_csv.startswith(smaller.patients_csv)
    assert clinic.labs_csv != smaller.labs_csv
    assert clinic.labs_csv.count(b"\n") == 1 + n * 40


def test_benchmark_clinic_rejects_nonsense_sizes():
    with pytest.raises(ValueError, match="n_patients >= 1"):
        samples.benchmark_clinic(0)
