"""The DataFrame contracts between the parts: the columns of labs, patients, events and problems frames.

ingest produces these frames, store saves and loads them, clinical reads them (docs/architecture.md
"DataFrame contracts"); one copy of each list, so the parts cannot drift apart.
"""

from __future__ import annotations

LAB_COLUMNS = [
    "mrn",
    "collected_at",
    "analyte",
    "value",
    "unit",
    "comparator",
    "raw_value",
    "raw_unit",
    "raw_name",
    "loinc",
    "ref_low",
    "ref_high",
    "flag",
    "status",
    "line",
]
PATIENT_REQUIRED = ("mrn", "name", "sex", "birth_date", "weight_kg", "indication", "start_date", "starting_dose_mg")
PATIENT_OPTIONAL = ("schedule", "combination", "reproductive_potential", "menses", "dialysis")
PATIENT_COLUMNS = list(PATIENT_REQUIRED + PATIENT_OPTIONAL)
EVENT_COLUMNS = [
    "mrn",
    "date",
    "event",
    "value",
    "detail",
    "temperature_c",
    "grade",
    "result",
    "dose_mg",
    "is_hold",
    "agent",
]
# The longest text the database stores in each field (store/models.py's max_length; a test holds them equal),
# so ingest rejects a longer cell on its own line instead of the whole file failing at the database.
MAX_LENGTH = {
    "mrn": 64,
    "name": 200,
    "combination": 64,
    "detail": 500,
    "agent": 64,
    "value": 64,  # an events file's value: the agent's name for thromboprophylaxis
    "raw_value": 64,
    "raw_unit": 32,
    "raw_name": 128,
    "loinc": 16,
    "status": 32,
}
PROBLEM_COLUMNS = ["file", "line", "column", "value", "reason", "message", "hint", "severity"]
# What a stored upload keeps of each rejected row (the problem without its severity).
REJECT_FIELDS = PROBLEM_COLUMNS[:-1]

# A contract column in the words a form or a message uses ("MRN: string should have at most 64 characters").
FIELD_WORDS = {
    "mrn": "MRN",
    "weight_kg": "weight",
    "birth_date": "birth date",
    "start_date": "start date",
    "starting_dose_mg": "starting dose",
    "temperature_c": "temperature",
    "dose_mg": "dose",
}


def field_words(field: str) -> str:
    """A column's name as people say it: FIELD_WORDS, else the name with spaces for underscores."""
    return FIELD_WORDS.get(field, field.replace("_", " "))
