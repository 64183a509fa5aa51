"""Streamlit helpers shared by the pages: data source, the kept clinic as pages read it, widgets, errors on writes."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, cast

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from lenadash import watch
from lenadash.config import get_settings
from lenadash.dashboard import cards, timeline
from lenadash.dashboard.assessed import as_date, grade_or_none, required_date
from lenadash.dashboard.present import (
    GRADE_COLOURS,
    GRADE_FILLS,
    GRADE_TEXT,
    STATUS_WORDS,
    grade_symbol,
    grade_text,
    grading_name,
)
from lenadash.dashboard.results import crcl_series, results_long, thresholds_frame
from lenadash.dashboard.visit import patient_for_visit
from lenadash.dashboard.worklist import worklist_display
from lenadash.errors import InputError, LenadashError

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
    "clinic": "app_pages/clinic.py",
}

# session_state keys
DEMO = "lenadash_demo"
PATIENT = "patient_mrn"
CLINIC = "lenadash_clinic"
EDITS = "lenadash_edits"
AS_OF = "lenadash_as_of"
AS_OF_INPUT = "as_of_input"  # the sidebar date widget
RELOAD = "lenadash_reload"  # "Reload data": the next clinic() looks for changed inputs whatever the version
URL_MRN = "lenadash_url_mrn"  # the ?mrn= this session last applied or wrote (router, patient_opened)

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


@st.cache_resource(show_spinner=False)
def start_folder_watch() -> threading.Thread | None:
    """LENADASH_WATCH_FOLDER: watch it into the clinic database (never the sample clinic's), once per server
    process (lenadash.watch); None when the setting is empty. Its files show as "folder" in the history."""
    settings = get_settings()
    if not settings.watch_folder:
        return None
    return watch.start_in_background(Path(settings.watch_folder), settings.database_url)


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
    """Switch this session to the sample clinic, loading it the way `python -m lenadash demo` does. Refused in
    clinic mode (InputError): a clinic's server shows its own patients only, and its audit trail never mixes
    in a demo database."""
    from lenadash import access, imports

    if access.is_clinic():
        raise InputError("the sample clinic is for local mode: this clinic's lenadash shows its own patients only.")

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
    """Drop this session's view of the clinic; the next run reads the data version again (what did not
    change stays kept for every session: dashboard.kept)."""
    st.session_state.pop(CLINIC, None)
    st.session_state[RELOAD] = True  # read every patient's inputs again, even if the data version looks the same


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


# --- the assessed clinic: kept process-wide per patient (dashboard.kept), read per page --------------


@dataclass
class Clinic:
    """What the pages read, for one data version: the kept clinic (kept.Snapshot, shared by every session of
    this process and read-only) seen through this session's database, as-of day and rule profile.

    `result` and `by_mrn` hold the worklist's part of each assessment (kept.summary_entry: the draws cut to
    the latest); `patient(mrn)` is that patient's full assessment (every draw) and `labs(mrn)` its results,
    both assessed from its own rows; `whole()` every course's assessment (the Clinic insight page)."""

    key: tuple
    as_of: dt.date
    patients: pd.DataFrame
    events: pd.DataFrame
    result: dict
    worklist: pd.DataFrame
    load_seconds: float
    assess_seconds: float
    by_mrn: dict = field(default_factory=dict)
    snapshot: Any = None
    url: str = ""

    @property
    def empty(self) -> bool:
        return not self.result.get("patients")

    def patient(self, mrn: str | None) -> dict | None:
        """The patient's assessment with every draw (its last course), assessed from its own rows; None when
        this clinic has no such MRN."""
        if not mrn or str(mrn) not in self.by_mrn:
            return None
        entries = self._assessed(str(mrn))[0]
        return entries[-1] if entries else None

    @property
    def data_key(self) -> tuple:
        """Names this clinic's data for kept.shared: the database, the kept snapshot, the as-of day, the rules."""
        return (self.url, getattr(self.snapshot, "serial", None), self.as_of, self.key[-1])

    def patient_key(self, mrn: str) -> tuple:
        """Names one patient's data for kept.shared: the database, its input fingerprint, as-of day, rules."""
        inputs = self.snapshot.inputs.get(str(mrn)) if self.snapshot is not None else None
        return (self.url, str(mrn), inputs, self.as_of, self.key[-1])

    def labs(self, mrn: str) -> pd.DataFrame:
        """One patient's current lab results (read through the (patient, collected time) index, kept)."""
        return self._assessed(str(mrn))[1]

    def _assessed(self, mrn: str) -> tuple[list[dict], pd.DataFrame]:
        from lenadash.dashboard import kept

        return kept.patient_assessment(url=self.url, open_session=_sessions(self.url), snapshot=self.snapshot, mrn=mrn)

    def whole(self) -> dict:
        """The whole clinic's assessment for the Clinic insight page (every course, without draws), kept per version."""
        from lenadash.dashboard import kept

        if self.snapshot is None:
            return self.result
        return kept.whole_clinic(url=self.url, open_session=_sessions(self.url), snapshot=self.snapshot)

    def person(self, mrn: str | None) -> dict:
        """Patient row (name, sex, birth_date, weight...) of the newest course; {} when unknown."""
        rows = self.patients[self.patients["mrn"] == str(mrn)] if len(self.patients) else self.patients
        return rows.iloc[-1].to_dict() if len(rows) else {}


