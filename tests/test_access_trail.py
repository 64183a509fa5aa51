"""The audit trail's "from where" and "before and after" (issue 11 item 4): the browser's address behind the
clinic's reverse proxy, a course edit's old and new values, and the Audit page's columns for them."""

from __future__ import annotations

import json

import pytest

from lenadash import access, store
from lenadash.access import Actor, admin
from tests.test_access_records import _course


@pytest.mark.parametrize(
    ("peer", "forwarded", "source"),
    [
        ("10.1.2.3", None, "10.1.2.3"),  # straight from a browser on the clinic's network
        ("10.1.2.3", "1.2.3.4", "10.1.2.3"),  # a header from a browser is not believed
        ("127.0.0.1", "10.1.2.3", "10.1.2.3 via 127.0.0.1"),  # the proxy on this machine appended it
        ("127.0.0.1", "6.6.6.6, 10.1.2.3", "10.1.2.3 via 127.0.0.1"),  # the browser's own claim comes first
        ("::1", "10.1.2.3", "10.1.2.3 via ::1"),
        (None, "10.1.2.3", "10.1.2.3"),  # Streamlit names no loopback peer: the proxy on this machine
        ("127.0.0.1", None, "127.0.0.1"),
        (None, None, "web"),
        ("", " , ", "web"),
    ],
)
def test_from_where_trusts_only_the_proxy_on_this_machine(peer, forwarded, source):
    assert access.source_of(peer, forwarded) == source


def test_a_course_edit_keeps_before_and_after_and_the_audit_page_shows_what_changed(session):
    from lenadash.dashboard import setup_form

    doc = Actor("doc@clinic.test", frozenset({"clinician", "admin"}), "10.0.0.9")
    with access.acting_as(doc):
        setup_form.save_course(_course(), session=session)
        setup_form.save_course(
            {**_course(), "starting_dose_mg": 15.0, "weight_kg": 72.0}, session=session, reason="dose reduced, weighed"
        )
        shown = admin.readable(store.audit.load(session=session))
    trail = store.audit.load(session=session)
    first, second = (json.loads(d) for d in trail["detail"][::-1])
    assert first["before"] is None and first["after"]["starting_dose_mg"] == 25.0
    assert second["before"]["starting_dose_mg"] == 25.0 and second["after"]["starting_dose_mg"] == 15.0
    assert second["before"]["start_date"] == "2026-10-01" == second["after"]["start_date"]
    newest = shown.iloc[0]
    assert (newest["before"], newest["after"]) == (
        "starting_dose_mg: 25; weight_kg: 80",
        "starting_dose_mg: 15; weight_kg: 72",
    )
    assert shown.iloc[1]["before"] == "" and "indication: MM" in shown.iloc[1]["after"]
