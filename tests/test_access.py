"""Clinic mode's rules: the permission table per role and action, the actor in local mode, the audit
trail (append-only in the database itself, on SQLite and PostgreSQL), uploads audited, the users command."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lenadash import access, cli, imports, store
from lenadash.access import AccessDenied, Actor
from lenadash.errors import LenadashError
from lenadash.vocab.roles import ROLES

# What each role may do, written out by hand from issue 11 (not computed from PERMISSIONS).
EXPECTED = {
    "clinician": {"read", "upload", "record_event", "dose_decision", "edit_course", "rems"},
    "nurse": {"read", "upload", "record_event"},
    "pharmacist": {"read", "rems"},
    "viewer": {"read"},
    "admin": {"manage_users", "view_audit"},
}


def _actor(*roles: str) -> Actor:
    return Actor(name="someone@clinic.test", roles=frozenset(roles), source="127.0.0.1")


def test_every_role_is_in_the_table_and_the_vocabulary():
    assert set(access.PERMISSIONS) == set(ROLES) == set(EXPECTED)


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("action", sorted(access.ACTIONS))
def test_require_allows_exactly_the_roles_actions(role, action):
    actor = _actor(role)
    if action in EXPECTED[role]:
        assert access.require(action, actor) is actor
    else:
        with pytest.raises(AccessDenied) as refused:
            access.require(action, actor)
        assert isinstance(refused.value, LenadashError)
        assert role in str(refused.value) and "Ask the clinic lead" in str(refused.value)


def test_a_nurse_may_not_decide_a_dose_and_is_told_who_may():
    with pytest.raises(
        AccessDenied,
        match=r"your role \(nurse\) may not accept or modify a dose recommendation .*; that needs clinician\.",
    ):
        access.require("dose_decision", _actor("nurse"))


def test_two_roles_add_up_and_no_role_or_nobody_gets_nothing():
    assert access.require("manage_users", _actor("clinician", "admin"))
    assert access.require("dose_decision", _actor("clinician", "admin"))
    for action in access.ACTIONS:
        assert not access.allowed(action, _actor())
        assert not access.allowed(action, None)


def test_an_unknown_action_is_refused_for_everyone():
    with pytest.raises(AccessDenied, match="unknown action"):
        access.require("delete_everything", _actor(*ROLES))


def test_local_mode_acts_as_this_computers_user(monkeypatch):
    monkeypatch.delenv("LENADASH_MODE", raising=False)
    actor = access.current_actor()
    assert actor is not None and actor.source == "local" and actor.roles == access.LOCAL_ROLES
    assert access.require("dose_decision") == actor


def test_clinic_mode_without_a_signed_in_user_allows_nothing(monkeypatch):
    monkeypatch.setenv("LENADASH_MODE", "clinic")
    assert access.current_actor() is None and access.actor_name() == "unknown"
    with access.acting_as(Actor("a-very-long-name@clinic.example", frozenset({"nurse"}), "x")):
        assert access.actor_name(limit=10) == "a-very-lon"
    with pytest.raises(AccessDenied, match="sign in first"):
        access.require("read")


def test_a_mistyped_mode_is_refused_not_taken_for_local(monkeypatch):
    from lenadash.config import get_settings

    monkeypatch.setenv("LENADASH_MODE", "clinc")
    with pytest.raises(ValueError, match="local or clinic"):
        get_settings()


def test_the_audit_trail_refuses_update_and_delete_in_the_database(db_url):
    engine = store.make_engine(db_url)
    with store.open_session(engine) as session:
        access.audit("sign_in", session=session, actor=_actor("nurse"))
    for statement in ("UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_event"))
    with store.open_session(engine) as session:
        trail = store.audit.load(session=session)
    assert list(trail["actor"]) == ["someone@clinic.test"] and list(trail["action"]) == ["sign_in"]
    engine.dispose()


def test_an_upload_is_audited_with_its_hash_and_counts_and_no_file_name(engine, sample_dir):
    with store.open_session(engine) as session:
        summary = imports.import_file(
            session=session, file_name="patients.csv", data=(sample_dir / "patients.csv").read_bytes()
        )
        trail = store.audit.load(session=session)
    assert list(trail["action"]) == ["upload"]
    detail = json.loads(trail["detail"][0])
    assert detail["rows_imported"] == summary.rows_imported > 0 and len(detail["sha256"]) == 64
    assert "patients.csv" not in trail["detail"][0]
    assert trail["source"][0] == "local"


def test_a_viewer_cannot_upload_and_nothing_is_saved(engine, sample_dir):
    with access.acting_as(_actor("viewer")), store.open_session(engine) as session:
        with pytest.raises(AccessDenied):
            imports.import_file(
                session=session, file_name="patients.csv", data=(sample_dir / "patients.csv").read_bytes()
            )
        assert store.list_uploads(session=session).empty
        assert store.audit.load(session=session).empty


def test_the_audit_filters_by_user_patient_and_day(engine):
    import datetime as dt

    with store.open_session(engine) as session:
        access.audit("patient_opened", session=session, patient="MRN1", actor=_actor("nurse"))
        access.audit("patient_opened", session=session, patient="MRN2", actor=Actor("b@clinic.test", frozenset(), "x"))
        today = dt.datetime.now(dt.UTC).date()
        assert len(store.audit.load(session=session, actor="B@clinic.test")) == 1
        assert list(store.audit.load(session=session, patient_mrn="MRN1")["actor"]) == ["someone@clinic.test"]
        assert len(store.audit.load(session=session, since=today, until=today)) == 2
        assert store.audit.load(session=session, until=today - dt.timedelta(days=1)).empty


def test_users_command_bootstraps_the_first_admin(sqlite_url, capsys):
    assert (
        cli.main(["users", "add", "Lead@Clinic.test", "--role", "admin", "--role", "clinician", "--db", sqlite_url])
        == 0
    )
    assert "lead@clinic.test\tadmin,clinician" in capsys.readouterr().out
    engine = store.make_engine(sqlite_url)
    with store.open_session(engine) as session:
        assert store.people.roles_of(session=session, email="lead@clinic.test") == {"admin", "clinician"}
        assert cli.main(["users", "deactivate", "lead@clinic.test", "--db", sqlite_url]) == 0
        assert store.people.roles_of(session=session, email="lead@clinic.test") == frozenset()
        assert list(store.audit.load(session=session)["action"]) == ["user_roles", "user_roles"]
    engine.dispose()
    assert cli.main(["users", "add", "x@clinic.test", "--db", sqlite_url]) == cli.EXIT_USAGE
    assert "needs at least one --role" in capsys.readouterr().err
