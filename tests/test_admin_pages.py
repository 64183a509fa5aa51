"""The Admin and Audit pages (AppTest, real database): an admin manages roles and reads the trail; the
check is in lenadash code, so the same pages refuse anyone whose role does not allow it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenadash import access, store
from lenadash.access import AccessDenied, Actor, admin

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60


@pytest.fixture
def clinic_db(monkeypatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)
    monkeypatch.delenv("LENADASH_MODE", raising=False)
    return url


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app_pages" / f"{name}.py"), default_timeout=TIMEOUT)
    return at.run()


def test_an_admin_adds_a_user_and_the_trail_shows_it(clinic_db):
    at = _page("admin")
    assert not at.exception and not at.error
    at.text_input[0].input("Nurse@Clinic.test")
    at.multiselect[0].select("nurse")
    at.button[0].click().run()  # the form's Save
    assert not at.exception and not at.error, [e.value for e in at.error]
    users = at.dataframe[0].value
    assert list(users["email"]) == ["nurse@clinic.test"] and list(users["roles"]) == ["nurse"]

    trail = _page("audit")
    assert not trail.exception and not trail.error
    rows = trail.dataframe[0].value
    assert list(rows["action"]) == ["user_roles"] and rows["detail"][0] == "roles: nurse; user: nurse@clinic.test"


def test_the_pages_refuse_when_nobody_is_signed_in_in_clinic_mode(clinic_db, monkeypatch):
    monkeypatch.setenv("LENADASH_MODE", "clinic")
    for name in ("admin", "audit"):
        at = _page(name)
        assert not at.exception
        assert [e.value for e in at.error] == ["This page is not open to your role."], name
        assert any("sign in first" in t.value for t in at.text), name
        assert len(at.dataframe) == 0, name


@pytest.mark.parametrize("role", ["clinician", "nurse", "pharmacist", "viewer"])
def test_only_an_admin_manages_users_and_reads_the_trail(clinic_db, role):
    with access.acting_as(Actor("x@clinic.test", frozenset({role}), "test")), admin.clinic_session() as session:
        for call in (
            lambda: admin.users(session=session),
            lambda: admin.set_roles(session=session, email="y@clinic.test", roles=["viewer"]),
            lambda: admin.deactivate(session=session, email="y@clinic.test"),
            lambda: admin.audit_trail(session=session),
        ):
            with pytest.raises(AccessDenied):
                call()
        assert store.people.list_users(session=session) == []


def test_the_last_admin_keeps_the_role_and_the_csv_is_guarded(clinic_db):
    with admin.clinic_session() as session:
        admin.set_roles(session=session, email="lead@clinic.test", roles=["admin"])
        with pytest.raises(AccessDenied, match="last admin"):
            admin.set_roles(session=session, email="lead@clinic.test", roles=["clinician"])
        with pytest.raises(AccessDenied, match="last admin"):
            admin.deactivate(session=session, email="lead@clinic.test")
        access.audit("patient_opened", session=session, patient="=HYPERLINK(1)")
        csv_text = admin.audit_csv(session=session, trail=admin.audit_trail(session=session))
        assert "'=HYPERLINK(1)" in csv_text
        assert list(admin.audit_trail(session=session)["action"])[0] == "audit_export"
