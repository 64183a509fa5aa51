"""Deterministic synthetic sample clinic (sample_data/) and the large benchmark clinic."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lenadash.config import SAMPLE_DIR
from lenadash.vocab.analytes import LABEL
from lenadash.vocab.course import DEFAULT_COMBINATION, DEFAULT_SCHEDULE
from lenadash.vocab.frames import PATIENT_COLUMNS

# The clinic's fixed "today": every sample draw and event lies before it, except a planned biopsy
# (its date is the planned date, after today).
TODAY = dt.date(2026, 11, 20)
SEED = 20261120
DEFAULT_OUT_DIR = SAMPLE_DIR

CBC = ("wbc", "anc", "alc", "hgb", "plt")
CMP = (
    "sodium",
    "potassium",
    "chloride",
    "co2",
    "bun",
    "glucose",
    "creatinine",
    "calcium",
    "albumin",
    "total_protein",
    "alp",
    "ast",
    "alt",
    "bilirubin",
)


# --- the clinic: patients (one treatment course each) ------------------------------------------


@dataclass(frozen=True)
class SamplePatient:
    """One synthetic patient and course; `labs`/`cmp_labs` name the export style of their results."""

    mrn: str
    name: str
    sex: str
    birth_date: dt.date
    weight_kg: float
    indication: str
    start_date: dt.date
    starting_dose_mg: float
    schedule: str
    combination: str | None
    reproductive_potential: bool
    menses: str | None
    dialysis: bool
    labs: str  # "epic" | "europe" | "loinc": the file holding this patient's CBCs
    cmp_labs: str  # the file holding this patient's CMPs (usually the same as `labs`)
    baseline: dict[str, float]  # steady-state values that differ from NORMAL_BASE
    depth: dict[str, float]  # fraction by which a count falls at the cycle's nadir
    scenario: str
    labs_until: dt.date | None = None  # no draws after this date (missed visits); None: up to TODAY


_D = dt.date
PATIENTS: tuple[SamplePatient, ...] = (
    SamplePatient(
        "LD0001",
        "Alex Example",
        "M",
        _D(1958, 4, 17),
        82.0,
        "MM",
        _D(2026, 3, 9),
        25,
        "21/28",
        "dexamethasone",
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 3.1, "alc": 1.35, "plt": 205, "hgb": 11.8, "creatinine": 0.95},
        {"anc": 0.45, "plt": 0.35},
        "MM Rd 25 mg with aspirin: first ANC episode in cycle 2 (ANC 0.82 on C2D15, recovered 2 weeks "
        "later, neutropenia the only toxicity -> resume 25 mg), then platelets 26 on C6D18 (unscheduled "
        "draw) -> hold, recovered to 41 after 2 weeks -> resume 20 mg; a marrow biopsy (response, MRD) "
        "planned for 2026-12-14",
    ),
    SamplePatient(
        "LD0002",
        "Blake Sample",
        "F",
        _D(1952, 1, 23),
        62.0,
        "MM",
        _D(2026, 2, 9),
        10,
        "21/28",
        "dexamethasone",
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 2.6, "plt": 180, "hgb": 10.9, "creatinine": 1.35},
        {"anc": 0.35, "plt": 0.3},
        "MM renally reduced start: CrCl about 36 mL/min at baseline (creatinine 1.35 mg/dL, 74 y, 62 kg, "
        "female) -> 10 mg; enoxaparin; one potassium 6.3 (haemolysed) later corrected to 4.4 in the same file",
    ),
    SamplePatient(
        "LD0003",
        "Casey Placeholder",
        "M",
        _D(1961, 9, 30),
        95.0,
        "MM",
        _D(2026, 1, 12),
        25,
        "21/28",
        "dexamethasone",
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 3.4, "plt": 230, "glucose": 168, "alt": 24},
        {"anc": 0.4, "plt": 0.3},
        "MM on dexamethasone with NO thromboprophylaxis recorded; steroid hyperglycaemia (glucose results "
        "exported with the flag glued on, e.g. '171 H'); ALT 228 U/L (grade 3) on C5D1 -> clinician "
        "hold and toxicity event, ALT back to grade 1 two weeks later -> dose_change 20 mg",
    ),
    SamplePatient(
        "LD0004",
        "Dana Mock",
        "M",
        _D(1964, 6, 11),
        88.0,
        "MM_MAINT",
        _D(2025, 12, 15),
        10,
        "28/28",
        None,
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 2.2, "plt": 170},
        {"anc": 0.4, "plt": 0.3},
        "MM maintenance 10 mg: ANC 0.46 on C3D15 -> hold, 0.67 two weeks later -> resume 5 mg continuous "
        "(dose_change 5 recorded); one cancelled platelet count (clotted sample)",
    ),
    SamplePatient(
        "LD0005",
        "Eli Testcase",
        "M",
        _D(1949, 12, 2),
        71.0,
        "MM",
        _D(2026, 3, 9),
        5,
        "21/28",
        "dexamethasone",
        False,
        None,
        True,
        "epic",
        "loinc",
        {"anc": 2.4, "plt": 160, "hgb": 9.8, "creatinine": 5.8, "bun": 48, "potassium": 4.9, "co2": 21},
        {"anc": 0.35, "plt": 0.3},
        "MM on haemodialysis -> 5 mg daily after dialysis; aspirin; CBCs in the Epic export, CMPs from the "
        "dialysis unit's LOINC export (creatinine and bilirubin in umol/L)",
    ),
    SamplePatient(
        "LD0006",
        "Frankie Specimen",
        "F",
        _D(1988, 7, 14),
        64.0,
        "MM_MAINT",
        _D(2026, 4, 6),
        10,
        "28/28",
        None,
        True,
        "regular",
        False,
        "epic",
        "epic",
        {"anc": 2.9, "plt": 210, "hgb": 12.4, "creatinine": 0.7, "bilirubin": 0.3},
        {"anc": 0.35, "plt": 0.3},
        "MM maintenance, woman of reproductive potential with regular menses: pregnancy tests 12 days and "
        "1 day before start, weekly for 4 weeks, then every 4 weeks (all negative); two bilirubin results "
        "reported as '<0.2'",
    ),
    SamplePatient(
        "LD0007",
        "Gray Example",
        "F",
        _D(1955, 3, 5),
        68.0,
        "MDS",
        _D(2026, 5, 4),
        10,
        "28/28",
        None,
        False,
        None,
        False,
        "europe",
        "europe",
        {"anc": 1.6, "alc": 1.1, "plt": 84, "hgb": 9.1, "creatinine": 0.75},
        {"anc": 0.3, "plt": 0.25},
        "del(5q) MDS, baseline platelets 88 (< 100): platelets 38 on day 21 (below 50% of baseline within "
        "4 weeks) -> hold, 57 two weeks later (baseline >= 60, so resume at >= 50) -> 5 mg; marrow "
        "biopsies before start, at week 12 and week 24 (on time)",
    ),
    SamplePatient(
        "LD0008",
        "Harper Sample",
        "M",
        _D(1950, 10, 28),
        77.0,
        "MDS",
        _D(2026, 3, 9),
        10,
        "28/28",
        None,
        False,
        None,
        False,
        "europe",
        "europe",
        {"anc": 1.45, "alc": 1.2, "plt": 165, "hgb": 9.4},
        {"anc": 0.3, "plt": 0.3},
        "del(5q) MDS: ANC 0.46 in week 6 and 0.41 in week 7 (below 0.5 for 7 days, after week 4) -> hold, "
        "0.58 in week 9 -> resume 5 mg; marrow biopsies before start and at week 12 only: the week-24 "
        "biopsy is OVERDUE",
    ),
    SamplePatient(
        "LD0009",
        "Indy Placeholder",
        "F",
        _D(1947, 8, 19),
        55.0,
        "MDS",
        _D(2026, 4, 6),
        5,
        "28/28",
        None,
        False,
        None,
        False,
        "europe",
        "europe",
        {"anc": 1.8, "plt": 128, "hgb": 9.6, "creatinine": 1.2},
        {"anc": 0.25, "plt": 0.3},
        "del(5q) MDS renally reduced start: CrCl about 33 mL/min (creatinine 1.2 mg/dL, 78 y, 55 kg) -> "
        "5 mg; in week 14 platelets 44 with a platelet transfusion -> hold (at 5 mg), 41 a week later "
        "(>= 30) -> resume 2.5 mg, 62 the week after; marrow biopsies on time",
    ),
    SamplePatient(
        "LD0010",
        "Jordan Mock",
        "M",
        _D(1959, 2, 14),
        90.0,
        "MCL",
        _D(2026, 2, 9),
        25,
        "21/28",
        None,
        False,
        None,
        False,
        "loinc",
        "loinc",
        {"anc": 3.0, "plt": 190},
        {"anc": 0.4, "plt": 0.35},
        "MCL 25 mg: ANC 0.86 on C3D15 with fever 38.7 C the same day -> hold, 1.31 two weeks later -> resume 20 mg",
    ),
    SamplePatient(
        "LD0011",
        "Kai Sample",
        "F",
        _D(1953, 11, 8),
        63.0,
        "MCL",
        _D(2026, 1, 12),
        25,
        "21/28",
        None,
        False,
        None,
        False,
        "europe",
        "europe",
        {"anc": 2.8, "plt": 175, "hgb": 11.6, "creatinine": 0.7},
        {"anc": 0.35, "plt": 0.35},
        "MCL 25 mg (European SI export): platelets 46 on C4D15 -> hold, 39 a week later, 58 after 2 weeks "
        "-> resume 20 mg",
    ),
    SamplePatient(
        "LD0012",
        "Lee Example",
        "M",
        _D(1966, 5, 21),
        79.0,
        "FL",
        _D(2025, 12, 8),
        20,
        "21/28",
        "rituximab",
        False,
        None,
        False,
        "loinc",
        "loinc",
        {"anc": 3.3, "plt": 220},
        {"anc": 0.4, "plt": 0.3},
        "FL with rituximab 20 mg, uneventful: 12 cycles completed on 2026-11-08 (12-cycle limit alert)",
    ),
    SamplePatient(
        "LD0013",
        "Morgan Testcase",
        "F",
        _D(1985, 1, 9),
        70.0,
        "FL",
        _D(2026, 5, 4),
        20,
        "21/28",
        "rituximab",
        True,
        "irregular",
        False,
        "loinc",
        "loinc",
        {"anc": 3.6, "plt": 240, "hgb": 12.6, "creatinine": 0.72},
        {"anc": 0.4, "plt": 0.3},
        "FL, woman of reproductive potential with IRREGULAR menses: pregnancy tests weekly for 4 weeks, "
        "then every 2 weeks, all negative up to 2026-11-16; a positive serum hCG on 2026-11-18 stops "
        "treatment (REMS)",
    ),
    SamplePatient(
        "LD0014",
        "Noel Placeholder",
        "M",
        _D(1957, 12, 1),
        84.0,
        "MZL",
        _D(2026, 4, 6),
        20,
        "21/28",
        "rituximab",
        False,
        None,
        False,
        "loinc",
        "loinc",
        {"anc": 2.9, "plt": 200},
        {"anc": 0.4, "plt": 0.3},
        "MZL 20 mg: ANC 0.44 on 2026-11-09 -> hold (ANC < 0.5); still 0.78 on 2026-11-16: CURRENTLY HELD",
    ),
    SamplePatient(
        "LD0015",
        "Oakley Mock",
        "F",
        _D(1947, 6, 2),
        58.0,
        "MZL",
        _D(2026, 3, 2),
        10,
        "21/28",
        "rituximab",
        False,
        None,
        False,
        "loinc",
        "loinc",
        {"anc": 2.7, "plt": 185, "hgb": 11.9, "creatinine": 1.25},
        {"anc": 0.35, "plt": 0.3},
        "MZL renally reduced start: CrCl about 33 mL/min (creatinine 1.25 mg/dL, 78 y, 58 kg) -> 10 mg",
    ),
    SamplePatient(
        "LD0016",
        "Parker Sample",
        "M",
        _D(1962, 2, 27),
        86.0,
        "MM",
        _D(2026, 5, 4),
        25,
        "21/28",
        "dexamethasone",
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 3.2, "plt": 190},
        {"anc": 0.4, "plt": 0.35},
        "MM Rd 25 mg with enoxaparin: platelets 22 on C7D15 (2026-11-02) -> hold, 27 and 28 on the next "
        "weekly CBCs: CURRENTLY HELD (will resume 20 mg once >= 30)",
    ),
    SamplePatient(
        "LD0017",
        "Robin Placeholder",
        "F",
        _D(1959, 10, 3),
        71.0,
        "MM_MAINT",
        _D(2026, 1, 5),
        10,
        "28/28",
        None,
        False,
        None,
        False,
        "epic",
        "epic",
        {"anc": 2.5, "plt": 175, "hgb": 12.1, "creatinine": 0.8},
        {"anc": 0.35, "plt": 0.3},
        "MM maintenance 10 mg, uneventful, but no labs since 2026-09-14 (missed the October and November "
        "CBCs): CBC OVERDUE since 2026-10-12",
        labs_until=_D(2026, 9, 14),
    ),
)


@dataclass(frozen=True)
class Episode:
    """Scripted values of one analyte on weekly draws from study day `day` (day 0 = start date).

    The clinic draws these (weekly during a hold, DOMAIN.md §5) instead of its routine schedule;
    `ongoing` keeps the hold open to TODAY (no routine draws after it).
    """

    mrn: str
    analyte: str
    day: int
    values: tuple[float, ...]
    ongoing: bool = False


EPISODES: tuple[Episode, ...] = (
    Episode("LD0001", "anc", 42, (0.82, 0.91, 1.42)),
    Episode("LD0001", "plt", 157, (26, 24, 41)),
    Episode("LD0003", "alt", 112, (228, 151, 96)),
    Episode("LD0004", "anc", 70, (0.46, 0.43, 0.67)),
    Episode("LD0007", "plt", 21, (38, 44, 57)),
    Episode("LD0008", "anc", 42, (0.46, 0.41, 0.44, 0.58)),
    Episode("LD0009", "plt", 98, (44, 41, 62)),
    Episode("LD0010", "anc", 70, (0.86, 0.94, 1.31)),
    Episode("LD0011", "plt", 98, (46, 39, 58)),
    Episode("LD0014", "anc", 217, (0.44, 0.78), ongoing=True),
    Episode("LD0016", "plt", 182, (22, 27, 28), ongoing=True),
)

# Recorded clinical events: (mrn, study day, event, value, detail). Pregnancy tests and marrow
# biopsies follow their schedules and are generated below.
EVENTS: tuple[tuple[str, int, str, str, str], ...] = (
    ("LD0001", 0, "thromboprophylaxis", "aspirin", "aspirin 100 mg daily with Rd"),
    ("LD0002", 0, "thromboprophylaxis", "enoxaparin", "enoxaparin 40 mg daily (prior DVT)"),
    ("LD0003", 112, "toxicity", "3", "ALT increased, CTCAE grade 3, judged related to lenalidomide"),
    ("LD0003", 112, "dose_change", "hold", "held for grade 3 ALT (US PI 2.2, other grade 3/4 toxicity)"),
    ("LD0003", 126, "dose_change", "20", "ALT grade 1: resumed at the next lower dose"),
    ("LD0004", 84, "dose_change", "5", "ANC back to >= 0.5 after a hold: next lower dose, continuous"),
    ("LD0005", 0, "thromboprophylaxis", "aspirin", "aspirin 100 mg daily"),
    ("LD0009", 98, "platelet_transfusion", "1", "one adult dose of apheresis platelets (epistaxis)"),
    ("LD0010", 70, "fever", "38.7", "febrile neutropenia, admitted for IV antibiotics"),
    ("LD0016", 0, "thromboprophylaxis", "enoxaparin", "enoxaparin 40 mg daily (high-risk combination)"),
    # LD0001 (MM): a marrow biopsy planned by the clinician (myeloma has no biopsy calendar) for
    # 2026-12-14, C11D1, three and a half weeks after TODAY: an upcoming biopsy on his card
    ("LD0001", 280, "marrow_biopsy_planned", "", "bone marrow biopsy for response and MRD, before cycle 11"),
    # LD0013 (FL, irregular menses): a positive test on 2026-11-18, two days after her last negative
    # one and after her last draw: REMS stop (stop, not hold; the prescriber decides what follows)
    ("LD0013", 198, "pregnancy_test", "positive", "serum hCG at an unscheduled visit (nausea)"),
)

# VTE risk factors and REMS prescription authorizations the clinic recorded (docs/insight.md), so the clinic
# page has IMPEDE VTE scores and a REMS log to show: (mrn, study day, event, value, detail).
INSIGHT_EVENTS: tuple[tuple[str, int, str, str, str], ...] = (
    ("LD0001", 0, "vte_risk_factor", "dex_low", "dexamethasone 40 mg weekly"),
    ("LD0001", 0, "vte_risk_factor", "bmi_25", "BMI 27"),
    ("LD0002", 0, "vte_risk_factor", "vte_history", "DVT 2019"),
    ("LD0002", 0, "vte_risk_factor", "dex_low", "dexamethasone 40 mg weekly"),
    ("LD0003", 0, "vte_risk_factor", "dex_high", "dexamethasone 40 mg days 1-4, 9-12, 17-20"),
    ("LD0003", 0, "vte_risk_factor", "cvc", "tunneled line"),
    ("LD0004", 0, "vte_risk_factor", "none", "assessed at the start of maintenance"),
    ("LD0005", 0, "vte_risk_factor", "dex_low", "dexamethasone 40 mg weekly"),
    ("LD0005", 0, "vte_risk_factor", "bmi_25", "BMI 29"),
    ("LD0006", 0, "vte_risk_factor", "asian_pacific_islander", ""),
    ("LD0016", 0, "vte_risk_factor", "dex_high", "dexamethasone 40 mg days 1-4, 9-12, 17-20"),
    ("LD0006", 196, "rems_authorization", "40736125", "cycle 8"),
    ("LD0006", 224, "rems_authorization", "40761290", "cycle 9"),
    ("LD0013", 168, "rems_authorization", "40722874", "cycle 7"),
)

# Marrow biopsies actually done, in study days (the MDS guide asks for one before treatment and at
# weeks 12 and 24; LD0008's week-24 biopsy was never done).
MARROW_BIOPSY_DAYS: dict[str, tuple[int, ...]] = {
    "LD0007": (-7, 86, 170),
    "LD0008": (-14, 87),
    "LD0009": (-7, 85, 168),
}


# --- monitoring schedules (DOMAIN.md §5): (first day, last day or None, every n days) ----------


@dataclass(frozen=True)
class ScheduleRow:
    indications: tuple[str, ...]
    first_day: int
    last_day: int | None
    every_days: int
    source: str


CBC_SCHEDULE: tuple[ScheduleRow, ...] = (
    ScheduleRow(("MM", "MM_MAINT"), 7, 49, 7, "US PI 5.3: weekly for cycles 1-2"),
    ScheduleRow(("MM", "MM_MAINT"), 56, 70, 14, "US PI 5.3: days 1 and 15 of cycle 3"),
    ScheduleRow(("MM", "MM_MAINT"), 84, None, 28, "US PI 5.3: every 28 days after cycle 3"),
    ScheduleRow(("MDS",), 7, 56, 7, "MDS patient guide: weekly for weeks 1-8"),
    ScheduleRow(("MDS",), 70, 112, 14, "MDS patient guide: every 2 weeks for weeks 9-16"),
    ScheduleRow(("MDS",), 140, None, 28, "MDS patient guide: every 4 weeks after week 16"),
    ScheduleRow(("MCL",), 7, 21, 7, "US PI 5.3: weekly in cycle 1"),
    ScheduleRow(("FL", "MZL"), 7, 14, 7, "US PI 5.3: weekly for the first 3 weeks of cycle 1"),
    ScheduleRow(("MCL", "FL", "MZL"), 28, 98, 14, "US PI 5.3: every 2 weeks in cycles 2-4"),
    ScheduleRow(("MCL", "FL", "MZL"), 112, None, 28, "US PI 5.3: monthly after cycle 4"),
)
BASELINE_DAY = -6  # baseline CBC + CMP, within the 30 days before start (DOMAIN.md §2)
CMP_EVERY_DAYS = 28  # creatinine and liver tests every 4 weeks (DOMAIN.md §5: every 3-4 months at least)

# Typical steady-state values (canonical units) and the relative noise of each analyte.
NORMAL_BASE: dict[str, float] = {
    "anc": 3.0,
    "alc": 1.4,
    "other_wbc": 0.6,
    "hgb": 12.5,
    "plt": 220,
    "sodium": 139,
    "potassium": 4.2,
    "chloride": 102,
    "co2": 25,
    "bun": 15,
    "glucose": 96,
    "creatinine": 0.9,
    "calcium": 9.3,
    "albumin": 4.0,
    "total_protein": 6.8,
    "alp": 78,
    "ast": 22,
    "alt": 21,
    "bilirubin": 0.6,
}
NOISE_SD: dict[str, float] = {
    "anc": 0.06,
    "alc": 0.06,
    "other_wbc": 0.08,
    "hgb": 0.025,
    "plt": 0.05,
    "sodium": 0.01,
    "potassium": 0.04,
    "chloride": 0.01,
    "co2": 0.04,
    "bun": 0.08,
    "glucose": 0.06,
    "creatinine": 0.03,
    "calcium": 0.02,
    "albumin": 0.03,
    "total_protein": 0.02,
    "alp": 0.06,
    "ast": 0.08,
    "alt": 0.08,
    "bilirubin": 0.08,
}
# How deep Hgb and lymphocytes dip at the nadir (counts use the patient's `depth`).
DEFAULT_DEPTH = {"alc": 0.15, "hgb": 0.06, "other_wbc": 0.3}

# Nadir shape over the 28-day cycle (0 = no suppression, 1 = deepest), by schedule. On 21/28 the
# nadir falls on days 15-21 and counts recover in the rest week; continuous dosing keeps a floor.
_CYCLE_POINTS = {
    "21/28": ((0, 0.05), (7, 0.35), (14, 0.85), (18, 1.0), (21, 0.9), (28, 0.05)),
    "28/28": ((0, 0.65), (7, 0.75), (14, 0.9), (19, 1.0), (24, 0.85), (28, 0.65)),
}

# Reference intervals the synthetic US lab prints (typical adult intervals; not used for grading).
US_REFERENCE: dict[str, tuple[float, float] | dict[str, tuple[float, float]]] = {
    "wbc": (4.0, 11.0),
    "anc": (1.8, 7.7),
    "alc": (1.0, 4.8),
    "hgb": {"M": (13.5, 17.5), "F": (12.0, 15.5)},
    "plt": (150, 400),
    "sodium": (136, 145),
    "potassium": (3.5, 5.1),
    "chloride": (98, 107),
    "co2": (22, 29),
    "bun": (7, 20),
    "glucose": (70, 99),
    "creatinine": {"M": (0.7, 1.3), "F": (0.6, 1.1)},
    "calcium": (8.6, 10.3),
    "albumin": (3.5, 5.0),
    "total_protein": (6.0, 8.3),
    "alp": (40, 129),
    "ast": (10, 40),
    "alt": (7, 40),
    "bilirubin": (0.2, 1.2),
}
DECIMALS_US = {
    "wbc": 1,
    "anc": 2,
    "alc": 2,
    "hgb": 1,
    "plt": 0,
    "sodium": 0,
    "potassium": 1,
    "chloride": 0,
    "co2": 0,
    "bun": 0,
    "glucose": 0,
    "creatinine": 2,
    "calcium": 1,
    "albumin": 1,
    "total_protein": 1,
    "alp": 0,
    "ast": 0,
    "alt": 0,
    "bilirubin": 1,
}


# --- export styles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    """How one analyte appears in an export: name, unit text, factor from the canonical unit."""

    analyte: str
    name: str
    unit: str
    factor: float  # exported value = canonical value x factor
    decimals: int


EPIC_COLUMNS: tuple[ExportColumn, ...] = tuple(
    ExportColumn(a, n, u, 1.0, DECIMALS_US[a])
    for a, n, u in (
        ("wbc", "WBC", "K/uL"),
        ("anc", "NEUTROPHILS ABSOLUTE", "K/uL"),
        ("alc", "LYMPHOCYTES ABSOLUTE", "K/uL"),
        ("hgb", "HEMOGLOBIN", "g/dL"),
        ("plt", "PLATELET COUNT", "K/uL"),
        ("sodium", "SODIUM", "mmol/L"),
        ("potassium", "POTASSIUM", "mmol/L"),
        ("chloride", "CHLORIDE", "mmol/L"),
        ("co2", "CO2", "mmol/L"),
        ("bun", "BUN", "mg/dL"),
        ("glucose", "GLUCOSE", "mg/dL"),
        ("creatinine", "CREATININE", "mg/dL"),
        ("calcium", "CALCIUM", "mg/dL"),
        ("albumin", "ALBUMIN", "g/dL"),
        ("total_protein", "PROTEIN TOTAL", "g/dL"),
        ("alp", "ALKALINE PHOSPHATASE", "U/L"),
        ("ast", "AST", "U/L"),
        ("alt", "ALT", "U/L"),
        ("bilirubin", "BILIRUBIN TOTAL", "mg/dL"),
    )
)
# European wide export: the column header carries the name and the SI unit; no CO2 column.
EUROPE_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("wbc", "Leukozyten", "G/L", 1.0, 2),
    ExportColumn("anc", "Neutrophile abs.", "G/L", 1.0, 2),
    ExportColumn("alc", "Lymphozyten abs.", "G/L", 1.0, 2),
    ExportColumn("hgb", "Hb", "g/L", 10.0, 0),
    ExportColumn("plt", "Thrombozyten", "G/L", 1.0, 0),
    ExportColumn("sodium", "Natrium", "mmol/L", 1.0, 0),
    ExportColumn("potassium", "Kalium", "mmol/L", 1.0, 1),
    ExportColumn("chloride", "Chlorid", "mmol/L", 1.0, 0),
    ExportColumn("bun", "Harnstoff", "mmol/L", 1 / 2.8, 1),  # urea mmol/L = BUN mg/dL / 2.8
    ExportColumn("glucose", "Glukose", "mmol/L", 1 / 18.0, 1),
    ExportColumn("creatinine", "Kreatinin", "µmol/L", 88.4, 0),
    ExportColumn("calcium", "Calcium", "mmol/L", 1 / 4.008, 2),
    ExportColumn("albumin", "Albumin", "g/L", 10.0, 0),
    ExportColumn("total_protein", "Gesamteiweiß", "g/L", 10.0, 0),
    ExportColumn("bilirubin", "Bilirubin gesamt", "µmol/L", 17.1, 0),
    ExportColumn("alp", "AP", "U/L", 1.0, 0),
    ExportColumn("ast", "GOT", "U/L", 1.0, 0),
    ExportColumn("alt", "GPT", "U/L", 1.0, 0),
)
LOINC_COLUMNS: tuple[ExportColumn, ...] = tuple(
    ExportColumn(a, code, u, 1.0, DECIMALS_US[a])
    for a, code, u in (
        ("wbc", "6690-2", "10*3/uL"),
        ("anc", "751-8", "10*3/uL"),
        ("alc", "731-0", "10*3/uL"),
        ("hgb", "718-7", "g/dL"),
        ("plt", "777-3", "10*3/uL"),
        ("sodium", "2951-2", "mmol/L"),
        ("potassium", "2823-3", "mmol/L"),
        ("chloride", "2075-0", "mmol/L"),
        ("co2", "2028-9", "mmol/L"),
        ("bun", "3094-0", "mg/dL"),
        ("glucose", "2345-7", "mg/dL"),
        ("creatinine", "2160-0", "mg/dL"),
        ("calcium", "17861-6", "mg/dL"),
        ("albumin", "1751-7", "g/dL"),
        ("total_protein", "2885-2", "g/dL"),
        ("alp", "6768-6", "U/L"),
        ("ast", "1920-8", "U/L"),
        ("alt", "1742-6", "U/L"),
        ("bilirubin", "1975-2", "mg/dL"),
    )
)
# The dialysis unit reports creatinine and bilirubin in umol/L under their SI LOINC codes.
LOINC_SI_OVERRIDES: dict[str, ExportColumn] = {
    "creatinine": ExportColumn("creatinine", "14682-9", "umol/L", 88.4, 0),
    "bilirubin": ExportColumn("bilirubin", "14631-6", "umol/L", 17.1, 0),
}
LOINC_SI_PATIENTS = ("LD0005",)


# --- simulation ---------------------------------------------------------------------------------


@dataclass
class Draw:
    mrn: str
    collected_at: dt.datetime
    values: dict[str, float] = field(default_factory=dict)  # canonical units, rounded for export

    @property
    def has_cmp(self) -> bool:
        return "creatinine" in self.values


def _cycle_shape(schedule: str, day: int) -> float:
    """Suppression on study `day` (0 none .. 1 nadir); before the start there is none."""
    if day < 0:
        return 0.0
    xs, ys = zip(*_CYCLE_POINTS[schedule])
    shape = float(np.interp(day % 28, xs, ys))
    # continuous dosing reaches its steady suppression over the first three weeks
    return shape * min(1.0, day / 21) if schedule == "28/28" else shape


def _last_lab_day(p: SamplePatient) -> int:
    """The last study day with a draw: the day before TODAY, or the patient's labs_until."""
    last = TODAY - dt.timedelta(days=1) if p.labs_until is None else min(p.labs_until, TODAY - dt.timedelta(days=1))
    return (last - p.start_date).days


