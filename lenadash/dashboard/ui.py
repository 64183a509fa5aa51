"""Streamlit helpers shared by the pages: data source, per-session caches, shared widgets, errors on writes."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

import pandas as pd
import streamlit as st

from lenadash.config import get_settings
from lenadash.dashboard import cards, timeline
from lenadash.dashboard.assessed import as_date, required_date
from lenadash.dashboard.present import ACTION_TONES, GRADE_COLOURS, GRADE_FILLS, STATUS_WORDS, grading_name
from lenadash.dashboard.results import crcl_series, results_long, thresholds_frame
from lenadash.dashboard.visit import patient_for_visit
from lenadash.dashboard.worklist import worklist, worklist_display
from lenadash.errors import LenadashError

log = logging.getLogger(__name__)

# Characters that make Markdown wherever they stand: emphasis and code (* `), links and images ([ ]),
# raw HTML and autolinks (< &), strikethrough (~), tables (|), Streamlit's $maths$, and the
# backslash itself. Everything else is escaped only where it acts (see plain), so ordinary messages
# such as "MDS: choose 10, 5 or 2.5 mg (the label's ladder)" reach the page unchanged.
_MARKDOWN_ALWAYS = frozenset("\\`*[]<&~|$")
_BLOCK_STARTS = frozenset("#>-+=")
# GFM turns https://..., www.... and name@host into links after escapes are resolved; an invisible
# WORD JOINER (U+2060) inside each keeps the text as it reads and makes no link.
_BARE_LINKS = (("://", ":\u2060//"), ("www.", "www\u2060."), ("WWW.", "WWW\u2060."), ("@", "\u2060@"))

# Page scripts (relative to app.py); the router in app.py registers them. Not in "pages/": Streamlit
# treats a pages/ folder beside the entry point as a legacy multipage app until st.navigation has run
# once in the process, so a fresh server's first deep link (and every AppTest run) would bypass app.py.
PAGES = {
    "welcome": "app_pages/welcome.py",
    "overview": "app_pages/overview.py",
    "patient": "app_pages/patient.py",
    "upload": "app_pages/upload.py",
    "setup": "app_pages/setup.py",
    "visit": "app_pages/visit.py",
}

# session_state keys
DEMO = "lenadash_demo"
PATIENT = "patient_mrn"
CLINIC = "lenadash_clinic"
LABS = "lenadash_patient_labs"
EDITS = "lenadash_edits"
AS_OF = "lenadash_as_of"
AS_OF_INPUT = "as_of_input"  # the sidebar date widget

SAMPLE_LABEL = "SAMPLE CLINIC - synthetic data"


# --- text from the data ----------------------------------------------------------------------


def plain(text: Any) -> str:
    """`text` (a name, an MRN, a file name, a column header, a message that quotes one) for any
    Streamlit element that renders Markdown (st.markdown, title, caption, info/warning/error,
    expander labels, ...): shown character for character, never as a link, an image, bold or HTML,
    which would let an export make the clinician's browser fetch a URL. Line breaks become spaces (a
    name on two lines must not start a new Markdown block)."""
    flat = " ".join(str(text).splitlines())
    for link, broken in _BARE_LINKS:  # no escape stops GFM's bare links: it finds them in the text itself
        flat = flat.replace(link, broken)
    out = [_escaped_char(flat, i) for i in range(len(flat))]
    digits = len(flat) - len(flat.lstrip("0123456789"))
    if flat[:1] in _BLOCK_STARTS and flat:
        out[0] = "\\" + flat[0]  # a heading, quote, list or rule at the start of the element
    elif 0 < digits < len(flat) and flat[digits] in ".)":
        out[digits] = "\\" + flat[digits]  # "1. " would start a numbered list
    return "".join(out)


def _escaped_char(flat: str, i: int) -> str:
    """One character of `flat` for plain(), backslash-escaped where Markdown would act on it: always for
    _MARKDOWN_ALWAYS; an underscore not inside a word (no_such_profile stays, _x_ does not)."""
    ch = flat[i]
    before, after = flat[i - 1 : i], flat[i + 1 : i + 2]
    if ch in _MARKDOWN_ALWAYS or (ch == "_" and not (before.isalnum() and after.isalnum())):
        return "\\" + ch
    return ch


def log_bug(what: str) -> None:
    """Log the exception being handled (a bug) with its traceback for the server console, without the
    SQL parameters a database error would print (MRNs, names): every exception in its chain that can
    hide them (SQLAlchemy's StatementError family) is told to."""
    exc: BaseException | None = sys.exc_info()[1]
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if hasattr(exc, "hide_parameters"):
            exc.hide_parameters = True
        exc = exc.__cause__ or exc.__context__
    log.exception(what)


# --- data source -----------------------------------------------------------------------------


def is_demo() -> bool:
    """True while this session shows the sample clinic (demo database)."""
    return bool(st.session_state.get(DEMO))


def database_url() -> str:
    """The clinic database, or the separate sample-clinic database while the demo is active."""
    settings = get_settings()
    return settings.demo_database_url if is_demo() else settings.database_url


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    # Safe to share across sessions: an engine is a connection pool and holds no patient data.
    from lenadash import store

    return store.make_engine(url)


def engine():
    """The engine of the database this session shows (clinic or sample clinic). A database that cannot be
    opened (a folder, not a database, a server that does not answer, busy or read-only while its schema must
    be written) stops the run with its message and fix (`database_unusable`), so the first load of any page
    says what the upload page would, never Streamlit's generic error."""
    try:
        return _engine(database_url())
    except LenadashError as exc:
        database_unusable(exc)


@contextlib.contextmanager
def db_session() -> Iterator[Any]:
    """A database session from lenadash.store (the only module that opens sessions). When the block
    fails, whatever it wrote and did not commit is rolled back."""
    from lenadash import store

    with store.open_session(engine()) as s:
        try:
            yield s
        except Exception:
            s.rollback()
            raise


# Shown for anything that is not a LenadashError: a bug, whose details (which can quote patient data)
# go to the server log only, as Streamlit's own error details do (showErrorDetails is off).
SOMETHING_WENT_WRONG = "Something went wrong; nothing was saved."


@contextlib.contextmanager
def user_errors(prefix: str, *, stop: bool = False) -> Iterator[None]:
    """Around a write: a LenadashError shows as "<prefix>: <its message>" (the message says the fix);
    any other exception is a bug and shows only SOMETHING_WENT_WRONG, its traceback logged. Either way
    the page carries on after the block, or stops there with `stop=True`. Streamlit's rerun/stop
    signals pass through (they are not Exceptions). Open the session inside the block (db_session),
    so a failed write is rolled back."""
    try:
        yield
    except LenadashError as exc:
        st.error(f"{prefix}: {plain(exc)}")  # the message can quote an MRN or a file's column
    except Exception:
        log_bug("unexpected error on a write path")
        st.error(SOMETHING_WENT_WRONG)
    else:
        return
    if stop:
        st.stop()


def start_demo() -> None:
    """Switch this session to the sample clinic, loading it the way `python -m lenadash demo` does."""
    from lenadash import imports

    imports.load_demo(url=get_settings().demo_database_url)
    st.session_state[DEMO] = True
    st.session_state.pop(AS_OF, None)
    st.session_state.pop(AS_OF_INPUT, None)  # the sidebar date follows the sample clinic's today
    forget_clinic()


def stop_demo() -> None:
    """Back to the clinic database; forgets the sample clinic's patient and date."""
    st.session_state[DEMO] = False
    st.session_state.pop(AS_OF, None)
    st.session_state.pop(AS_OF_INPUT, None)
    st.session_state.pop(PATIENT, None)
    forget_clinic()


def data_changed() -> None:
    """Call after this session writes to the database: the next run reassesses."""
    st.session_state[EDITS] = st.session_state.get(EDITS, 0) + 1


def forget_clinic() -> None:
    """Drop this session's assessed clinic and cached labs; the next run reloads."""
    st.session_state.pop(CLINIC, None)
    st.session_state.pop(LABS, None)


def default_as_of() -> dt.date:
    """Today; for the sample clinic its fixed 'today' (samples.TODAY), so its dates make sense."""
    if is_demo():
        from lenadash import samples

        return samples.TODAY
    return dt.date.today()


def rules_profile() -> str:
    """The rule profile id this dashboard assesses with (LENADASH_RULES)."""
    return get_settings().rules


def as_of() -> dt.date:
    """The assessment date this session uses (sidebar choice, else default_as_of)."""
    return st.session_state.get(AS_OF) or default_as_of()


# --- the assessed clinic, once per data version, per session --------------------------------


@dataclass
class Clinic:
    """Everything the pages read, for one data version (kept in st.session_state only)."""

    key: tuple
    as_of: dt.date
    patients: pd.DataFrame
    events: pd.DataFrame
    result: dict
    worklist: pd.DataFrame
    load_seconds: float
    assess_seconds: float
    by_mrn: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.result.get("patients")

    def patient(self, mrn: str | None) -> dict | None:
        return self.by_mrn.get(str(mrn)) if mrn else None

    def person(self, mrn: str | None) -> dict:
        """Patient row (name, sex, birth_date, weight...) of the newest course; {} when unknown."""
        rows = self.patients[self.patients["mrn"] == str(mrn)] if len(self.patients) else self.patients
        return rows.iloc[-1].to_dict() if len(rows) else {}


def _version() -> tuple:
    """Changes whenever the stored data changes - in this session or another (store.data_version)."""
    from lenadash import store

    with db_session() as s:
        return (store.data_version(session=s), st.session_state.get(EDITS, 0))


def _assess(patients, labs, events, *, on: dt.date) -> dict:
    from lenadash.clinical import assess

    return assess.assess(patients, labs, events, as_of=on, rules=get_settings().rules)


def clinic() -> Clinic:
    """The assessed clinic for this session: reloaded and reassessed only when the stored data
    (store.data_version, which sees other sessions' edits too), the database or the as-of date changes."""
    key = (database_url(), _version(), as_of(), get_settings().rules)
    cached = st.session_state.get(CLINIC)
    if cached is not None and cached.key == key:
        return cached
    from lenadash import store

    t0 = time.perf_counter()
    with db_session() as s:
        patients = store.load_patients(session=s)
        labs = store.load_labs(session=s)
        events = store.load_events(session=s)
    t1 = time.perf_counter()
    if len(patients):
        try:
            result = _assess(patients, labs, events, on=as_of())
        except LenadashError as exc:  # e.g. a ProfileError: the message says which rule row to fix
            st.error(plain(f"Could not assess the clinic with rule profile {get_settings().rules!r}: {exc}"))
            st.stop()
    else:
        result = {"as_of": str(as_of()), "rules": get_settings().rules, "patients": []}
    t2 = time.perf_counter()
    built = Clinic(
        key=key,
        as_of=as_of(),
        patients=patients,
        events=events,
        result=result,
        worklist=worklist(result, patients),
        load_seconds=t1 - t0,
        assess_seconds=t2 - t1,
        by_mrn={str(p["mrn"]): p for p in result.get("patients") or []},
    )
    st.session_state[CLINIC] = built
    st.session_state[LABS] = {}
    return built


def patient_labs(mrn: str) -> pd.DataFrame:
    """One patient's current lab results (store.load_labs), cached in this session per data version."""
    from lenadash import store

    cache = st.session_state.setdefault(LABS, {})
    if mrn not in cache:
        with db_session() as s:
            cache[mrn] = store.load_labs(session=s, mrn=mrn)
        while len(cache) > 8:
            cache.pop(next(iter(cache)))
    return cache[mrn]


def is_empty_clinic() -> bool:
    """True when the clinic database holds no upload and no patient (first run). Read by the router on
    every page's first load: a database that fails the read stops the run with its message (`database_unusable`)."""
    from lenadash import store

    try:
        with db_session() as s, store.database_errors(s.get_bind()):
            if len(store.list_uploads(session=s)):
                return False
            return len(store.load_patients(session=s, include_without_course=True)) == 0
    except LenadashError as exc:
        database_unusable(exc)


def baselines_of(patient: dict) -> dict:
    """Counts from the latest draw on or before the start date (DOMAIN.md section 2 baseline; the
    engine's own 30-day window applies to the dose rules); {} when there is none."""
    start = as_date(patient.get("start_date"))
    before = [d for d in patient.get("draws") or [] if start and required_date(d.get("date")) <= start]
    return dict(before[-1].get("values") or {}) if before else {}


def thresholds_for(patient: dict, person: dict, *, as_of: dt.date) -> pd.DataFrame | None:
    """The label thresholds that apply to this course now, as chart lines (results.thresholds_frame):
    dosing.thresholds filtered by the current dose (or the dose held at), the days since the start
    as of `as_of` and the baselines - e.g. an MDS course after week 4 at 5 mg draws only platelets
    30 and ANC 0.5, not every branch of the table. None when no line applies."""
    from lenadash.clinical import dosing

    if not patient.get("indication"):
        return None
    start = as_date(patient.get("start_date"))
    baselines = {k: v for k, v in (patient.get("baselines") or baselines_of(patient)).items() if v is not None}
    course = {**person, "indication": patient.get("indication")}
    rows = dosing.thresholds(
        course,
        rules_profile(),
        baselines=baselines,
        dose_mg=cards.dose_now(patient),
        day=(as_of - start).days if start is not None and as_of >= start else None,
    )
    return thresholds_frame(rows)


# --- shared widgets --------------------------------------------------------------------------

CSS = """
<style>
  .block-container {padding-top: 2.2rem; max-width: 1500px;}
  .ld-sample {background:#fff3cd; border:2px solid #e0a800; color:#5c4400; padding:.5rem 1rem;
              border-radius:.5rem; font-weight:700; font-size:1.15rem; letter-spacing:.03em; margin-bottom:.6rem}
  .ld-card {border-radius:.8rem; padding:1rem 1.3rem; margin-bottom:.8rem; border:2px solid}
  .ld-card h2 {margin:0 0 .3rem 0; font-size:2.1rem}
  .ld-card p, .ld-card li {font-size:1.2rem; margin:.15rem 0}
  .ld-hold {background:#fdecea; border-color:#c62828; color:#7f1d1d}
  .ld-review {background:#fff4e5; border-color:#ef6c00; color:#6d3400}
  .ld-ok {background:#edf7ed; border-color:#2e7d32; color:#1b4d1e}
  .ld-none {background:#f4f4f4; border-color:#9e9e9e; color:#333}
  .ld-stale {background:#fff8e1; border-color:#b26a00; border-style:dashed; color:#4e3400}
  .ld-stale h2 {font-size:1.6rem}
  .ld-overdue {background:#b26a00; color:#fff; font-weight:700; font-size:1.3rem !important;
               padding:.4rem .7rem; border-radius:.4rem; margin-bottom:.5rem !important}
  .ld-src {font-size:1rem !important; opacity:.85}
</style>
"""


def page_style() -> None:
    """Large, legible type and the card styles used by every page."""
    st.html(CSS)


def hide_sidebar() -> None:
    """Visit view: no sidebar and no control to open it (the visit view shows no navigation)."""
    st.html(
        '<style>[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], '
        '[data-testid="stSidebarCollapsedControl"] {display: none !important;}</style>'
    )


def sample_banner() -> None:
    """The SAMPLE CLINIC banner, on every page while the demo database is active."""
    if is_demo():
        st.html(f'<div class="ld-sample">{SAMPLE_LABEL}</div>')


def _as_of_picked() -> None:
    """The user picked an as-of date in the sidebar: use it until they pick another or change clinic."""
    picked = st.session_state.get(AS_OF_INPUT)
    if picked:
        st.session_state[AS_OF] = picked


def sidebar(*, show_data_source: bool = True) -> None:
    """Data source (clinic or sample clinic), the as-of date and a reload button."""
    with st.sidebar:
        if is_demo():
            st.markdown(f"**{SAMPLE_LABEL}**")
            if show_data_source and st.button("Leave the sample clinic", key="leave_demo"):
                stop_demo()
                st.rerun()
        # The widget shows the date actually used. Writing it through session_state (not `value=`) makes
        # the browser take it too: a keyed widget otherwise keeps the date it showed before (e.g. the
        # real today from before "Explore the sample clinic") and sends it back on the next rerun,
        # which used to overwrite the sample clinic's fixed today. Only a user's pick (on_change) sets it.
        if st.session_state.get(AS_OF_INPUT) != as_of():
            st.session_state[AS_OF_INPUT] = as_of()
        st.date_input("Assess as of", key=AS_OF_INPUT, format="YYYY-MM-DD", on_change=_as_of_picked)
        if st.button("Reload data", key="reload_data", help="Re-read the database (e.g. after another user's upload)"):
            forget_clinic()
            st.rerun()


def timeline_figure(clinic: Clinic, mrn: str, preset: str, *, large: bool = False, visit: bool = False) -> dict:
    """One patient's timeline figure (and the thresholds drawn on it) for a time-window preset, built
    once per data version and kept in this session; used by the patient page, the overview and (large
    type, `visit=True`: hover without the reasons' rule ids and sources) the visit view."""
    from lenadash.dashboard import charts

    fig_key = (clinic.key, mrn, preset, large, visit)
    figs = st.session_state.setdefault("lenadash_figs", {})
    if fig_key not in figs:
        if len(figs) > 8:
            figs.clear()  # a few patients' figures at a time, not the whole clinic's
        patient, person = clinic.patient(mrn), clinic.person(mrn)
        assert patient is not None, f"no patient {mrn}"  # callers pass the MRN of a loaded patient
        patient = patient_for_visit(patient) if visit else patient
        labs = patient_labs(mrn)
        window = timeline.window_range(preset, patient, as_of=clinic.as_of)
        events = clinic.events[clinic.events["mrn"] == mrn] if len(clinic.events) else None
        thresholds = thresholds_for(patient, person, as_of=clinic.as_of)
        figs[fig_key] = {
            "timeline": charts.patient_timeline(
                patient,
                results_long(patient, labs),
                as_of=clinic.as_of,
                thresholds=thresholds,
                events=events,
                crcl=crcl_series(labs, person),
                window=window,
                large=large,
            ),
            "thresholds": thresholds,
        }
    return figs[fig_key]


def open_patient(mrn: str) -> None:
    """Select a patient for this session and switch to the patient page."""
    st.session_state[PATIENT] = str(mrn)
    st.switch_page(PAGES["patient"])


def _card_class(action: str | None) -> str:
    """ld-hold (red: hold, stop), ld-review, ld-ok, or ld-none without a draw (present.ACTION_TONES)."""
    return "ld-" + ACTION_TONES.get(action or "", "none")


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text))