def _sessions(url: str):
    """A function that opens a database session on `url` (for the kept clinic, which may outlive a rerun)."""
    from lenadash import store

    return lambda: store.open_session(_engine(url))


def _version() -> tuple:
    """Changes whenever the stored data changes - in this session or another (store.data_version)."""
    from lenadash import store

    with db_session() as s:
        return (store.data_version(session=s), st.session_state.get(EDITS, 0))


def clinic() -> Clinic:
    """The assessed clinic for this session, from the kept clinic (kept.clinic_snapshot): current whenever the
    stored data (store.data_version, which sees other sessions' edits too), the database or the as-of date
    changes; only the patients whose inputs changed are reassessed, once for every session."""
    from lenadash.dashboard import kept

    url, version = database_url(), _version()
    key = (url, version, as_of(), get_settings().rules)
    cached = st.session_state.get(CLINIC)
    if cached is not None and cached.key == key:
        return cached
    own_edit = cached is not None and cached.key[0] == url and cached.key[1][1] != version[1]
    own_edit = bool(st.session_state.pop(RELOAD, False)) or own_edit
    try:
        snap = kept.clinic_snapshot(
            url=url,
            open_session=_sessions(url),
            version=version[0],
            as_of=as_of(),
            rules=get_settings().rules,
            force=own_edit,
        )
    except LenadashError as exc:  # e.g. a ProfileError: the message says which rule row to fix
        st.error(plain(f"Could not assess the clinic with rule profile {get_settings().rules!r}: {exc}"))
        st.stop()
    built = Clinic(
        key=key,
        as_of=as_of(),
        patients=snap.patients,
        events=snap.events,
        result=snap.result(),
        worklist=snap.worklist,
        load_seconds=snap.seconds.get("read", 0.0),
        assess_seconds=snap.seconds.get("assess", 0.0),
        by_mrn={m: entries[-1] for m, entries in snap.entries.items()},
        snapshot=snap,
        url=url,
    )
    st.session_state[CLINIC] = built
    return built


def patient_labs(mrn: str) -> pd.DataFrame:
    """One patient's current lab results (store.load_labs through the index), kept per patient fingerprint."""
    return clinic().labs(mrn)


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
  .block-container {padding-top: 2.2rem; padding-left: 2rem; padding-right: 2rem; max-width: 1700px;}
  .ld-sample {background:#fff3cd; border:2px solid #e0a800; color:#5c4400; padding:.2rem .8rem;
              border-radius:.5rem; font-weight:700; font-size:1rem; letter-spacing:.03em; margin-bottom:0}
  .st-key-ld_ident p {font-size:1.2rem; line-height:1.5; margin:0; word-spacing:.1rem}
  .st-key-ld_ident strong {font-size:1.35rem}
  .ld-legend {font-size:1rem; line-height:1.9}
  .ld-card {border-radius:.8rem; padding:.7rem 1.1rem; margin-bottom:.4rem; border:2px solid}
  .ld-card h2 {margin:0 0 .3rem 0; font-size:1.6rem; line-height:1.25; padding:0}
  .ld-card p, .ld-card li {font-size:1.05rem; margin:.1rem 0}
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


def timeline_figure(
    clinic: Clinic,
    mrn: str,
    preset: str,
    *,
    large: bool = False,
    visit: bool = False,
    panels: tuple[str, ...] | None = None,
    height: int | None = None,
) -> dict:
    """One patient's timeline figure (and the thresholds drawn on it) for a time-window preset, built
    once per change of the patient's inputs and kept for every session (kept.shared; read-only: copy before
    changing it, as charts.without_event_details does): {"timeline": go.Figure, "thresholds": frame or None}.
    panels: the chart panels to draw (charts.PANEL_KEYS; e.g. ("anc", "plt"), the compact two-panel
    figure with the dose strip); None: every panel with data. The visit view (`visit=True`, large type:
    hover without the reasons' rule ids and sources) always gets the two-panel ANC + platelet figure.
    Upcoming and overdue dates (cards.upcoming) are drawn where they fall."""
    from lenadash.dashboard import charts

    if visit and panels is None:
        panels = charts.FOLD_PANELS
    from lenadash.dashboard import kept

    def build() -> dict:
        patient, person = clinic.patient(mrn), clinic.person(mrn)
        assert patient is not None, f"no patient {mrn}"  # callers pass the MRN of a loaded patient
        patient = patient_for_visit(patient) if visit else patient
        labs = clinic.labs(mrn)
        thresholds = thresholds_for(patient, person, as_of=clinic.as_of)
        return {
            "timeline": charts.patient_timeline(
                patient,
                results_long(patient, labs),
                as_of=clinic.as_of,
                thresholds=thresholds,
                events=clinic.events[clinic.events["mrn"] == mrn] if len(clinic.events) else None,
                crcl=crcl_series(labs, person),
                window=timeline.window_range(preset, patient, as_of=clinic.as_of),
                due=cards.upcoming(patient, as_of=clinic.as_of),
                panels=panels,
                large=large,
                height=height,
                visit=visit,
            ),
            "thresholds": thresholds,
        }

    return kept.shared(("timeline", clinic.patient_key(mrn), preset, large, visit, panels, height), build)


