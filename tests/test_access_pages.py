"""Clinic mode, page by page and role by role (issue 11 item 3): the real app (app.py through AppTest) signed in
as each role through `st.user` - the same door a browser passes (access.gate looks the roles up in the
database) - on a real database holding the sample clinic. Every page checks `read` (or its admin action) in
lenadash code; the card's dose decision and the one-click records are offered only to roles that may make
them, and what they record lands in the audit trail with before and after."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120
ROLES = ("clinician", "nurse", "pharmacist", "viewer", "admin")
READ_PAGES = ("overview", "patient", "clinic", "upload", "setup", "visit")  # Start: an empty clinic's, below
REFUSED = "This page is not open to your role."
HELD = "LD0016"  # MM, held for platelets 22 at 25 mg (the sample clinic)


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory) -> Path:
    from lenadash import imports, store

    folder = tmp_path_factory.mktemp("clinic")
    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=imports.sample_files())
        for role in ROLES:
            store.people.save_user(session=s, email=f"{role}@clinic.test", roles=[role])
    engine.dispose()
    return folder


@pytest.fixture
def clinic_env(seeded_dir, monkeypatch, tmp_path) -> Path:
    shutil.copy(seeded_dir / "lenadash.sqlite", tmp_path / "lenadash.sqlite")
    monkeypatch.setenv("LENADASH_MODE", "clinic")
    monkeypatch.setenv("LENADASH_CLINIC_ON_SQLITE", "1")  # one process, one machine: the test
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{tmp_path / 'lenadash.sqlite'}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    return tmp_path


def _signed_in(role: str, page: str, *, mrn: str = HELD) -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": f"{role}@clinic.test"}
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.session_state["patient_mrn"] = mrn
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _trail(folder: Path) -> pd.DataFrame:
    from lenadash import store

    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        trail = store.audit.load(session=s)
    engine.dispose()
    return trail.iloc[::-1].reset_index(drop=True)  # oldest first


def _shown(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.text] + [t.value for t in at.title]
    return "\n".join(str(p) for p in parts) + "\n".join(h.proto.body for h in at.get("html"))


def _labels(at: AppTest) -> list[str]:
    return [str(b.label) for b in at.button]


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_checks_read_for_the_signed_in_role(clinic_env, role, page):
    at = _signed_in(role, page)
    errors = [e.value for e in at.error]
    if role == "admin":  # users and the trail only: no patient on any clinical page
        assert errors == [REFUSED], errors
        assert any("may not see patients" in t.value for t in at.text)
        assert HELD not in _shown(at) and len(at.dataframe) == 0
    else:
        assert REFUSED not in errors, errors
        assert f"Signed in: {role}@clinic.test" in " ".join(t.value for t in at.sidebar.text)


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_pages_are_the_admins_only(clinic_env, role):
    for page, title in (("admin", "Users and roles"), ("audit", "Audit trail")):
        at = _signed_in(role, page)
        titles = [t.value for t in at.title]
        # for another role the page is neither listed nor routed (and admin.* require the action again)
        assert (title in titles) == (role == "admin"), (role, page, titles)
        assert REFUSED not in [e.value for e in at.error]


def test_an_admin_without_a_clinical_role_lands_on_the_audit_trail(clinic_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": "admin@clinic.test"}
    at.run()
    assert not at.exception and "Audit trail" in [t.value for t in at.title]


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "viewer"])
def test_only_a_clinician_is_offered_the_dose_decision(clinic_env, role):
    at = _signed_in(role, "patient")
    labels = _labels(at)
    assert not [label for label in labels if label.startswith("Accept")], labels
    assert "Record this decision" not in labels  # Modify's form is not there either (the note, read-only, is)
    assert any("Dose decisions are recorded by a clinician." in c.value for c in at.caption)
    assert "dose_decision" not in set(_trail(clinic_env)["action"])


def test_a_clinicians_accept_is_audited_with_what_the_card_showed_and_what_was_recorded(clinic_env):
    at = _signed_in("clinician", "patient")
    accept = next(b for b in at.button if str(b.label).startswith("Accept"))
    assert accept.label == "Accept: hold"
    accept.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    trail = _trail(clinic_env)
    row = trail[trail["action"] == "dose_decision"].iloc[-1]
    assert (row["actor"], row["roles"], row["patient_mrn"]) == ("clinician@clinic.test", "clinician", HELD)
    detail = json.loads(row["detail"])
    assert detail["before"]["action"] == "stay_held" and detail["before"]["status"] == "held"
    assert detail["after"]["event"] == "dose_change" and detail["after"]["is_hold"] is True
    assert detail["rules"] and detail["rules"] == detail["before"]["rules"]
    # the Audit page shows the two sides as columns
    from lenadash import access
    from lenadash.access import admin

    lead = access.Actor("lead@clinic.test", frozenset({"admin"}), "test")
    with access.acting_as(lead), admin.clinic_session() as session:
        shown = admin.audit_trail(session=session, patient=HELD)
    decision = shown[shown["action"] == "dose_decision"].iloc[0]
    assert "action: stay_held" in decision["before"] and "status: held" in decision["before"]
    assert "event: dose_change" in decision["after"] and "is_hold: True" in decision["after"]


@pytest.mark.parametrize(
    ("role", "biopsy", "pregnancy"),
    [("clinician", True, True), ("nurse", True, True), ("pharmacist", False, True), ("viewer", False, False)],
)
def test_the_one_click_records_follow_the_role(clinic_env, role, biopsy, pregnancy):
    from lenadash import samples

    at = _signed_in(role, "patient", mrn="LD0001")  # a planned marrow biopsy
    assert ("Mark biopsy done" in _labels(at)) == biopsy
    mrn = next(p.mrn for p in samples.PATIENTS if getattr(p, "reproductive_potential", False))
    at = _signed_in(role, "patient", mrn=mrn)
    assert ("Record test" in _labels(at)) == pregnancy
    if pregnancy:
        at.radio(key=f"pregnancy_result_{mrn}").set_value("negative")
        at.radio(key=f"pregnancy_type_{mrn}").set_value("serum")
        next(b for b in at.button if b.label == "Record test").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        row = _trail(clinic_env).query("action == 'event_recorded'").iloc[-1]
        assert row["actor"] == f"{role}@clinic.test" and json.loads(row["detail"])["after"]["result"] == "negative"


def test_a_patient_opened_is_audited_once_per_open_not_per_rerun(clinic_env):
    at = _signed_in("nurse", "patient")
    at.run()
    at.run()  # reruns (a click) are the same open
    opened = _trail(clinic_env).query("action == 'patient_opened'")
    assert list(opened["patient_mrn"]) == [HELD] and opened["actor"].iloc[0] == "nurse@clinic.test"
    at.switch_page("app_pages/overview.py").run()
    at.switch_page("app_pages/patient.py").run()  # back again: a new open
    assert list(_trail(clinic_env).query("action == 'patient_opened'")["patient_mrn"]) == [HELD, HELD]
    at.switch_page("app_pages/visit.py").run()
    at.run()
    visits = _trail(clinic_env).query("action == 'visit_view'")
    assert list(visits["patient_mrn"]) == [HELD]


@pytest.mark.parametrize("role", ROLES)
def test_the_start_page_says_who_is_signed_in_and_offers_no_sample_clinic(clinic_env, role):
    from lenadash import store

    (clinic_env / "lenadash.sqlite").unlink()  # an empty clinic: "/" opens Start
    engine = store.make_engine(f"sqlite:///{clinic_env / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        store.people.save_user(session=s, email=f"{role}@clinic.test", roles=[role])
    engine.dispose()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": f"{role}@clinic.test"}
    at.run()
    assert not at.exception
    if role == "admin":
        assert [t.value for t in at.title] == ["Audit trail"]
        return
    assert "Explore the sample clinic" not in _labels(at)
    assert f"Signed in as {role}@clinic.test, role: {role}." in [t.value for t in at.text]
    assert ("Upload exports" in _labels(at)) == (role in ("clinician", "nurse"))
    from lenadash.dashboard import ui
    from lenadash.errors import InputError

    with pytest.raises(InputError, match="local mode"):
        ui.start_demo()  # the lenadash code refuses too, whatever a page offers


@pytest.mark.parametrize("role", ("clinician", "nurse", "pharmacist", "viewer"))
def test_setup_offers_the_course_form_and_the_event_form_only_to_roles_that_may_save_them(clinic_env, role):
    at = _signed_in(role, "setup")
    buttons = _labels(at)
    infos = " ".join(str(i.value) for i in at.info)
    may_edit, may_record = role == "clinician", role in ("clinician", "nurse", "pharmacist")
    assert ("Save patient and course" in buttons) == may_edit
    assert ("Registering patients and editing treatment courses is for a clinician" in infos) == (not may_edit)
    assert ("Record event" in buttons) == may_record
    assert ("Your role does not record events" in infos) == (not may_record)


def test_an_empty_overview_in_clinic_mode_offers_upload_not_the_sample_clinic(clinic_env):
    from lenadash import store

    (clinic_env / "lenadash.sqlite").unlink()
    engine = store.make_engine(f"sqlite:///{clinic_env / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        store.people.save_user(session=s, email="clinician@clinic.test", roles=["clinician"])
    engine.dispose()
    at = _signed_in("clinician", "overview")
    assert "Go to upload" in _labels(at) and "Explore the sample clinic" not in _labels(at)
    assert "explore the sample clinic" not in " ".join(str(i.value) for i in at.info)