def _alert_items(card: dict) -> str:
    """The notices' texts (cards.next_action `alerts`, most urgent first), urgent and action ones bold."""
    notices = card.get("notices") or [{"text": a, "severity": "action"} for a in card.get("alerts") or []]
    return "".join(
        f"<li><b>{_esc(n['text'])}</b></li>" if n.get("severity") != "info" else f"<li>{_esc(n['text'])}</li>"
        for n in notices
        if n.get("text")
    )


def _rule_lines(card: dict) -> str:
    """Rule ids and source for the clinician: the latest draw's `rules`, the resume plan's rule, the source."""
    lines = []
    if card.get("rules"):
        lines.append(f"Rules: {', '.join(card['rules'])}")
    if card.get("resume_rule"):
        lines.append(f"Resumes by {card['resume_rule']}")
    if card.get("source"):
        lines.append(f"Source: {card['source']}")
    return "".join(f'<p class="ld-src">{_esc(line)}</p>' for line in lines)


def next_action_card(card: dict, *, visit: bool = False) -> None:
    """The large 'what the label says now' card (cards.next_action): headline, resume line, status, the
    engine's reasons, the notices' texts, and the rule ids and source. The visit view (`visit=True`,
    screen-shared with the patient) shows the notices' texts only: the reasons, which name rule ids and
    label sections, and the rule and source lines are the clinician's."""
    when = f" - last draw {card['date']:%d %b %Y}" if card.get("date") else ""
    reasons = "" if visit else "".join(f"<li>{_esc(r)}</li>" for r in card["reasons"])
    if not visit and not reasons and not card.get("alerts"):
        reasons = "<li>No rule fired.</li>"
    css, headline, overdue = _card_class(card.get("action")), card["headline"], ""
    if card.get("overdue"):
        # Stale advice must not read as a plain green "continue": say the CBC is overdue first.
        overdue = f'<p class="ld-overdue">{_esc(card["overdue"])}. Draw a CBC before acting on this advice.</p>'
        headline = f"Last advice: {headline}"
        if css in ("ld-ok", "ld-none"):
            css = "ld-stale"
    status_key = card.get("status")
    status = STATUS_WORDS.get(status_key, status_key) if status_key else "unknown"
    resume = f"<p><b>{_esc(card['resume'])}</b></p>" if card.get("resume") else ""
    st.html(
        f'<div class="ld-card {css}">{overdue}<h2>{_esc(headline)}</h2>{resume}'
        f"<p>Status: {_esc(status)}{_esc(when)}</p><ul>{reasons}{_alert_items(card)}</ul>"
        f"{'' if visit else _rule_lines(card)}</div>"
    )


