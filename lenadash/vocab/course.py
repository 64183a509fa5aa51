"""The treatment-course vocabulary: indications, schedules and their defaults, capsules, event kinds.

One copy for ingest, the setup form, the sample generator, the engine and the screens
(DOMAIN.md §1: US REVLIMID PI 2.1-2.4 starting schedules and combinations; capsule strengths
from the PI's "Dosage forms and strengths").
"""

from __future__ import annotations

INDICATIONS = ("MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL")
INDICATION_NAMES = {
    "MM": "Multiple myeloma (Rd)",
    "MM_MAINT": "Myeloma maintenance",
    "MDS": "del(5q) MDS",
    "MCL": "Mantle cell lymphoma",
    "FL": "Follicular lymphoma (R2)",
    "MZL": "Marginal zone lymphoma (R2)",
}

CYCLE_DAYS = 28  # every indication runs in 28-day cycles
SCHEDULES = ("21/28", "28/28")
DOSING_DAYS = {"21/28": 21, "28/28": 28}  # days 1..N of each cycle are dosing days; the rest is planned rest
DEFAULT_SCHEDULE = {"MM": "21/28", "MM_MAINT": "28/28", "MDS": "28/28", "MCL": "21/28", "FL": "21/28", "MZL": "21/28"}
DEFAULT_COMBINATION = {"MM": "dexamethasone", "FL": "rituximab", "MZL": "rituximab"}
CAPSULE_MG = (2.5, 5.0, 10.0, 15.0, 20.0, 25.0)

EVENT_KINDS = (
    "fever",
    "platelet_transfusion",
    "toxicity",
    "pregnancy_test",
    "marrow_biopsy",
    "marrow_biopsy_planned",  # its date is the planned date (any indication)
    "dose_change",
    "thromboprophylaxis",
    "missed_period",  # its date is the day the period was missed (REMS: stop, as a positive test)
    "vte_risk_factor",  # value: one of VTE_FACTORS (docs/insight.md; points in rules/vte_scores.csv)
    "rems_authorization",  # value: the REMS prescription authorization number; date: the day it was given
)

# VTE risk factors a clinic records (value of a vte_risk_factor event); `none` = assessed, none present.
# Lenalidomide itself and age >= 80 come from the course, not from an event.
VTE_FACTORS = (
    "none",
    "bmi_25",
    "pelvic_hip_femur_fracture",
    "esa",
    "doxorubicin",
    "dex_high",
    "dex_low",
    "asian_pacific_islander",
    "vte_history",
    "cvc",
    "surgery_90d",
    "anticoag_therapeutic",
)


def dosing_days(schedule: str) -> int:
    """Dosing days per cycle for a schedule key (`21/28` -> 21)."""
    return DOSING_DAYS[schedule]