def _scheduled_days(p: SamplePatient) -> list[int]:
    days = [BASELINE_DAY]
    horizon = _last_lab_day(p)
    for row in CBC_SCHEDULE:
        if p.indication in row.indications:
            last = horizon if row.last_day is None else min(row.last_day, horizon)
            days.extend(range(row.first_day, last + 1, row.every_days))
    return sorted(set(days))


def _draw_days(p: SamplePatient) -> tuple[list[int], dict[int, dict[str, float]], dict[int, dict[str, float]]]:
    """Study days of every draw, the scripted values on each, and the lead-in draw of each episode."""
    days = _scheduled_days(p)
    scripted: dict[int, dict[str, float]] = {}
    horizon = _last_lab_day(p)
    for ep in (e for e in EPISODES if e.mrn == p.mrn):
        ep_days = [ep.day + 7 * i for i in range(len(ep.values))]
        if ep_days[-1] > horizon:
            raise ValueError(f"episode {ep} runs past the patient's last lab day")
        end = horizon if ep.ongoing else ep_days[-1]
        # weekly draws replace the routine schedule while the episode lasts
        days = [d for d in days if not ep.day <= d <= end] + ep_days
        for d, v in zip(ep_days, ep.values):
            scripted.setdefault(d, {})[ep.analyte] = float(v)
    lead_in: dict[int, dict[str, float]] = {}
    for ep in (e for e in EPISODES if e.mrn == p.mrn):
        before = [d for d in days if d < ep.day]
        if before:
            lead_in.setdefault(before[-1], {})[ep.analyte] = float(ep.values[0])
    return sorted(set(days)), scripted, lead_in


