"""The clinic worklist: flag rules, one row per assessed patient in urgency order, filters and the table's text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lenadash.dashboard.assessed import as_date, grade_or_none, last_draw
from lenadash.dashboard.present import FLOWSHEET_ORDER, STATUS_LABELS, analyte_label
from lenadash.vocab import csvsafe
from lenadash.vocab.course import CYCLE_DAYS


@dataclass(frozen=True)
class FlagRule:
    """One worklist flag, most urgent first: raised by any of the engine's notice `kinds` (assess
    `notices[].kind`), or by a test on the assessment's data fields (`test` names an interpreter in
    _FLAG_TESTS, `arg` its argument). Never by the words of a reason or notice."""

    key: str
    label: str
    kinds: tuple[str, ...]
    test: str | None
    arg: Any
    source: str


# Ordered by urgency: the first flag a patient has sets its place in the worklist.
FLAG_RULES: tuple[FlagRule, ...] = (
    FlagRule(
        "stopped",
        "Stopped (REMS)",
        ("stopped",),
        "status_or_action_in",
        ("stopped", "stop"),
        "Lenalidomide REMS: a positive pregnancy test or a missed period stops treatment",
    ),
    FlagRule(
        "hold", "Hold now", ("hold",), "last_action_in", ("hold", "stay_held"), "US PI 2.1 dose modification tables"
    ),
    FlagRule(
        "review",
        "Review",
        ("review", "cycle_limit", "labs_without_course"),
        "status_or_action_in",
        ("review",),
        "US PI 2.1 (clinician decision)",
    ),
    FlagRule("grade3", "Grade >= 3", ("grade3",), "last_grade_at_least", 3, "CTCAE (the profile's grading version)"),
    FlagRule("cbc_overdue", "CBC overdue", ("cbc_overdue",), "truthy", "labs_overdue", "US PI 5.3 monitoring schedule"),
    FlagRule(
        "marrow_due",
        "Marrow biopsy due",
        ("biopsy_overdue",),
        "date_within_days",
        ("next_marrow_biopsy", 30),
        "MDS patient guide calendar (weeks 12, 24, ...) or the clinician's planned date",
    ),
    FlagRule(
        "pregnancy_due",
        "Pregnancy test due",
        ("pregnancy_test_overdue",),
        "date_within_days",
        ("next_pregnancy_test", 7),
        "Lenalidomide REMS pregnancy testing",
    ),
    FlagRule(
        "rems_missing",
        "No pre-treatment pregnancy tests",
        ("rems_pretreatment_missing",),
        None,
        None,
        "Lenalidomide REMS: two negative tests before the first prescription",
    ),
    FlagRule(
        "vte_missing",
        "No thromboprophylaxis",
        ("thromboprophylaxis_missing",),
        None,
        None,
        "US PI 5.4 venous thromboembolism",
    ),
    FlagRule(
        "renal",
        "Renal dose check",
        ("renal_dose_above_label", "renal_band_fall", "renal_not_studied"),
        None,
        None,
        "US PI Starting Dose for Renal Impairment (Cockcroft-Gault CrCl)",
    ),
    # Any other notice the engine marks urgent or action (a kind no row above claims, e.g. one added
    # after this table was written): named, never dropped.
    FlagRule("other_notice", "Other alert", (), "unclaimed_notice", ("urgent", "action"), "the engine's notices"),
    # Last: graded >= 3 but already so at baseline (e.g. creatinine on dialysis); the engine calls it
    # pre-existing, not a new toxicity (draw `preexisting`), so it is named but not ranked as one.
    FlagRule(
        "grade3_baseline",
        "Grade >= 3 as at baseline",
        (),
        "last_grade_preexisting",
        3,
        "CTCAE; dose engine: graded the same at baseline - pre-existing",
    ),
)
FLAG_LABELS = {r.key: r.label for r in FLAG_RULES}
# The clinic-day table's compact words for each flag (the full labels are in the CSV, the filter and
# the patient page): short enough that three flags fit the cell at 1366 px.
FLAG_SHORT = {
    "stopped": "STOP (REMS)",
    "hold": "HOLD",
    "review": "Review",
    "grade3": "G>=3",
    "cbc_overdue": "CBC late",
    "marrow_due": "Biopsy",
    "pregnancy_due": "Preg. test",
    "rems_missing": "REMS tests",
    "vte_missing": "No VTE ppx",
    "renal": "Renal dose",
    "other_notice": "Alert",
    "grade3_baseline": "G>=3 baseline",
}
# Notice kinds a flag row claims; `other_notice` takes the urgent/action ones outside this set.
CLAIMED_KINDS = frozenset(k for r in FLAG_RULES for k in r.kinds)


def urgency_order_text() -> str:
    """The flags in urgency order, for the overview's caption: "Stopped (REMS), Hold now, Review, ..."."""
    return ", ".join(r.label for r in FLAG_RULES)