def upcoming_card(upcoming: pd.DataFrame) -> None:
    """Upcoming dates (cards.upcoming): next CBC, marrow biopsies with week labels, pregnancy test."""
    rows = (
        "".join(
            f"<li><b>{_esc(r.what)}</b>: {r.due:%a %d %b %Y}"
            + (" - <b>OVERDUE</b>" if r.overdue else f" ({cards.in_days_text(cards.days_or_none(r.in_days))})")
            + (f'<br><span class="ld-src">{_esc(r.why)}</span>' if r.why else "")
            + "</li>"
            for r in upcoming.itertuples(index=False)
        )
        or "<li>Nothing scheduled.</li>"
    )
    st.html(f'<div class="ld-card ld-none"><h2>Upcoming</h2><ul>{rows}</ul></div>')


def flowsheet_table(values: pd.DataFrame, grades: pd.DataFrame):
    """Styler for st.dataframe: values formatted, cells coloured by CTCAE grade."""
    fills = grades.map(lambda g: f"background-color: {GRADE_FILLS.get(g if g is None else int(g), '#fff')}")
    # text cells: st.dataframe shows a missing float as "None" whatever the Styler says
    text = values.map(lambda v: "" if pd.isna(v) else f"{v:g}")
    return text.style.apply(lambda _: fills, axis=None).set_properties(**cast(dict[str, Any], {"text-align": "right"}))