def _cmp_days(days: list[int]) -> set[int]:
    """Baseline plus the first draw on or after each 4-week mark."""
    chosen = {days[0]}
    for mark in range(CMP_EVERY_DAYS, days[-1] + 1, CMP_EVERY_DAYS):
        chosen.add(min(d for d in days if d >= mark))
    return chosen


def _round(value: float, decimals: int) -> float:
    return float(f"{value:.{decimals}f}")


def simulate_patient(p: SamplePatient, index: int) -> list[Draw]:
    """Every draw of one patient, values in canonical units at US reporting precision."""
    rng = np.random.default_rng([SEED, index])
    days, scripted, lead_in = _draw_days(p)
    cmp_days = _cmp_days(days) | {d for d, v in scripted.items() if set(v) & set(CMP)}
    base = {**NORMAL_BASE, **p.baseline}
    depth = {**DEFAULT_DEPTH, **p.depth}
    draws = []
    for day in days:
        minute = int(rng.integers(7 * 60 + 30, 11 * 60 + 30))
        when = dt.datetime.combine(p.start_date + dt.timedelta(days=day), dt.time(minute // 60, minute % 60))
        shape = _cycle_shape(p.schedule, day)
        noise = {k: float(np.exp(rng.normal(0.0, NOISE_SD[k]))) for k in NOISE_SD}
        values: dict[str, float] = {}
        for a in ("anc", "alc", "other_wbc", "hgb", "plt"):
            values[a] = base[a] * (1 - depth.get(a, 0.0) * shape) * noise[a]
        if day in cmp_days:
            for a in CMP:
                values[a] = base[a] * noise[a]
        for a, first in lead_in.get(day, {}).items():
            if a in values:  # the draw before an episode is already on the way down (geometric mean)
                values[a] = float(np.sqrt(values[a] * first))
        values.update(scripted.get(day, {}))
        rounded = {a: _round(values[a], DECIMALS_US[a]) for a in values if a != "other_wbc"}
        rounded["wbc"] = _round(rounded["anc"] + rounded["alc"] + values["other_wbc"], 1)
        draws.append(Draw(p.mrn, when, {a: rounded[a] for a in (*CBC, *CMP) if a in rounded}))
    return draws


def simulate_clinic() -> dict[str, list[Draw]]:
    """Every sample patient's draws, MRN -> draws in date order (schedules: DOMAIN.md §5)."""
    return {p.mrn: simulate_patient(p, i) for i, p in enumerate(PATIENTS)}


def _events(p: SamplePatient) -> list[tuple[dt.date, str, str, str]]:
    rows = [
        (p.start_date + dt.timedelta(days=d), kind, value, detail)
        for mrn, d, kind, value, detail in EVENTS + INSIGHT_EVENTS
        if mrn == p.mrn
    ]
    for d in MARROW_BIOPSY_DAYS.get(p.mrn, ()):
        label = "before treatment" if d < 0 else f"week {round(d / 7)}"
        rows.append((p.start_date + dt.timedelta(days=d), "marrow_biopsy", "", f"bone marrow biopsy, {label}"))
    if p.reproductive_potential:
        # REMS: 10-14 days and within 24 h before start, weekly for 4 weeks, then every 4 weeks
        # (regular menses) or every 2 weeks (irregular menses)
        every = 14 if p.menses == "irregular" else 28
        days = [-12, -1, 7, 14, 21, 28]
        days += list(range(28 + every, (TODAY - p.start_date).days, every))
        for d in days:
            rows.append((p.start_date + dt.timedelta(days=d), "pregnancy_test", "negative", "serum hCG"))
    return sorted(rows, key=lambda r: (r[0], r[1]))


# --- writers ------------------------------------------------------------------------------------


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _fmt(value: float, decimals: int, decimal_comma: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if decimal_comma else text


def _ref(analyte: str, sex: str) -> tuple[float, float]:
    ref = US_REFERENCE[analyte]
    return ref[sex] if isinstance(ref, dict) else ref


def _flag(value: float, low: float, high: float) -> str:
    return "L" if value < low else "H" if value > high else ""


def patients_csv() -> str:
    """patients.csv: one row per course in the patients contract of docs/architecture.md."""
    header = PATIENT_COLUMNS
    rows = [
        [
            p.mrn,
            p.name,
            p.sex,
            p.birth_date.isoformat(),
            f"{p.weight_kg:g}",
            p.indication,
            p.start_date.isoformat(),
            f"{p.starting_dose_mg:g}",
            p.schedule,
            p.combination or "",
            "yes" if p.reproductive_potential else "no",
            p.menses or "",
            "yes" if p.dialysis else "no",
        ]
        for p in PATIENTS
    ]
    return _csv_text(header, rows)


def events_csv() -> str:
    """events.csv: recorded events plus the generated REMS pregnancy tests and marrow biopsies."""
    rows = [[p.mrn, d.isoformat(), kind, value, detail] for p in PATIENTS for d, kind, value, detail in _events(p)]
    return _csv_text(["mrn", "date", "event", "value", "detail"], rows)


def _epic_name(p: SamplePatient) -> str:
    first, last = p.name.split(" ", 1)
    return f"{last.upper()}, {first.upper()}"


def epic_csv(clinic: dict[str, list[Draw]]) -> str:
    """Epic-like long export with the quirks listed in sample_data/README.md."""
    header = [
        "MRN",
        "Patient Name",
        "Collection Date/Time",
        "Component",
        "Result",
        "Units",
        "Reference Range",
        "Flag",
        "Result Status",
    ]
    rows: list[list[str]] = []
    for p in PATIENTS:
        bilirubin_seen = 0
        for i, draw in enumerate(clinic[p.mrn]):
            panels = [] if p.labs != "epic" else list(CBC)
            if draw.has_cmp and p.cmp_labs == "epic":
                panels += list(CMP)
            for col in EPIC_COLUMNS:
                if col.analyte not in panels:
                    continue
                value = draw.values[col.analyte]
                low, high = _ref(col.analyte, p.sex)
                text = _fmt(value, col.decimals)
                flag = _flag(value, low, high)
                status = "Final"
                if p.mrn == "LD0003" and col.analyte == "glucose" and flag:
                    text, flag = f"{text} {flag}", ""  # flag glued onto the result
                if p.mrn == "LD0006" and col.analyte == "bilirubin":
                    bilirubin_seen += 1
                    if bilirubin_seen <= 2:
                        text, flag = "<0.2", ""  # below the reportable range
                if p.mrn == "LD0004" and col.analyte == "plt" and i == 4:
                    text, flag, status = "Cancelled", "", "Cancelled"  # clotted sample
                row = [
                    p.mrn,
                    _epic_name(p),
                    draw.collected_at.strftime("%m/%d/%Y %H:%M"),
                    col.name,
                    text,
                    col.unit,
                    f"{_fmt(low, col.decimals)}-{_fmt(high, col.decimals)}",
                    flag,
                    status,
                ]
                if p.mrn == "LD0002" and col.analyte == "potassium" and i == 8:
                    # haemolysed sample reported high, then corrected by the lab
                    rows.append([*row[:4], "6.3", row[5], row[6], "H", "Final"])
                    row[4], row[7], row[8] = "4.4", "", "Corrected"
                rows.append(row)
    return _csv_text(header, rows)


def europe_csv(clinic: dict[str, list[Draw]]) -> bytes:
    """European wide export: one row per draw, `;`, decimal commas, dd.mm.yyyy, Windows-1252."""
    header = ["Patienten-ID", "Entnahmedatum"] + [f"{c.name} ({c.unit})" for c in EUROPE_COLUMNS]
    rows = []
    for p in PATIENTS:
        if p.labs != "europe":
            continue
        for draw in clinic[p.mrn]:
            row = [p.mrn, draw.collected_at.strftime("%d.%m.%Y")]
            for c in EUROPE_COLUMNS:
                value = draw.values.get(c.analyte)
                row.append("" if value is None else _fmt(value * c.factor, c.decimals, decimal_comma=True))
            rows.append(row)
    return _csv_text(header, rows, delimiter=";").replace("\n", "\r\n").encode("cp1252")


def loinc_csv(clinic: dict[str, list[Draw]]) -> str:
    """LOINC-coded long export with UCUM units and ISO date-times (LOINC codes: DOMAIN.md §6)."""
    header = ["patient_id", "effective_datetime", "loinc", "value", "unit", "ref_low", "ref_high", "status"]
    rows = []
    for p in PATIENTS:
        for draw in clinic[p.mrn]:
            panels = list(CBC) if p.labs == "loinc" else []
            if draw.has_cmp and p.cmp_labs == "loinc":
                panels += list(CMP)
            for col in LOINC_COLUMNS:
                if col.analyte not in panels:
                    continue
                if p.mrn in LOINC_SI_PATIENTS:
                    col = LOINC_SI_OVERRIDES.get(col.analyte, col)
                low, high = _ref(col.analyte, p.sex)
                rows.append(
                    [
                        p.mrn,
                        draw.collected_at.strftime("%Y-%m-%dT%H:%M:00"),
                        col.name,
                        _fmt(draw.values[col.analyte] * col.factor, col.decimals),
                        col.unit,
                        _fmt(low * col.factor, col.decimals),
                        _fmt(high * col.factor, col.decimals),
                        "final",
                    ]
                )
    return _csv_text(header, rows)


# Rows of bad_rows.csv: (reject reason or "" for a valid row, MRN, date/time, component, result, units)
BAD_ROWS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("", "LD0099", "10/05/2026 08:30", "WBC", "5.4", "K/uL"),
    ("", "LD0099", "10/05/2026 08:30", "NEUTROPHILS ABSOLUTE", "3.10", "K/uL"),
    ("missing patient", "", "10/05/2026 08:30", "LYMPHOCYTES ABSOLUTE", "1.45", "K/uL"),
    ("", "LD0099", "10/05/2026 08:30", "HEMOGLOBIN", "12.8", "g/dL"),
    ("implausible value", "LD0099", "10/05/2026 08:30", "PLATELET COUNT", "150000", ""),
    ("", "LD0099", "10/05/2026 08:30", "CREATININE", "0.88", "mg/dL"),
    ("unreadable date", "LD0099", "10/45/2026 08:30", "SODIUM", "140", "mmol/L"),
    ("non-numeric result", "LD0099", "10/05/2026 08:30", "POTASSIUM", "see note", "mmol/L"),
    ("unknown analyte", "LD0099", "10/05/2026 08:30", "VITAMIN B12", "412", "pg/mL"),
    ("", "LD0099", "10/12/2026 09:05", "WBC", "4.9", "K/uL"),
    ("unknown unit", "LD0099", "10/12/2026 09:05", "NEUTROPHILS ABSOLUTE", "2.8", "cells/hpf"),
    ("", "LD0099", "10/12/2026 09:05", "LYMPHOCYTES ABSOLUTE", "1.38", "K/uL"),
    ("implausible value", "LD0099", "10/12/2026 09:05", "HEMOGLOBIN", "125", "g/dL"),
    ("", "LD0099", "10/12/2026 09:05", "PLATELET COUNT", "162", "K/uL"),
    ("missing patient", "", "10/12/2026 09:05", "ALT", "31", "U/L"),
    ("unreadable date", "LD0099", "not recorded", "AST", "27", "U/L"),
    ("", "LD0099", "10/12/2026 09:05", "CREATININE", "0.91", "mg/dL"),
    ("non-numeric result", "LD0099", "10/12/2026 09:05", "GLUCOSE", "positive", "mg/dL"),
    ("", "LD0099", "10/19/2026 08:40", "NEUTROPHILS ABSOLUTE", "2.95", "K/uL"),
    ("", "LD0099", "10/19/2026 08:40", "PLATELET COUNT", "158", "K/uL"),
)


def bad_rows_csv() -> str:
    """bad_rows.csv: BAD_ROWS in the Epic long layout; each reject reason at a known line."""
    header = [
        "MRN",
        "Patient Name",
        "Collection Date/Time",
        "Component",
        "Result",
        "Units",
        "Reference Range",
        "Flag",
        "Result Status",
    ]
    rows = [
        [mrn, "BADROW, QUINN" if mrn else "", when, name, result, unit, "", "", "Final"]
        for _, mrn, when, name, result, unit in BAD_ROWS
    ]
    return _csv_text(header, rows)


def sample_files() -> dict[str, bytes]:
    """The sample clinic's files, name -> bytes (UTF-8 unless stated in sample_data/README.md)."""
    clinic = simulate_clinic()
    return {
        "patients.csv": patients_csv().encode("utf-8"),
        "events.csv": events_csv().encode("utf-8"),
        "epic_long_us.csv": epic_csv(clinic).encode("utf-8"),
        "europe_wide_si.csv": europe_csv(clinic),
        "loinc_long.csv": loinc_csv(clinic).encode("utf-8"),
        "bad_rows.csv": bad_rows_csv().encode("utf-8"),
    }


# --- the same labs as lab feeds: HL7 v2 and FHIR R4 ---------------------------------------------------

FEEDS_DIR = "feeds"  # sample_data/feeds/: the sample clinic's labs as messages (not loaded by the demo)
FEED_ZONE = "America/New_York"  # the sample clinic's zone, for the UTC offsets FHIR requires on a time
_CBC_LOINC = ("58410-2", "CBC panel - Blood by Automated count")
_CMP_LOINC = ("24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma")
_UCUM = {"10*3/uL", "g/dL", "g/L", "mmol/L", "mg/dL", "U/L", "umol/L"}


@dataclass(frozen=True)
class LabRecord:
    """One result as the lab system sends it: the value, unit, name and range of the patient's CSV export."""

    mrn: str
    collected_at: dt.datetime
    analyte: str
    code: str  # LOINC when `loinc`, else the lab's local code
    name: str
    loinc: bool
    value: str  # the result text with a decimal point; "" when cancelled
    comparator: str = ""  # "<" for a result below the reportable range
    unit: str = ""
    ref: tuple[str, str] = ("", "")
    flag: str = ""
    status: str = "F"  # HL7 OBX-11: F final, C corrected, X cannot be obtained


def _epic_record(p: SamplePatient, i: int, draw: Draw, col: ExportColumn, bilirubin_seen: int) -> LabRecord:
    """As epic_csv writes the row (its quirks as the lab system sends them: flag in its field, `<0.2`)."""
    value = draw.values[col.analyte]
    low, high = _ref(col.analyte, p.sex)
    text, comparator, status, flag = _fmt(value, col.decimals), "", "F", _flag(value, low, high)
    if p.mrn == "LD0006" and col.analyte == "bilirubin" and bilirubin_seen <= 2:
        text, comparator, flag = "0.2", "<", ""
    if p.mrn == "LD0004" and col.analyte == "plt" and i == 4:
        text, flag, status = "", "", "X"  # clotted sample
    ref = (_fmt(low, col.decimals), _fmt(high, col.decimals))
    code = col.analyte.upper()
    return LabRecord(
        p.mrn, draw.collected_at, col.analyte, code, col.name, False, text, comparator, col.unit, ref, flag, status
    )


def _epic_records(p: SamplePatient, draws: list[Draw]) -> tuple[list[LabRecord], list[LabRecord]]:
    """(results, corrections sent later): LD0002's haemolysed potassium 6.3, corrected to 4.4."""
    out, later, bilirubin_seen = [], [], 0
    for i, draw in enumerate(draws):
        panels = (list(CBC) if p.labs == "epic" else []) + (list(CMP) if draw.has_cmp and p.cmp_labs == "epic" else [])
        for col in EPIC_COLUMNS:
            if col.analyte not in panels:
                continue
            bilirubin_seen += col.analyte == "bilirubin" and p.mrn == "LD0006"
            record = _epic_record(p, i, draw, col, bilirubin_seen)
            if p.mrn == "LD0002" and col.analyte == "potassium" and i == 8:
                later.append(_replace(record, value="4.4", flag="", status="C"))
                record = _replace(record, value="6.3", flag="H")
            out.append(record)
    return out, later


def _replace(record: LabRecord, **changes) -> LabRecord:
    return LabRecord(**{**record.__dict__, **changes})


def _europe_records(p: SamplePatient, draws: list[Draw]) -> list[LabRecord]:
    """As europe_csv: SI units and the German names (local codes), no reference ranges."""
    return [
        LabRecord(
            p.mrn,
            d.collected_at,
            c.analyte,
            c.analyte.upper(),
            c.name,
            False,
            _fmt(d.values[c.analyte] * c.factor, c.decimals),
            unit=c.unit,
        )
        for d in draws
        for c in EUROPE_COLUMNS
        if c.analyte in d.values
    ]


def _loinc_records(p: SamplePatient, draws: list[Draw]) -> list[LabRecord]:
    """As loinc_csv: LOINC codes, UCUM units, the range in the same unit."""
    out = []
    for d in draws:
        panels = (list(CBC) if p.labs == "loinc" else []) + (list(CMP) if d.has_cmp and p.cmp_labs == "loinc" else [])
        for col in LOINC_COLUMNS:
            if col.analyte not in panels:
                continue
            if p.mrn in LOINC_SI_PATIENTS:
                col = LOINC_SI_OVERRIDES.get(col.analyte, col)
            low, high = _ref(col.analyte, p.sex)
            value = _fmt(d.values[col.analyte] * col.factor, col.decimals)
            ref = (_fmt(low * col.factor, col.decimals), _fmt(high * col.factor, col.decimals))
            out.append(
                LabRecord(
                    p.mrn,
                    d.collected_at,
                    col.analyte,
                    col.name,
                    LABEL[col.analyte],
                    True,
                    value,
                    unit=col.unit,
                    ref=ref,
                )
            )
    return out


def lab_records(clinic: dict[str, list[Draw]] | None = None) -> list[LabRecord]:
    """Every lab result of the sample clinic's three lab exports, patient by patient and draw by draw,
    then the corrections the lab sent later: the content of the HL7 and FHIR sample files."""
    clinic = clinic or simulate_clinic()
    out: list[LabRecord] = []
    later: list[LabRecord] = []
    for p in PATIENTS:
        draws = clinic[p.mrn]
        epic, corrected = _epic_records(p, draws)
        out += epic
        later += corrected
        out += _europe_records(p, draws) if p.labs == "europe" else []
        out += _loinc_records(p, draws)
    merged = sorted(out, key=lambda r: (r.mrn, r.collected_at))  # a patient's CBC and CMP of one draw together
    return merged + later


def _draws_of(records: list[LabRecord]) -> list[list[LabRecord]]:
    """Consecutive records of one patient and collection time: one message (one draw)."""
    groups: list[list[LabRecord]] = []
    for r in records:
        if groups and (groups[-1][0].mrn, groups[-1][0].collected_at, groups[-1][0].status) == (
            r.mrn,
            r.collected_at,
            r.status,
        ):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _hl7_ts(when: dt.datetime) -> str:
    return when.strftime("%Y%m%d%H%M")


def _obx(n: int, r: LabRecord) -> str:
    kind, value = ("SN", f"{r.comparator}^{r.value}") if r.comparator else ("NM", r.value)
    test = f"{r.code}^{r.name}^{'LN' if r.loinc else '99LAB'}"
    ref = f"{r.ref[0]}-{r.ref[1]}" if r.ref[0] else ""
    return f"OBX|{n}|{kind}|{test}||{value}|{r.unit}|{ref}|{r.flag}|||{r.status}|||{_hl7_ts(r.collected_at)}"


def _oru_message(n: int, draw: list[LabRecord], people: dict[str, SamplePatient]) -> list[str]:
    first, p = draw[0], people[draw[0].mrn]
    last, given = p.name.split(" ", 1)[1].upper(), p.name.split(" ", 1)[0].upper()
    sent = first.collected_at + dt.timedelta(hours=3)
    segments = [
        f"MSH|^~\\&|SAMPLELAB|SAMPLE HOSPITAL LAB|LENADASH|SAMPLE CLINIC|{_hl7_ts(sent)}||ORU^R01^ORU_R01|"
        f"SMP{n:06d}|P|2.5.1||||||UNICODE UTF-8",
        f"PID|1||{p.mrn}^^^SAMPLECLINIC^MR||{last}^{given}||{p.birth_date:%Y%m%d}|{p.sex}",
    ]
    for panel, (code, text) in ((CBC, _CBC_LOINC), (CMP, _CMP_LOINC)):
        results = [r for r in draw if r.analyte in panel]
        if results:
            obr = sum(s.startswith("OBR") for s in segments) + 1
            segments.append(f"OBR|{obr}||ACC{n:06d}-{obr}|{code}^{text}^LN|||{_hl7_ts(first.collected_at)}")
            segments += [_obx(i, r) for i, r in enumerate(results, start=1)]
    return segments


def hl7_results(records: list[LabRecord] | None = None) -> bytes:
    """The sample clinic's labs as HL7 v2.5.1 ORU^R01 messages, one per draw, in a batch (BHS ... BTS).

    Segments end in `\n` (as files on disk usually do; `\r` is the wire format, both are read)."""
    records = lab_records() if records is None else records
    people = {p.mrn: p for p in PATIENTS}
    draws = _draws_of(records)
    segments = [f"BHS|^~\\&|SAMPLELAB|SAMPLE HOSPITAL LAB|LENADASH|SAMPLE CLINIC|{TODAY:%Y%m%d}0600"]
    for n, draw in enumerate(draws, start=1):
        segments += _oru_message(n, draw, people)
    segments.append(f"BTS|{len(draws)}")
    return ("\n".join(segments) + "\n").encode("utf-8")


_FHIR_STATUS = {"F": "final", "C": "corrected", "X": "cancelled"}


def _fhir_time(when: dt.datetime) -> str:
    from zoneinfo import ZoneInfo

    return when.replace(tzinfo=ZoneInfo(FEED_ZONE)).isoformat()


def _observation(n: int, r: LabRecord) -> dict:
    coding = {
        "system": "http://loinc.org" if r.loinc else "https://lab.example.org/codes",
        "code": r.code,
        "display": r.name,
    }
    obs: dict = {
        "resourceType": "Observation",
        "id": f"lab-{n}",
        "status": _FHIR_STATUS[r.status],
        "code": {"coding": [coding]},
        "subject": {"reference": f"Patient/{r.mrn.lower()}"},
        "effectiveDateTime": _fhir_time(r.collected_at),
    }
    if not r.value:
        obs["dataAbsentReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]
        }
        return obs
    quantity: dict = {"value": float(r.value)} | ({"comparator": r.comparator} if r.comparator else {})
    quantity["unit"] = r.unit
    if r.unit in _UCUM:
        quantity |= {"system": "http://unitsofmeasure.org", "code": r.unit}
    obs["valueQuantity"] = quantity
    if r.ref[0]:
        obs["referenceRange"] = [{"low": {"value": float(r.ref[0])}, "high": {"value": float(r.ref[1])}}]
    if r.flag:
        system = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
        obs["interpretation"] = [{"coding": [{"system": system, "code": r.flag}]}]
    return obs


def _patient_resource(p: SamplePatient) -> dict:
    mr = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
    return {
        "resourceType": "Patient",
        "id": p.mrn.lower(),
        "identifier": [{"type": mr, "system": "https://clinic.example.org/mrn", "value": p.mrn}],
        "name": [{"family": p.name.split(" ", 1)[1], "given": [p.name.split(" ", 1)[0]]}],
        "gender": "female" if p.sex == "F" else "male",
        "birthDate": p.birth_date.isoformat(),
    }


def fhir_bundle(records: list[LabRecord] | None = None) -> bytes:
    """The sample clinic's labs as one FHIR R4 Bundle (type collection): a Patient per patient (MRN as its
    MR identifier, a resource id that is not the MRN) and an Observation per result; one entry a line."""
    records = lab_records() if records is None else records
    base = "https://fhir.example.org"
    entries = [{"fullUrl": f"{base}/Patient/{p.mrn.lower()}", "resource": _patient_resource(p)} for p in PATIENTS]
    entries += [
        {"fullUrl": f"{base}/Observation/lab-{n}", "resource": _observation(n, r)}
        for n, r in enumerate(records, start=1)
    ]
    head = {
        "resourceType": "Bundle",
        "id": "sample-clinic-labs",
        "type": "collection",
        "timestamp": f"{TODAY}T06:00:00-05:00",
    }
    body = ",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries)
    return (json.dumps(head)[:-1] + ', "entry": [\n' + body + "\n]}\n").encode("utf-8")


def feed_files() -> dict[str, bytes]:
    """sample_data/feeds/: the sample clinic's labs as HL7 v2 and as a FHIR Bundle (same results as the CSVs)."""
    records = lab_records()
    return {"lab_results.hl7": hl7_results(records), "lab_results_fhir.json": fhir_bundle(records)}


# --- the benchmark clinic -----------------------------------------------------------------------

_STANDARD_START = {"MM": 25.0, "MM_MAINT": 10.0, "MDS": 10.0, "MCL": 25.0, "FL": 20.0, "MZL": 20.0}

# Patients are generated in blocks of this many, each block from its own generator seeded with
# (seed, block number): a patient's data depends only on its number (and the results per patient),
# so the clinic of N patients is the first N patients of any larger one, and 5,000,000 rows are
# written block by block (100,000 rows held at a time) instead of as 5,000,000 Python strings.
BENCH_BLOCK = 100
_BENCH_LABS_HEADER = "MRN,Patient Name,Collection Date/Time,Component,Result,Units,Reference Range,Flag,Result Status\n"
_EVENT_COLUMNS = ["mrn", "date", "event", "value", "detail"]


@dataclass(frozen=True)
class BenchmarkClinic:
    """A large synthetic clinic as CSV bytes: patients, events and one Epic-like long lab export."""

    patients_csv: bytes
    events_csv: bytes
    labs_csv: bytes
    n_patients: int
    n_results: int


@dataclass(frozen=True)
class _BenchBlock:
    patient_rows: list[list[str]]
    event_rows: list[list[str]]
    labs: str  # CSV lines without the header


def benchmark_clinic(
    n_patients: int = 1000, *, results_per_patient: int = 1000, seed: int = SEED, today: dt.date = TODAY
) -> BenchmarkClinic:
    """A large deterministic clinic for benchmarks: `n_patients` x `results_per_patient` lab rows, in memory.

    Patients cycle through the six indications with the label's standard start (DOMAIN.md §1);
    each has weekly draws (CBC then CMP, in the Epic long US layout of epic_long_us.csv) ending
    a few days before `today`; about 3% of draws carry a deep ANC or platelet drop so that the
    dose engine finds holds. Vectorised: 1,000,000 rows take a few seconds. For millions of rows
    use `write_benchmark_clinic`, which streams the lab file to disk block by block.
    """
    patient_rows: list[list[str]] = []
    event_rows: list[list[str]] = []
    labs = [_BENCH_LABS_HEADER]
    for block in _bench_blocks(n_patients, results_per_patient, seed, today):
        patient_rows += block.patient_rows
        event_rows += block.event_rows
        labs.append(block.labs)
    return BenchmarkClinic(
        patients_csv=_csv_text(PATIENT_COLUMNS, patient_rows).encode("utf-8"),
        events_csv=_csv_text(_EVENT_COLUMNS, event_rows).encode("utf-8"),
        labs_csv="".join(labs).encode("utf-8"),
        n_patients=n_patients,
        n_results=n_patients * results_per_patient,
    )


def _bench_blocks(n_patients: int, results_per_patient: int, seed: int, today: dt.date):
    """The clinic's blocks of BENCH_BLOCK patients in MRN order, each from its own generator."""
    if n_patients < 1 or results_per_patient < 1:
        raise ValueError("benchmark_clinic needs n_patients >= 1 and results_per_patient >= 1")
    n_draws = -(-results_per_patient // len(_BENCH_ANALYTES))
    draw_day = BASELINE_DAY + 7 * np.arange(n_draws)  # study days
    for number, first in enumerate(range(0, n_patients, BENCH_BLOCK)):
        rng = np.random.default_rng([seed, 999, number])  # drawn from in a fixed order by the steps below
        # Always a whole block's draws, then its first `keep` patients: a patient's data does not
        # depend on how many patients the clinic has.
        keep = min(BENCH_BLOCK, n_patients - first)
        people = _bench_patients(rng, np.arange(first, first + BENCH_BLOCK), n_draws, today).head(keep)
        values, drop, minutes = (a[:keep] for a in _bench_values(rng, BENCH_BLOCK, draw_day))
        labs = _bench_labs_csv(people, values, minutes, draw_day, results_per_patient)
        yield _BenchBlock(people.rows, _bench_events(people, drop, draw_day), labs)


_BENCH_ANALYTES = (*CBC, *CMP)


@dataclass(frozen=True)
class _BenchPeople:
    numbers: list[int]  # 1-based patient numbers
    mrns: list[str]
    starts: list[dt.date]
    indications: list[str]
    rows: list[list[str]]

    def head(self, n: int) -> _BenchPeople:
        return _BenchPeople(self.numbers[:n], self.mrns[:n], self.starts[:n], self.indications[:n], self.rows[:n])


def _bench_patients(rng, idx: np.ndarray, n_draws: int, today: dt.date) -> _BenchPeople:
    """Patients and their start dates: draws every 7 days from day -6, the last 4-10 days before today."""
    indications = list(_STANDARD_START)
    n = len(idx)
    last_gap = rng.integers(4, 11, n)
    start_days_before_today = last_gap + 7 * (n_draws - 1) - 6  # so that the last draw is `last_gap` days ago
    starts = [today - dt.timedelta(days=int(d)) for d in start_days_before_today]
    sex = np.where(rng.random(n) < 0.45, "F", "M")
    ages = rng.integers(40, 88, n)
    weights = np.round(rng.normal(76, 12, n).clip(45, 130), 1)
    ind = [indications[int(i) % len(indications)] for i in idx]
    mrns = [f"LB{int(i) + 1:06d}" for i in idx]
    rows = [
        [
            mrns[j],
            f"Bench Patient {int(i) + 1}",
            sex[j],
            dt.date(today.year - int(ages[j]), 1 + int(i) % 12, 1 + int(i) % 28).isoformat(),
            f"{weights[j]:g}",
            ind[j],
            starts[j].isoformat(),
            f"{_STANDARD_START[ind[j]]:g}",
            DEFAULT_SCHEDULE[ind[j]],
            DEFAULT_COMBINATION.get(ind[j], ""),
            "no",
            "",
            "no",
        ]
        for j, i in enumerate(idx)
    ]
    return _BenchPeople([int(i) + 1 for i in idx], mrns, starts, ind, rows)


def _bench_values(rng, n_patients: int, draw_day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (patient x draw x analyte): patient base x cycle nadir x noise, with occasional deep drops;
    the deep-drop mask (patient x draw) and each draw's minute of the day."""
    analytes = _BENCH_ANALYTES
    per_draw, n_draws = len(analytes), len(draw_day)
    base = np.array([NORMAL_BASE.get(a, 0.0) for a in analytes])
    base[0] = NORMAL_BASE["anc"] + NORMAL_BASE["alc"] + NORMAL_BASE["other_wbc"]
    sd = np.array([NOISE_SD.get(a, 0.06) for a in analytes])
    patient_sd = np.where(np.isin(np.array(analytes), ("wbc", "anc", "alc", "plt")), 0.15, 1.5 * sd)
    patient_scale = np.exp(rng.normal(0.0, 1.0, (n_patients, 1, per_draw)) * patient_sd)
    days, levels = zip(*_CYCLE_POINTS["21/28"])
    shape21 = np.interp(np.maximum(draw_day, 0) % 28, days, levels) * (draw_day >= 0)
    depth = np.zeros(per_draw)
    depth[[0, 1, 4]] = (0.35, 0.4, 0.3)
    nadir = 1 - depth[None, None, :] * shape21[None, :, None]
    noise = np.exp(rng.normal(0.0, 1.0, (n_patients, n_draws, per_draw)) * sd)
    values = base[None, None, :] * patient_scale * nadir * noise
    drop = rng.random((n_patients, n_draws)) < 0.03
    values[:, :, 1] = np.where(drop, values[:, :, 1] * 0.2, values[:, :, 1])  # ANC
    values[:, :, 4] = np.where(np.roll(drop, 1, axis=1), values[:, :, 4] * 0.12, values[:, :, 4])  # platelets
    minutes = rng.integers(7 * 60 + 30, 11 * 60 + 30, (n_patients, n_draws))
    return values, drop, minutes


def _bench_labs_csv(
    people: _BenchPeople, values: np.ndarray, minutes: np.ndarray, draw_day: np.ndarray, results_per_patient: int
) -> str:
    """The first `results_per_patient` results of each patient, in draw order, as Epic long US lines."""
    analytes = _BENCH_ANALYTES
    n_patients, n_draws, per_draw = values.shape
    flat = values.reshape(n_patients, n_draws * per_draw)[:, :results_per_patient]
    analyte_pos = np.tile(np.arange(per_draw), n_draws)[:results_per_patient]
    draw_pos = np.repeat(np.arange(n_draws), per_draw)[:results_per_patient]
    cols = {c.analyte: c for c in EPIC_COLUMNS}
    result_text = np.empty(flat.shape, dtype=object)
    for j, a in enumerate(analytes):
        mask = analyte_pos == j
        result_text[:, mask] = np.char.mod(f"%.{cols[a].decimals}f", np.round(flat[:, mask], cols[a].decimals))
    ref = {a: _ref(a, "M") for a in analytes}
    name_unit_ref = [
        f"{cols[a].name},{{}},{cols[a].unit},{_fmt(ref[a][0], cols[a].decimals)}-{_fmt(ref[a][1], cols[a].decimals)}"
        for a in analytes
    ]
    lines: list[str] = []
    for i in range(n_patients):
        prefix = f'{people.mrns[i]},"PATIENT, BENCH {people.numbers[i]}",'
        when_i = [
            f"{people.starts[i] + dt.timedelta(days=int(draw_day[k])):%m/%d/%Y} "
            f"{minutes[i, k] // 60:02d}:{minutes[i, k] % 60:02d}"
            for k in range(n_draws)
        ]
        rows_i = result_text[i]
        lines.extend(
            f"{prefix}{when_i[draw_pos[r]]},{name_unit_ref[analyte_pos[r]].format(rows_i[r])},,Final\n"
            for r in range(results_per_patient)
        )
    return "".join(lines)


def _bench_events(people: _BenchPeople, drop: np.ndarray, draw_day: np.ndarray) -> list[list[str]]:
    """Aspirin for most MM patients at the start, and a fever on every fourth deep ANC drop of the block."""
    mrns, starts, ind = people.mrns, people.starts, people.indications
    events = [
        [mrns[i], starts[i].isoformat(), "thromboprophylaxis", "aspirin", "aspirin 100 mg"]
        for i in range(len(mrns))
        if ind[i] == "MM" and people.numbers[i] % 5 != 1
    ]
    events += [
        [mrns[i], (starts[i] + dt.timedelta(days=int(draw_day[k]))).isoformat(), "fever", "38.6", "synthetic"]
        for i, k in np.argwhere(drop)[::4]
    ]
    events.sort(key=lambda r: (r[0], r[1], r[2]))
    return events


def write_benchmark_clinic(
    out_dir: Path | str, n_patients: int = 1000, *, results_per_patient: int = 1000
) -> dict[str, Path]:
    """Write the benchmark clinic as patients.csv, events.csv and labs_long_us.csv into `out_dir`.

    The lab file is streamed block by block (BENCH_BLOCK patients at a time), so 5,000,000 rows never
    exist as Python objects at once; the files are byte-identical to `benchmark_clinic`'s.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"patients": out / "patients.csv", "events": out / "events.csv", "labs": out / "labs_long_us.csv"}
    patient_rows: list[list[str]] = []
    event_rows: list[list[str]] = []
    with paths["labs"].open("w", encoding="utf-8", newline="") as labs:
        labs.write(_BENCH_LABS_HEADER)
        for block in _bench_blocks(n_patients, results_per_patient, SEED, TODAY):
            patient_rows += block.patient_rows
            event_rows += block.event_rows
            labs.write(block.labs)
    paths["patients"].write_text(_csv_text(PATIENT_COLUMNS, patient_rows), encoding="utf-8", newline="")
    paths["events"].write_text(_csv_text(_EVENT_COLUMNS, event_rows), encoding="utf-8", newline="")
    return paths


def write_sample_clinic(out_dir: Path | str = DEFAULT_OUT_DIR) -> list[Path]:
    """Rewrite the sample clinic's CSV files in `out_dir` and its lab feeds in `out_dir`/feeds (not README.md)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in sample_files().items():
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    (out / FEEDS_DIR).mkdir(exist_ok=True)
    for name, data in feed_files().items():
        path = out / FEEDS_DIR / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m lenadash.samples [OUT_DIR]`: rewrite the sample clinic's CSV files; exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m lenadash.samples [OUT_DIR]   (default: sample_data/)", file=sys.stderr)
        return 2
    for path in write_sample_clinic(args[0] if args else DEFAULT_OUT_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