def open_patient(mrn: str) -> None:
    """Select a patient for this session and switch to the patient page, at its own address
    (/patient?mrn=...: a reload or a bookmark shows the same patient)."""
    st.session_state[PATIENT] = st.session_state[URL_MRN] = str(mrn)
    st.switch_page(PAGES["patient"], query_params={"mrn": str(mrn)})


# The card's tone (cards.card_tone) as its CSS class: red, amber, green, grey.
TONE_CLASSES = {"red": "ld-hold", "amber": "ld-review", "green": "ld-ok", "none": "ld-none"}
# The compact card (issue 9 item 2): fits the left part of a 1366x768 screen beside a chart; the dose line
# wraps rather than being cut ("Resume at 15 mg", "2.5 mg" in full).
CARD_CSS = """<style>
  .ld-card.ld-next {padding:.7rem 1rem; margin-bottom:.5rem}
  .ld-card.ld-next h2 {font-size:1.55rem; line-height:1.2; white-space:normal; overflow-wrap:anywhere}
  .ld-card.ld-next p.ld-overdue {font-size:1rem !important; padding:.3rem .6rem; margin-bottom:.35rem !important}
  .ld-card.ld-next p, .ld-card.ld-next li {font-size:1.05rem; margin:.1rem 0}
  .ld-card.ld-next ul {margin:.2rem 0 .2rem 1.1rem; padding:0}
  .ld-card .ld-key {font-weight:700; font-size:1.15rem}
  .ld-card li.ld-red {font-weight:700}
  .ld-card li.ld-amber {font-weight:700}
  .ld-card .ld-mark {display:inline-block; min-width:4.6rem; font-size:.8rem; font-weight:700; text-transform:uppercase;
                     letter-spacing:.03em}
  .ld-card details summary {cursor:pointer; font-size:.95rem}
</style>"""
TONE_MARKS = {"red": "Urgent", "amber": "Attention", "none": "Note"}


def _card_class(card: dict) -> str:
    """The card's CSS class from its most severe notice or action (cards.card_tone: red for hold and stop,
    amber for an overdue biopsy or pregnancy test, a review, ..., green to dose, grey without a draw);
    ld-stale (dashed amber) for advice from a stale draw that is not red."""
    tone = cards.card_tone(card)
    if card.get("overdue") and tone != "red":
        return "ld-stale"
    return TONE_CLASSES[tone]


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text))