def notice_kinds(patient: dict) -> set[str]:
    """The kinds of the patient's notices (assess `notices[].kind`)."""
    return {str(n.get("kind")) for n in patient.get("notices") or [] if n.get("kind")}


def _test_last_action_in(patient: dict, arg, as_of: dt.date) -> bool:
    return last_draw(patient).get("action") in arg or patient.get("status") == "held"


def _test_status_or_action_in(patient: dict, arg, as_of: dt.date) -> bool:
    return patient.get("status") in arg or last_draw(patient).get("action") in arg


def grade3_analytes(patient: dict, *, at_least: int = 3) -> tuple[list[str], list[str]]:
    """Analytes of the latest draw graded >= `at_least` (CTCAE, the assessment's version): (new, pre-existing), where
    pre-existing are those the engine found graded the same at baseline (draw `preexisting`)."""
    last = last_draw(patient)
    known = set(last.get("preexisting") or [])
    high = [a for a, g in (last.get("grades") or {}).items() if (grade_or_none(g) or 0) >= at_least]
    order = {a: i for i, a in enumerate(FLOWSHEET_ORDER)}
    high.sort(key=lambda a: (order.get(a, len(order)), a))
    return [a for a in high if a not in known], [a for a in high if a in known]


def _test_last_grade_at_least(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(grade3_analytes(patient, at_least=arg)[0])


def _test_last_grade_preexisting(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(grade3_analytes(patient, at_least=arg)[1])


def _test_truthy(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(patient.get(arg))


def _test_date_within_days(patient: dict, arg, as_of: dt.date) -> bool:
    field, days = arg
    due = as_date(patient.get(field))
    return due is not None and due <= as_of + dt.timedelta(days=days)


def _test_unclaimed_notice(patient: dict, arg, as_of: dt.date) -> bool:
    return any(n.get("severity") in arg and n.get("kind") not in CLAIMED_KINDS for n in patient.get("notices") or [])


_FLAG_TESTS = {
    "last_action_in": _test_last_action_in,
    "status_or_action_in": _test_status_or_action_in,
    "last_grade_at_least": _test_last_grade_at_least,
    "last_grade_preexisting": _test_last_grade_preexisting,
    "truthy": _test_truthy,
    "date_within_days": _test_date_within_days,
    "unclaimed_notice": _test_unclaimed_notice,
}


def _raises(rule: FlagRule, patient: dict, kinds: set[str], as_of: dt.date) -> bool:
    if kinds.intersection(rule.kinds):
        return True
    return rule.test is not None and _FLAG_TESTS[rule.test](patient, rule.arg, as_of)


def patient_flags(patient: dict, *, as_of: dt.date) -> list[str]:
    """Worklist flag keys that apply to one assessed patient, most urgent first (FLAG_RULES): from
    the notices' kinds, the status, the latest draw's action and grades, and the due dates."""
    kinds = notice_kinds(patient)
    return [r.key for r in FLAG_RULES if _raises(r, patient, kinds, as_of)]


def _analyte_names(analytes: list[str]) -> str:
    return ", ".join(analyte_label(a) for a in analytes)


def flag_text(patient: dict, flags: list[str]) -> str:
    """The worklist's Flags cell: flag labels in urgency order, '; '-separated; the grade flags name
    their analytes ("Grade >= 3: ANC, Platelets"; "Grade >= 3: Creatinine (as at baseline)")."""
    new, known = grade3_analytes(patient) if {"grade3", "grade3_baseline"} & set(flags) else ([], [])
    parts = []
    for f in flags:
        if f == "grade3" and new:
            parts.append(f"Grade >= 3: {_analyte_names(new)}")
        elif f == "grade3_baseline":
            parts.append(f"Grade >= 3: {_analyte_names(known)} (as at baseline)")
        else:
            parts.append(FLAG_LABELS[f])
    return "; ".join(parts)


WORKLIST_COLUMNS = [
    "urgency",
    "mrn",
    "name",
    "indication",
    "cycle",
    "cycle_day",
    "status",
    "current_dose_mg",
    "anc",
    "anc_grade",
    "plt",
    "plt_grade",
    "hgb",
    "hgb_grade",
    "last_draw",
    "next_labs_due",
    "next_marrow_biopsy",
    "next_pregnancy_test",
    "flags",
    "flag_text",
    "has_course",
    "labs_overdue",
    "marrow_biopsy_overdue",
    "pregnancy_test_overdue",
]


def _latest_value(draws: list[dict], analyte: str) -> tuple[float | None, int | None]:
    for draw in reversed(draws):
        values = draw.get("values") or {}
        if analyte in values and values[analyte] is not None:
            return float(values[analyte]), grade_or_none((draw.get("grades") or {}).get(analyte))
    return None, None


def current_cycle_day(patient: dict, *, as_of: dt.date) -> tuple[int | None, int | None]:
    """Cycle and day on `as_of`: the engine's (assess `cycle`/`cycle_day`) when given, else carried on
    from the latest draw's cycle/day in 28-day cycles (DOMAIN.md section 1), else from the start
    date; (None, None) before the start."""
    if patient.get("cycle") is not None and patient.get("cycle_day") is not None:
        return int(patient["cycle"]), int(patient["cycle_day"])
    last = last_draw(patient)
    anchor = as_date(last.get("date")) if last.get("cycle") else None
    if anchor is not None:
        cycle_start = anchor - dt.timedelta(days=int(last.get("cycle_day") or 1) - 1)
        cycle = int(last["cycle"])
    else:
        start = as_date(patient.get("start_date"))
        cycle = 1
        if start is None or as_of < start:
            return None, None
        cycle_start = start
    elapsed = (as_of - cycle_start).days
    if elapsed < 0:
        return cycle, int(last.get("cycle_day") or 1)
    return cycle + elapsed // CYCLE_DAYS, elapsed % CYCLE_DAYS + 1


def _worklist_row(patient: dict, *, as_of: dt.date, names: dict[str, str]) -> dict:
    """One patient's worklist row (WORKLIST_COLUMNS)."""
    rank = {r.key: i for i, r in enumerate(FLAG_RULES)}
    draws = patient.get("draws") or []
    flags = patient_flags(patient, as_of=as_of)
    cycle, day = current_cycle_day(patient, as_of=as_of)
    anc, anc_g = _latest_value(draws, "anc")
    plt, plt_g = _latest_value(draws, "plt")
    hgb, hgb_g = _latest_value(draws, "hgb")
    return {
        "urgency": min((rank[f] for f in flags), default=len(FLAG_RULES)),
        "mrn": str(patient.get("mrn", "")),
        "name": names.get(str(patient.get("mrn", "")), ""),
        "indication": patient.get("indication") or "",
        "cycle": cycle,
        "cycle_day": day,
        "status": patient.get("status") or "",
        "current_dose_mg": patient.get("current_dose_mg"),
        "anc": anc,
        "anc_grade": anc_g,
        "plt": plt,
        "plt_grade": plt_g,
        "hgb": hgb,
        "hgb_grade": hgb_g,
        "last_draw": as_date(draws[-1].get("date")) if draws else None,
        "next_labs_due": as_date(patient.get("next_labs_due")),
        "next_marrow_biopsy": as_date(patient.get("next_marrow_biopsy")),
        "next_pregnancy_test": as_date(patient.get("next_pregnancy_test")),
        "flags": flags,
        "flag_text": flag_text(patient, flags),
        "has_course": bool(patient.get("start_date")),
        "labs_overdue": bool(patient.get("labs_overdue")),
        "marrow_biopsy_overdue": _overdue(patient, "next_marrow_biopsy", "biopsy_overdue", as_of),
        "pregnancy_test_overdue": _overdue(patient, "next_pregnancy_test", "pregnancy_test_overdue", as_of),
    }


def _overdue(patient: dict, field: str, kind: str, as_of: dt.date) -> bool:
    """The engine's overdue notice of that kind, or the due date already passed on `as_of`."""
    due = as_date(patient.get(field))
    return kind in notice_kinds(patient) or (due is not None and due < as_of)


def flags_order_key(flags) -> str:
    """A sort key over all of a row's flags, most urgent first: rows that share their most urgent flag are
    ordered by their next one (Review with Grade >= 3 before Review alone), and a row whose flags are a
    prefix of another's comes after it (fewer flags, less to act on). One letter per flag in FLAG_RULES
    order, closed by "~", which sorts after every letter used."""
    rank = _FLAG_RANK
    return "".join(chr(ord("A") + r) for r in sorted(rank[f] for f in flags)) + "~"


_FLAG_RANK = {r.key: i for i, r in enumerate(FLAG_RULES)}


def _typed_in_urgency_order(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer and float columns, rows by urgency (every flag, flags_order_key), then next lab
    date, then MRN."""
    for col in ("cycle", "cycle_day", "anc_grade", "plt_grade", "hgb_grade", "urgency"):
        df[col] = df[col].astype("Int64")
    for col in ("current_dose_mg", "anc", "plt", "hgb"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    due = pd.to_datetime(df["next_labs_due"]).astype("datetime64[ns]").fillna(pd.Timestamp.max)
    flags_key = np.array([flags_order_key(fs) for fs in df["flags"]], dtype=object)
    order = np.lexsort(
        (df["mrn"].to_numpy(dtype=object), due.to_numpy(), flags_key, df["urgency"].to_numpy(dtype="int64"))
    )
    return df.iloc[order].reset_index(drop=True)


def worklist(result: dict, patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per patient from the assess JSON, ordered by urgency (FLAG_RULES order of the first flag,
    then of the next flags, then the next lab date). `patients` (store.load_patients) adds names; None leaves
    `name` blank."""
    as_of = as_date(result.get("as_of")) or dt.date.today()
    return worklist_frame(worklist_rows(result.get("patients") or [], as_of=as_of, patients=patients))


def worklist_rows(entries: list[dict], *, as_of: dt.date, patients: pd.DataFrame | None = None) -> list[dict]:
    """The worklist rows of these assess entries (one each), not yet typed or ordered (worklist_frame): the
    kept clinic (dashboard.kept) keeps them per patient and rebuilds only a changed patient's."""
    names = {}
    if patients is not None and len(patients):
        names = dict(zip(patients["mrn"].astype(str), patients["name"].fillna("").astype(str)))
    return [_worklist_row(p, as_of=as_of, names=names) for p in entries]


def worklist_frame(rows: list[dict]) -> pd.DataFrame:
    """The worklist from its rows (worklist_rows), typed and in urgency order."""
    df = pd.DataFrame(rows, columns=WORKLIST_COLUMNS)
    return df if df.empty else _typed_in_urgency_order(df)


def flag_counts(df: pd.DataFrame) -> dict[str, int]:
    """How many worklist rows carry each flag (FLAG_RULES order), for the overview's metrics."""
    return {key: int(df["flags"].map(lambda fs, k=key: k in fs).sum()) for key in FLAG_LABELS}


# The overview's table shows at most this many rows, most urgent first (a centre of 300-1,000 patients sees
# all of them). Past it the rows are patients on treatment with nothing due; drawing thousands of styled
# rows on every run cost seconds at 5,000 courses (docs/benchmarks.md). Search and the filters reach every
# patient, and the CSV download holds every row.
TABLE_ROWS = 1000


def table_rows(shown: pd.DataFrame, limit: int | None = None) -> tuple[pd.DataFrame, str | None]:
    """The rows the overview's table draws (the first `limit`, default TABLE_ROWS, of the urgency-ordered
    list) and, when that leaves rows out, the sentence that says so and how to reach them."""
    limit = TABLE_ROWS if limit is None else limit
    if len(shown) <= limit:
        return shown, None
    return shown.head(limit), (
        f"Showing the {limit:,} most urgent of {len(shown):,} patients. Find the others with Find MRN or name "
        "or the filters; the CSV download below holds every row."
    )


def filter_worklist(
    df: pd.DataFrame, *, indications: Iterable[str] = (), flags: Iterable[str] = (), search: str = ""
) -> pd.DataFrame:
    """Rows whose indication is in `indications` and that carry any of `flags` (empty = all);
    `search` matches MRN or name, case-insensitive."""
    keep = pd.Series(True, index=df.index)
    indications, flags = list(indications), set(flags)
    if indications:
        keep &= df["indication"].isin(indications)
    if flags:
        keep &= df["flags"].map(lambda fs: bool(flags.intersection(fs)))
    if search.strip():
        needle = search.strip().lower()
        keep &= df["mrn"].str.lower().str.contains(needle, regex=False) | df["name"].str.lower().str.contains(
            needle, regex=False
        )
    return df[keep].reset_index(drop=True)


def _with_grade(value: Any, grade: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    g = grade_or_none(grade)
    return f"{value:g}" + (f" G{g}" if g else "")


def _iso_or_blank(value: Any) -> str:
    day = as_date(value)
    return "" if day is None else day.isoformat()


def _dose_and_status(row) -> str:
    """ "25 mg on treatment", "HELD", "STOPPED"; a patient without a course "REVIEW: add a treatment course"."""
    if not row.get("has_course", True):
        return f"{STATUS_LABELS['review']}: {NO_COURSE_ACTION}"
    d = row["current_dose_mg"]
    text = "" if pd.isna(d) else f"{d:g} mg"
    return f"{text} {STATUS_LABELS.get(row['status'], row['status'])}".strip()


def _dose_short(row) -> str:
    """The Dose cell: "25 mg" on treatment (the status goes without saying), else HELD / STOPPED /
    REVIEW (the full "REVIEW: add a treatment course" of a patient without a course is in the CSV)."""
    if not row.get("has_course", True):
        return STATUS_LABELS["review"]  # the Course cell says "add course"
    if row["status"] == "on_treatment" and pd.notna(row["current_dose_mg"]):
        return f"{row['current_dose_mg']:g} mg"
    return _dose_and_status(row)


# What a patient known only from lab files needs before any dose rule can apply (the engine's
# `labs_without_course` notice): said on the worklist, the patient page and the Setup button.
NO_COURSE_ACTION = "add a treatment course"


def worklist_csv(df: pd.DataFrame) -> str:
    """The worklist download: every column of the list in full (worklist_export), formula cells guarded
    (vocab.csvsafe, OWASP CSV injection)."""
    return csvsafe.to_csv(worklist_export(df))


def worklist_export(df: pd.DataFrame) -> pd.DataFrame:
    """The worklist in full, one text column per clinical question: every flag in words, MRN and name
    apart, ISO dates (they sort) - the CSV download and the columns the overview keeps for search."""
    return pd.DataFrame(
        {
            "Flags": df["flag_text"],
            "MRN": df["mrn"],
            "Name": df["name"],
            "Indication": df["indication"],
            "Cycle": [f"C{c} D{d}" if pd.notna(c) else "" for c, d in zip(df["cycle"], df["cycle_day"])],
            "Dose / status": [_dose_and_status(r) for _, r in df.iterrows()] if len(df) else [],
            "ANC": [_with_grade(v, g) for v, g in zip(df["anc"], df["anc_grade"])],
            "Platelets": [_with_grade(v, g) for v, g in zip(df["plt"], df["plt_grade"])],
            "Hgb": [_with_grade(v, g) for v, g in zip(df["hgb"], df["hgb_grade"])],
            "Last draw": [_iso_or_blank(d) for d in df["last_draw"]],
            # ISO text: sorts correctly, and a missing date shows blank rather than "None"
            "Next CBC": [_iso_or_blank(d) for d in df["next_labs_due"]],
            "Marrow biopsy": [_iso_or_blank(d) for d in df["next_marrow_biopsy"]],
            "Pregnancy test": [_iso_or_blank(d) for d in df["next_pregnancy_test"]],
        }
    )


# The overview's columns for clinic day, in order: they fit a 1366 px laptop beside the sidebar
# (tests/test_browser_worklist.py). The other columns of worklist_display stay in the table's data
# (search, tests) but are not shown; the CSV has them all.
CLINIC_DAY_COLUMNS = ["Flag", "Patient", "Course", "Dose", "ANC", "Platelets", "Hgb", "CBC due", "Also due"]
OVERDUE_MARK = "\u26a0"  # WARNING SIGN: overdue is said in the text, not by colour alone


def _short_flags(flags: list[str], patient_analytes: str) -> str:
    parts = [FLAG_SHORT[f] + (f" {patient_analytes}" if f == "grade3" and patient_analytes else "") for f in flags]
    return " \u00b7 ".join(parts)


def _grade3_short(flag_text_cell: str) -> str:
    """ "ANC, Platelets" from the full flag text "...; Grade >= 3: ANC, Platelets; ..." (our own words)."""
    for part in flag_text_cell.split("; "):
        if part.startswith("Grade >= 3: ") and not part.endswith("(as at baseline)"):
            return part.removeprefix("Grade >= 3: ")
    return ""


def _due_text(value: Any, overdue: bool, year: int | None, *, weekday: bool = True) -> str:
    """ "Mon 23 Nov" (the year added when it is not `year`); overdue "\u26a0 12 Nov"."""
    day = as_date(value)
    if day is None:
        return ""
    text = f"{day.day} {day:%b}" + ("" if year in (None, day.year) else f" {day:%Y}")
    # the weekday helps plan a date to come; an overdue one is just marked
    if overdue:
        return f"{OVERDUE_MARK} {text}"
    return f"{day:%a} {text}" if weekday else text


def _also_due(row, year: int | None) -> str:
    """The next marrow biopsy and pregnancy test, where the patient has them: "Biopsy \u26a0 1 Oct"."""
    parts = []
    if pd.notna(row["next_marrow_biopsy"]):
        parts.append(
            "Biopsy " + _due_text(row["next_marrow_biopsy"], bool(row["marrow_biopsy_overdue"]), year, weekday=False)
        )
    if pd.notna(row["next_pregnancy_test"]):
        parts.append(
            "Preg. " + _due_text(row["next_pregnancy_test"], bool(row["pregnancy_test_overdue"]), year, weekday=False)
        )
    return " \u00b7 ".join(parts)


def _course_text(indication: Any, cycle: Any, day: Any) -> str:
    if not indication:
        return "add course"  # known from lab files only (NO_COURSE_ACTION)
    where = f"C{cycle} D{day}" if pd.notna(cycle) else ""
    return f"{str(indication).replace('_MAINT', ' maint')} {where}".strip()  # "MM maint C12 D5"


def _patient_text(mrn: str, name: Any) -> str:
    """ "LD0001 - Alex Example", as the pickers say it (MRN first: a long name is cut, never the MRN); a
    patient known only from lab files "LD0099 (no course yet)"."""
    text = "" if name is None or pd.isna(name) else str(name).strip()
    return f"{mrn} - {text}" if text else f"{mrn} (no course yet)"


def worklist_display(df: pd.DataFrame, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """The overview table's data: the clinic-day columns (CLINIC_DAY_COLUMNS: compact flags, patient
    as name and MRN, indication with cycle and day, dose, counts with grade, due dates with overdue
    marked; the year shown only when it is not `as_of`'s) followed by every column of worklist_export."""
    full = worklist_export(df)
    rows = list(df.iterrows()) if len(df) else []
    year = as_of.year if as_of else None
    compact = pd.DataFrame(
        {
            "Flag": [_short_flags(r["flags"], _grade3_short(r["flag_text"])) for _, r in rows],
            "Patient": [_patient_text(r["mrn"], r["name"]) for _, r in rows],
            "Course": [_course_text(r["indication"], r["cycle"], r["cycle_day"]) for _, r in rows],
            "Dose": [_dose_short(r) for _, r in rows],
            "CBC due": [_due_text(r["next_labs_due"], bool(r["labs_overdue"]), year) for _, r in rows],
            "Also due": [_also_due(r, year) for _, r in rows],
        },
        index=full.index,
        dtype=object,
    )
    return pd.concat([compact, full], axis=1)