FLAG_FILLS = {
    "stopped": "#ffcdd2",
    "hold": "#ffcdd2",
    "review": "#ffe0b2",
    "grade3": "#ffcdd2",
    "cbc_overdue": "#fff8d6",
    "marrow_due": "#fff8d6",
    "pregnancy_due": "#fff8d6",
    "rems_missing": "#fff8d6",
    "vte_missing": "#fff8d6",
    "renal": "#fff8d6",
    "other_notice": "#fff8d6",
    "grade3_baseline": "#f4f4f4",
}


def worklist_table(shown: pd.DataFrame):
    """Styler for the overview table: the flags cell tinted by the most urgent flag, counts by grade."""
    display = worklist_display(shown)
    css = pd.DataFrame("", index=display.index, columns=display.columns)
    css["Flags"] = [f"background-color: {FLAG_FILLS[f[0]]}; font-weight: 600" if f else "" for f in shown["flags"]]
    for col, grade in (("ANC", "anc_grade"), ("Platelets", "plt_grade"), ("Hgb", "hgb_grade")):
        css[col] = [f"background-color: {GRADE_FILLS[int(g)]}" if pd.notna(g) and g >= 2 else "" for g in shown[grade]]
    return display.style.apply(lambda _: css, axis=None)


def grade_legend(grading: str | None = None) -> None:
    """Colour key of the CTCAE grades used by markers and cells, named by the version that graded them."""
    chips = " ".join(
        f'<span style="background:{GRADE_FILLS[g]};border:2px solid {GRADE_COLOURS[g]};'
        f'padding:2px 10px;border-radius:6px;margin-right:6px">grade {g}</span>'
        for g in (0, 1, 2, 3, 4)
    )
    st.html(f'<div style="font-size:1rem">{_esc(grading_name(grading))}: {chips}</div>')


# --- a database that cannot be used --------------------------------------------------------------


def database_unusable(exc: LenadashError) -> NoReturn:
    """Show why this session's database cannot be used and how to fix it (the StoreError's message, as the
    upload page shows it for a file), then stop the run: no page reads on and fails with a generic error."""
    which = "sample clinic" if is_demo() else "clinic"
    st.error(f"The {which} database cannot be used: {plain(exc)}")
    st.stop()