def _alert_items(card: dict, *, visit: bool = False) -> str:
    """The notices listed under the action (cards.listed_notices), most severe first, each marked with its
    tone in words (not colour only); the visit card in the patient's words."""
    return "".join(
        f'<li class="ld-{n["tone"]}"><span class="ld-mark">{TONE_MARKS.get(n["tone"], "")}</span> '
        f"{_esc(n['text'])}</li>"
        for n in cards.listed_notices(card, visit=visit)
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


def card_html(card: dict, *, visit: bool = False, as_of: dt.date | None = None) -> str:
    """The next-action card as HTML (cards.next_action), every data-borne text escaped: the stale-advice
    banner, the action with its dose in full, the hold's start and counts, the resume plan, the next CBC, the
    recorded decision, the notices (most severe first), the status; then, for the clinician only, the
    engine's reasons and the rule ids and source. The visit card (`visit=True`, screen-shared with the
    patient) lists the notices in the patient's words and shows no reason, rule id or source."""
    when = f" - last draw {card['date']:%d %b %Y}" if card.get("date") else ""
    reasons = "" if visit else "".join(f"<li>{_esc(r)}</li>" for r in card.get("reasons") or [])
    headline, overdue = card["headline"], ""
    if card.get("overdue"):
        # Stale advice must not read as a plain green "continue": say the CBC is overdue first.
        overdue = f'<p class="ld-overdue">{_esc(card["overdue"])}. Draw a CBC before acting on this advice.</p>'
        headline = f"Last advice: {headline}"
    status_key = card.get("status")
    status = STATUS_WORDS.get(status_key, status_key) if status_key else "unknown"
    lines = [
        f'<p class="ld-key">{_esc(x)}</p>'
        for x in (cards.held_line(card), card.get("resume") or "", "" if overdue else cards.cbc_line(card, as_of=as_of))
        if x
    ]
    if decision := cards.decision_line(card, visit=visit):
        lines.append(f"<p>{_esc(decision)}</p>")
    notices = _alert_items(card, visit=visit)
    why = ""
    if not visit:
        why = f"<details><summary>Why (reasons, rules)</summary><ul>{reasons or '<li>No rule fired.</li>'}</ul>"
        why += f"{_rule_lines(card)}</details>"
    return (
        f'{CARD_CSS}<div class="ld-card {_card_class(card)} ld-next" data-tone="{cards.card_tone(card)}">'
        f"{overdue}<h2>{_esc(headline)}</h2>{''.join(lines)}"
        f"{f'<ul>{notices}</ul>' if notices else ''}<p>Status: {_esc(status)}{_esc(when)}</p>{why}</div>"
    )


def next_action_card(card: dict, *, visit: bool = False, actions: bool = True) -> None:
    """The 'what the label says now' card (card_html), then, on the clinician's card, Accept, Modify and the
    note for the record (decision_controls; `actions=False` leaves them out). The visit view (`visit=True`,
    screen-shared with the patient) shows no reasons, rule ids, sources or controls."""
    visit = visit or _in_visit()
    st.html(card_html(card, visit=visit, as_of=as_of()))
    if actions and not visit and card.get("mrn"):
        decision_controls(card)


def _in_visit() -> bool:
    """The page is the screen-shared visit view (`?visit=1`: the router shows the visit view on every page)."""
    return st.query_params.get("visit") == "1"


def upcoming_card(upcoming: pd.DataFrame, *, mrn: str | None = None, visit: bool = False) -> None:
    """Upcoming dates (cards.upcoming): next CBC, marrow biopsies with week labels, pregnancy test, each with
    why that date and its source - not on the visit view (`visit=True`, or `?visit=1`), which the patient
    reads. With `mrn` (the clinician's patient page, never the visit view) the one-click records under it:
    "Mark biopsy done" and "Record pregnancy test" (upcoming_actions)."""
    visit = visit or _in_visit()
    rows = (
        "".join(
            f"<li><b>{_esc(r.what)}</b>: {r.due:%a %d %b %Y}"
            + (" - <b>OVERDUE</b>" if r.overdue else f" ({cards.in_days_text(cards.days_or_none(r.in_days))})")
            + (f'<br><span class="ld-src">{_esc(r.why)}</span>' if r.why and not visit else "")
            + "</li>"
            for r in upcoming.itertuples(index=False)
        )
        or "<li>Nothing scheduled.</li>"
    )
    st.html(f'{CARD_CSS}<div class="ld-card ld-none ld-next"><h2>Upcoming</h2><ul>{rows}</ul></div>')
    if mrn and not visit:
        upcoming_actions(upcoming, mrn=mrn)


def _flowsheet_cell(value: Any, grade: Any) -> str:
    """'0.44 G4': the value and, from grade 1 up, its CTCAE grade as text (never the colour alone)."""
    if pd.isna(value):
        return ""
    g = grade_or_none(grade)
    return f"{value:g} {grade_text(g)}" if g else f"{value:g}"


def _flowsheet_css(grade: Any) -> str:
    """A graded cell's fill and text colour (present.GRADE_FILLS/GRADE_TEXT, >= 3:1); grade 0 and
    ungraded cells stay white, so a fill always comes with a grade written in the cell."""
    g = grade_or_none(grade)
    return f"background-color: {GRADE_FILLS[g]}; color: {GRADE_TEXT[g]}; font-weight: 600" if g else ""


def flowsheet_table(values: pd.DataFrame, grades: pd.DataFrame):
    """Styler for st.dataframe: each cell the value with its grade as text ('0.44 G4'), graded cells filled
    by CTCAE grade."""
    css = grades.map(_flowsheet_css)
    # text cells: st.dataframe shows a missing float as "None" whatever the Styler says
    text = pd.DataFrame(
        [[_flowsheet_cell(v, g) for v, g in zip(vr, gr)] for vr, gr in zip(values.to_numpy(), grades.to_numpy())],
        index=values.index,
        columns=values.columns,
    )
    return text.style.apply(lambda _: css, axis=None).set_properties(**cast(dict[str, Any], {"text-align": "right"}))


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


OVERDUE_FILL = "#ffd8a8"  # due dates already passed (the cell also says so with a warning sign)


def kept_table(key: tuple, build: Any) -> Any:
    """A table, its CSV or a figure built from the kept clinic, once for every session (kept.shared; `key`
    names every input); a Styler is copied for each run, so no two sessions render one object. What it
    returns is read-only (st.plotly_chart only reads a figure)."""
    from lenadash.dashboard import kept

    made = kept.shared(("table", *key), build)
    return copy.deepcopy(made) if isinstance(made, Styler) else made


def worklist_table(shown: pd.DataFrame, *, as_of: dt.date | None = None):
    """Styler for the overview table (worklist.worklist_display): the flag cell tinted by the most
    urgent flag, counts by grade (grade 2 and up; the grade is also written, "0.78 G3"), overdue due
    dates amber (they also carry the warning sign)."""
    display = worklist_display(shown, as_of=as_of)
    css = pd.DataFrame("", index=display.index, columns=display.columns)
    css["Flag"] = [f"background-color: {FLAG_FILLS[f[0]]}; font-weight: 600" if f else "" for f in shown["flags"]]
    for col, grade in (("ANC", "anc_grade"), ("Platelets", "plt_grade"), ("Hgb", "hgb_grade")):
        css[col] = [f"background-color: {GRADE_FILLS[int(g)]}" if pd.notna(g) and g >= 2 else "" for g in shown[grade]]
    late = f"background-color: {OVERDUE_FILL}; font-weight: 600"
    css["CBC due"] = [late if o else "" for o in shown["labs_overdue"]]
    css["Also due"] = [
        late if b or p else "" for b, p in zip(shown["marrow_biopsy_overdue"], shown["pregnancy_test_overdue"])
    ]
    return display.style.apply(lambda _: css, axis=None)


# The marker shapes of present.GRADE_SYMBOLS as characters, for the legend chips.
_SHAPE_GLYPHS = {"circle": "\u25cf", "square": "\u25a0", "diamond": "\u25c6", "triangle-up": "\u25b2", "x": "\u2716"}


def grade_legend(grading: str | None = None) -> None:
    """Key of the CTCAE grades as markers and cells show them (shape, colour and the G-text), named by the
    version that graded them."""
    chips = " ".join(
        f'<span style="background:{GRADE_FILLS[g]};color:{GRADE_TEXT[g]};border:2px solid {GRADE_COLOURS[g]};'
        f'padding:1px 8px;border-radius:6px;margin-right:4px;white-space:nowrap">'
        f'<span style="color:{GRADE_COLOURS[g]}">{_SHAPE_GLYPHS.get(grade_symbol(g), "")}</span> G{g}</span>'
        for g in (0, 1, 2, 3, 4)
    )
    st.html(f'<div class="ld-legend">{_esc(grading_name(grading))} grade: {chips}</div>')


# --- recording the decision (issue 9 items 6 and 7) --------------------------------------------------


def _record(build: Any, *, flash: str, before: dict | None = None) -> None:
    """Build an event (a callable: it may raise InputError), store it with who recorded it (decisions.who; the
    store adds when; setup_form.record_event checks the role and audits it, with `before` for a dose decision),
    then reassess: the card shows the recorded decision on the rerun."""
    from lenadash.dashboard import decisions, setup_form

    with user_errors("Not recorded"):
        event = build()
        with db_session() as s:
            setup_form.record_event(event, session=s, recorded_by=decisions.who(), before=before)
        data_changed()
        st.session_state["lenadash_card_flash"] = flash
        st.rerun()


def decision_controls(card: dict) -> None:
    """Under the clinician's card: Accept (records the advice: the hold, or the resume or continue dose),
    Modify (another dose or a hold with a required reason) and the note for the record (copyable text). Each
    records a dose_change event dated the as-of date (decisions)."""
    from lenadash import access
    from lenadash.dashboard import decisions

    mrn = card["mrn"]
    if flash := st.session_state.pop("lenadash_card_flash", None):
        st.success(plain(flash))
    wanted = decisions.advice(card)
    accept, modify, note = st.columns([5, 3, 3])
    before = decisions.shown(card)
    if not access.allowed("dose_decision", access.current_actor()):
        # the write refuses too (setup_form.record_event); the buttons are not offered to a role without it
        accept.caption("Dose decisions are recorded by a clinician.")
    elif wanted is None:
        accept.caption("No advised dose to accept: use Modify.")
    else:
        done = decisions.is_recorded(card)
        label = "Accepted (recorded)" if done else wanted["label"]
        if accept.button(label, key=f"accept_{mrn}", type="primary", disabled=done, width="stretch"):
            _record(
                lambda: decisions.accept_event(card, on=as_of()), flash=f"Recorded: {wanted['label']}.", before=before
            )
    if access.allowed("dose_decision", access.current_actor()):
        _modify_control(card, modify, before=before)
    with note.popover("Note", width="stretch"):
        st.code(decisions.note(card), language=None, wrap_lines=True)


def _modify_control(card: dict, modify: Any, *, before: dict) -> None:
    """Modify: another dose or a hold, with the clinician's required reason."""
    from lenadash.dashboard import decisions

    mrn = card["mrn"]
    with modify.popover("Modify", width="stretch"), st.form(f"modify_form_{mrn}", clear_on_submit=True):
        choice = st.selectbox(
            "Record instead",
            decisions.modify_choices(card.get("indication"), rules_profile()),
            format_func=decisions.choice_text,
            key=f"modify_choice_{mrn}",
        )
        reason = st.text_input("Reason (required)", key=f"modify_reason_{mrn}", max_chars=decisions.REASON_MAX)
        if st.form_submit_button("Record this decision", type="primary"):
            _record(
                lambda: decisions.modify_event(card, on=as_of(), choice=choice, reason=reason),
                flash=f"Recorded: {decisions.choice_text(choice)} (modified).",
                before=before,
            )


def upcoming_actions(upcoming: pd.DataFrame, *, mrn: str) -> None:
    """One click from the upcoming card: "Mark biopsy done" (a marrow_biopsy event on the as-of date) when a
    marrow biopsy is listed, "Record pregnancy test" (date, result, test type) when a REMS test is listed."""
    from lenadash import access
    from lenadash.dashboard import setup_form

    actor = access.current_actor()
    may_record, may_rems = access.allowed("record_event", actor), access.allowed("rems", actor)
    what = upcoming["what"].astype(str)
    # offered to the roles that may record them; setup_form.record_event checks the role again
    biopsy = may_record and what.str.startswith("Marrow biopsy").any()
    pregnancy = (may_record or may_rems) and what.str.startswith("Pregnancy test").any()
    if not (biopsy or pregnancy):
        return
    left, right = st.columns(2)
    on = as_of()
    if biopsy and left.button(
        "Mark biopsy done", key=f"biopsy_done_{mrn}", width="stretch", help=f"Records a marrow biopsy on {on:%d %b %Y}"
    ):
        _record(
            lambda: _event(
                setup_form, mrn=mrn, date=on, kind="marrow_biopsy", detail="marked done on the upcoming card"
            ),
            flash=f"Recorded: marrow biopsy on {on:%d %b %Y}.",
        )
    if pregnancy:
        with (
            right.popover("Record pregnancy test", width="stretch"),
            st.form(f"pregnancy_form_{mrn}", clear_on_submit=True),
        ):
            when = st.date_input("Date", value=on, key=f"pregnancy_date_{mrn}", format="YYYY-MM-DD")
            result = st.radio(
                "Result", ["negative", "positive"], index=None, key=f"pregnancy_result_{mrn}", horizontal=True
            )
            test = st.radio("Test", ["serum", "urine"], index=None, key=f"pregnancy_type_{mrn}", horizontal=True)
            if st.form_submit_button("Record test", type="primary"):
                _record(
                    lambda: _pregnancy_event(setup_form, mrn=mrn, date=when, result=result, test=test),
                    flash=f"Recorded: pregnancy test ({result or '?'}) on {when:%d %b %Y}.",
                )


def _event(setup_form: Any, *, mrn: str, date: dt.date, kind: str, detail: str, result: str = "") -> dict:
    return setup_form.event_record(
        mrn=mrn,
        date=date,
        kind=kind,
        detail=detail,
        temperature_c=None,
        grade=None,
        result=result,
        dose_mg=None,
        is_hold=False,
        agent="",
    )


def _pregnancy_event(setup_form: Any, *, mrn: str, date: dt.date, result: str | None, test: str | None) -> dict:
    """A pregnancy_test event from the upcoming card; the test type is kept in the detail (REMS: a medically
    supervised test, serum or urine)."""
    if not result or not test:
        from lenadash.errors import InputError

        raise InputError("choose the result (negative or positive) and the test (serum or urine).")
    return _event(setup_form, mrn=mrn, date=date, kind="pregnancy_test", detail=f"{test} test", result=result)


def dose_history_table(patient: dict, events: pd.DataFrame | None, *, on: dt.date) -> None:
    """The course's dose history per cycle (dose_history.dose_history) as a table of text."""
    from lenadash.dashboard import dose_history

    table = dose_history.dose_history(patient, events, as_of=on)
    if table.empty:
        st.info("No treatment cycles yet: the dose history starts with the course.")
        return
    shown = table.rename(
        columns={
            "cycle": "Cycle",
            "starts": "Starts",
            "planned": "Planned",
            "taken": "Taken",
            "days_held": "Days held",
            "reductions": "Reductions",
            "changes": "What changed it (rule, decision)",
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")


# --- addresses: stable URLs, a patient's own address -------------------------------------------


def history_tab(mrn: str) -> None:
    """The patient page's History tab: every course and patient version and every event with who, when and
    why, voided ones marked (dashboard.history), then Void for an event entered in error (reason required),
    offered for the events the role may record (setup_form.may_void; setup_form.void_event checks it again)."""
    from lenadash.dashboard import history, setup_form

    if flash := st.session_state.pop("lenadash_history_flash", None):
        st.success(plain(flash))
    with db_session() as s:
        table, events = history.patient_history(session=s, mrn=mrn)
    if table.empty:
        st.info("No changes or events recorded for this patient yet.")
    else:  # a dataframe: names, reasons and details are shown as typed, never as Markdown
        voided = table.pop("voided")
        # what was voided, greyed (and struck through where the grid can); VOIDED says it in words
        struck = "color: #5f5f5f; text-decoration: line-through"
        styled = table.style.apply(
            lambda row: [struck if voided[row.name] and c in ("record", "what") else "" for c in row.index], axis=1
        )
        config = {
            column: st.column_config.TextColumn(history.HISTORY_HEADERS.get(column, column), width=px)
            for column, px in history.HISTORY_WIDTHS.items()
        }
        st.dataframe(styled, hide_index=True, width="stretch", column_config=config, key=f"history_{mrn}")
    standing = [e for e in history.voidable_events(events).to_dict("records") if setup_form.may_void(e)]
    if not standing:  # nothing left standing, or nothing this role may void
        return
    with st.expander("Void an event entered in error"), st.form(f"void_form_{mrn}", clear_on_submit=True):
        picked = st.selectbox(
            "Event",
            range(len(standing)),
            format_func=lambda n: history.event_choice(standing[n]),
            key=f"void_pick_{mrn}",
        )
        reason = st.text_input("Reason (required)", key=f"void_reason_{mrn}", max_chars=setup_form.VOID_REASON_MAX)
        if st.form_submit_button("Void event", type="primary"):
            with user_errors("Not voided"):
                with db_session() as s:
                    setup_form.void_event(standing[picked], reason=reason, session=s)
                data_changed()
                st.session_state["lenadash_history_flash"] = f"Voided: {history.event_choice(standing[picked])}."
                st.rerun()


def home() -> None:
    """The root URL "/": the Start page on a first run (empty clinic database, no sample clinic open),
    else the clinic overview. A hidden page of its own because Streamlit serves the default page at "/"
    only - a default page's own url_path answers "Page not found" - so /start and /overview, never
    default, always name their pages."""
    from lenadash import access

    if access.is_clinic() and not access.allowed("read", access.current_actor()):
        st.switch_page("app_pages/audit.py")  # an admin without a clinical role: their page is the trail
    first_run = not is_demo() and is_empty_clinic()
    st.switch_page(PAGES["welcome"] if first_run else PAGES["overview"])


def patient_from_url() -> None:
    """Router, on the patient page: /patient?mrn=... selects that patient, once per address (the page's
    own picker can then move on; patient_opened keeps the address in step). An MRN this clinic does not
    have is said, never replaced by another patient (a wrong-patient risk), and the page stops."""
    mrn = st.query_params.get("mrn")
    if not mrn or mrn == st.session_state.get(URL_MRN):
        return
    if clinic().patient(mrn) is None:
        st.title("Patient")
        where = "the sample clinic" if is_demo() else "this clinic"
        st.warning(plain(f"No patient with MRN {mrn} in {where}. Open a patient from the clinic overview."))
        if st.button("Clinic overview", key="url_mrn_overview"):
            st.switch_page(PAGES["overview"])
        st.stop()
    st.session_state[PATIENT] = st.session_state[URL_MRN] = mrn


def patient_opened(clinic: Clinic, mrn: str) -> None:
    """The patient page, once it knows its patient: the address says this patient (/patient?mrn=...),
    and a patient known only from lab files (no treatment course) gets patient_without_course and the
    page stops there (no dose rule, chart thresholds or schedule can apply)."""
    if st.query_params.get("mrn") != mrn:
        st.query_params["mrn"] = mrn
    st.session_state[URL_MRN] = mrn
    audit_view("patient_opened", mrn)
    patient = clinic.patient(mrn)
    if patient is not None and not patient.get("start_date"):
        patient_without_course(clinic, mrn)
        st.stop()


def audit_view(action: str, mrn: str, *, once: bool = True, detail: dict | None = None) -> None:
    """An audit trail row for what this session shows or exports of one patient: patient_opened and visit_view
    once per open of the page (`once`, access.first_view: not on every rerun a click causes), visit_export per
    download. Written to the database this session shows."""
    from lenadash import access

    if once and not access.first_view(action, mrn):
        return
    with db_session() as s:
        access.audit(action, session=s, patient=mrn, detail=detail)


def open_setup_for(mrn: str) -> None:
    """Setup, on this patient (st.session_state[PATIENT]): to add the course or record an event."""
    st.session_state[PATIENT] = str(mrn)
    st.switch_page(PAGES["setup"])


def patient_without_course(clinic: Clinic, mrn: str) -> None:
    """A patient known only from lab files: status review, why (no treatment course, so no dose rule
    can apply: the engine's `labs_without_course` notice), the button that opens Setup for them, and
    their results graded (CTCAE needs no course)."""
    from lenadash.dashboard import results
    from lenadash.dashboard.worklist import NO_COURSE_ACTION

    patient = clinic.patient(mrn) or {}
    st.title(plain(mrn))
    st.markdown("#### " + plain(f"MRN {mrn}  |  no treatment course  |  status: review"))
    st.warning(
        f"Review: {NO_COURSE_ACTION}. These results came from a lab file, but no treatment course "
        "(indication, start date, starting dose) is recorded, so no dose rule, CBC schedule or threshold "
        "can apply yet."
    )
    if st.button(
        f"Add a treatment course for {plain(mrn)}", key="add_course", type="primary", icon=":material/edit_note:"
    ):
        open_setup_for(mrn)
    next_action_card(cards.next_action(patient, rules=clinic.result.get("rules", ""), as_of=clinic.as_of))
    values, grades = results.flowsheet(patient)
    if len(values.columns):
        st.subheader("Results")
        st.dataframe(flowsheet_table(values, grades), width="stretch", height=38 * (len(values) + 1))


# --- the clinic-day worklist ----------------------------------------------------------------------

# Keyboard on the overview, inline and static (no data in it, nothing loaded from anywhere):
# - "/" anywhere (not while typing in a field) puts the cursor in the search box, as in mail and issue
#   trackers;
# - Tab into the worklist puts the cursor on its first cell (the grid itself only does so when the mouse
#   happens to hover it; without a cell, the arrow keys do nothing);
# - Enter or Space on a worklist cell opens that row's patient. The table (Glide Data Grid) selects a row
#   with Shift+Space, which nobody guesses: Enter and Space are passed to it as Shift+Space.
_WORKLIST_KEYS = """<script>
(function () {
  if (window.lenadashWorklistKeys) { return; }
  window.lenadashWorklistKeys = true;
  function typing(t) {
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable);
  }
  var GRID = "[class*='st-key-worklist'] [data-testid='stDataFrame']";
  var tabbedAt = 0;
  document.addEventListener("focusin", function (e) {
    var t = e.target;
    if (Date.now() - tabbedAt > 1000 || !t || t.tagName !== "CANVAS" || !t.closest(GRID)) { return; }
    setTimeout(function () {
      if (document.activeElement !== t) { return; }  // the grid chose a cell itself
      // the grid picks a cell on focus only while the pointer is over it: tell it the pointer is over the
      // first row, then give it the focus again
      var box = t.getBoundingClientRect();
      var opts = {clientX: box.left + 200, clientY: box.top + 52, bubbles: true, cancelable: true,
                  pointerId: 1, pointerType: "mouse", isPrimary: true};
      ["pointerenter", "pointerover", "pointermove", "mouseover", "mousemove"].forEach(function (kind) {
        var Ev = kind.indexOf("pointer") === 0 ? PointerEvent : MouseEvent;
        t.dispatchEvent(new Ev(kind, opts));
        window.dispatchEvent(new Ev(kind, opts));
      });
      t.blur();
      t.focus();
    }, 60);
  }, true);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Tab") { tabbedAt = Date.now(); }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    if (e.key === "/" && !typing(t)) {
      var box = document.querySelector(".st-key-filter_search input");
      if (!box) { return; }
      e.preventDefault();
      box.focus();
      box.select();
      return;
    }
    if ((e.key === "Enter" || e.key === " ") && !e.shiftKey && !e.isComposing && t && t.closest &&
        t.closest(GRID) && !typing(t)) {
      e.preventDefault();
      e.stopPropagation();
      t.dispatchEvent(new KeyboardEvent("keydown", {key: " ", code: "Space", keyCode: 32, which: 32,
                                                    shiftKey: true, bubbles: true, cancelable: true}));
    }
  }, true);
})();
</script>"""


def worklist_keys() -> None:
    """Install the overview's keys (once per browser tab): "/" focuses the search box; Enter or Space on
    a row of the worklist opens that patient."""
    st.html(_WORKLIST_KEYS, unsafe_allow_javascript=True)


# Widths in pixels that add up, with the row-selection column, to less than the overview's width on a
# 1366 px laptop with the sidebar open (tests/test_browser_worklist.py): no sideways scrolling. A longer
# cell is cut with an ellipsis; the patient page and the CSV have it in full.
WORKLIST_COLUMN_CONFIG: dict[str, Any] = {
    "Flag": st.column_config.TextColumn(width=158, help="Every flag, most urgent first (full words in the CSV)"),
    "Patient": st.column_config.TextColumn(width=168, help="MRN - name"),
    "Course": st.column_config.TextColumn(width=132, help="Indication, cycle and day today"),
    "Dose": st.column_config.TextColumn(width=72, help="Dose now, or HELD / STOPPED / REVIEW"),
    "ANC": st.column_config.TextColumn(width=64, help="Latest ANC (10^9/L) and CTCAE grade"),
    "Platelets": st.column_config.TextColumn("Plt", width=58, help="Latest platelets (10^9/L) and CTCAE grade"),
    "Hgb": st.column_config.TextColumn(width=64, help="Latest haemoglobin (g/dL) and CTCAE grade"),
    "CBC due": st.column_config.TextColumn(width=90, help="Next CBC; \u26a0 = overdue"),
    "Also due": st.column_config.TextColumn(width=124, help="Next marrow biopsy and pregnancy test; \u26a0 = overdue"),
}


def worklist_counts(wl: pd.DataFrame) -> None:
    """The overview's counts in one line (patients, then the urgent flags), and the overview's own
    layout: narrower side margins, so the clinic-day columns fit a 1366 px laptop with the sidebar open."""
    from lenadash.dashboard.worklist import FLAG_LABELS, flag_counts

    counts = flag_counts(wl)
    keys = ("stopped", "hold", "review", "grade3", "cbc_overdue", "marrow_due", "pregnancy_due")
    parts = [f"**{len(wl)}** patients"] + [f"**{counts[k]}** {FLAG_LABELS[k]}" for k in keys if counts[k]]
    st.html("<style>.block-container {padding-left: 1.5rem !important; padding-right: 1.5rem !important;}</style>")
    st.markdown(" \u00b7 ".join(parts))


# --- a database that cannot be used --------------------------------------------------------------


def database_unusable(exc: LenadashError) -> NoReturn:
    """Show why this session's database cannot be used and how to fix it (the StoreError's message, as the
    upload page shows it for a file), then stop the run: no page reads on and fails with a generic error."""
    which = "sample clinic" if is_demo() else "clinic"
    st.error(f"The {which} database cannot be used: {plain(exc)}")
    st.stop()
