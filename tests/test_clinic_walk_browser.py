"""Issue 11's Done-when, walked in a real browser at 1366x768: clinic mode on PostgreSQL holding the sample
clinic, signing in through the locally started OpenID Connect provider (tests/oidc/), behind a stand-in for
the clinic's reverse proxy (every request carries X-Forwarded-For, as nginx adds it).

1. the nurse sees the patients, opens the held patient (no dose decision offered), records a fever, uploads;
2. the clinician accepts the hold on the same patient's card, opens the visit view and downloads the handout;
3. a backup is written and restored with the CLI while the app is up;
4. the admin reads both rows, with before and after, on the audit page;
5. left idle, the page hides the data and asks for a new sign-in;
6. the server log holds no MRN and no name.

Screenshots: tests/artifacts/clinic_walk_<n>_<step>.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_clinic_signin_browser import _sign_out, chromium_path, clinic_streamlit  # noqa: F401 (a fixture)
from tests.test_e2e_browser import ARTIFACTS, CHROMIUM_ARGS, _wait_idle

REPO = Path(__file__).resolve().parents[1]
IDLE_TIMEOUT_MIN = 0.75  # 45 s: a slow page load on a busy machine stays well inside it
HELD = "LD0016"  # the sample clinic's myeloma patient held for platelets
CLIENT = "10.20.30.40"  # the browser's address as the proxy reports it
VIEW = {"width": 1366, "height": 768}

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def clinic(tmp_path, oidc_provider, postgres_url):
    """`streamlit run app.py` in clinic mode on PostgreSQL holding the sample clinic; nurse, clinician and
    admin (the clinic lead: admin only) hold their roles. Yields (url, database url, server log)."""
    from lenadash import access, imports, store

    provider, port = oidc_provider
    engine = store.make_engine(postgres_url)
    with access.acting_as(access.os_actor("cli")), store.open_session(engine) as session:
        imports.import_paths(session=session, paths=imports.sample_files())
        for role in ("nurse", "clinician", "admin"):
            store.people.save_user(session=session, email=f"{role}@clinic.test", roles=[role])
    engine.dispose()
    with clinic_streamlit(tmp_path, provider, port, postgres_url, idle_minutes=IDLE_TIMEOUT_MIN) as served:
        yield served


def _shot(page, n: int, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"clinic_walk_{n}_{step}.png"))


def _settled(page) -> str:
    _wait_idle(page)
    page.wait_for_timeout(1000)
    _wait_idle(page)
    return page.inner_text("body")


def _sign_in(page, url: str, user: str, *, path: str = "/") -> None:
    page.goto(url + path)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name='login']").fill(user)
    page.locator("input[name='password']").fill("any password: the test provider's form")
    page.locator("button[type='submit']").click()
    consent = page.locator("button[type='submit']", has_text="Continue")
    if consent.count():
        consent.click()
    page.get_by_text(f"Signed in: {user}@clinic.test").wait_for()
    _settled(page)


def _open_held_patient(page, url: str) -> str:
    page.goto(f"{url}/patient?mrn={HELD}")  # the same browser: still signed in (Streamlit's auth cookie)
    page.locator(".st-key-ld_ident", has_text=f"MRN {HELD}").wait_for()
    page.locator(".ld-next").first.wait_for()
    return _settled(page)


def _trail(database_url: str):
    from lenadash import store

    engine = store.make_engine(database_url)
    with store.open_session(engine) as session:
        trail = store.audit.load(session=session)
    engine.dispose()
    return trail.iloc[::-1].reset_index(drop=True)


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LENADASH_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "lenadash", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _nurse(page, url: str) -> None:
    """Step 1: sees the patients; the held patient's card offers no dose decision; records a fever; uploads."""
    _sign_in(page, url, "nurse")
    page.get_by_text("18 patients").wait_for()
    body = _settled(page)
    assert "Clinic overview" in body and "18 patients" in body and "Role: nurse" in body  # the list: a canvas
    _shot(page, 1, "nurse_overview")

    body = _open_held_patient(page, url)
    assert page.get_by_role("button", name="Accept: hold").count() == 0
    assert page.get_by_role("button", name="Modify").count() == 0
    assert "Dose decisions are recorded by a clinician." in body
    _shot(page, 2, "nurse_patient")

    page.locator(".st-key-to_setup button").click()  # the patient page's "Record event": Setup, this patient
    page.get_by_role("tab", name="Clinical event").click()
    page.get_by_role("button", name="Record event").wait_for()
    _settled(page)
    temperature = page.get_by_label("Temperature (C) - fever")
    temperature.fill("38.6")
    temperature.press("Tab")
    page.get_by_role("button", name="Record event").click()
    page.get_by_text(f"Recorded fever for {HELD}").wait_for()
    _settled(page)
    _shot(page, 3, "nurse_fever")

    page.locator("[data-testid='stSidebarNav'] a", has_text="Upload").first.click()
    page.get_by_text("Drop lab exports").wait_for()
    page.locator("input[type='file']").set_input_files([str(REPO / "sample_data" / "events.csv")])
    page.get_by_role("button", name="Commit 1 file(s)").click()
    page.get_by_text("events.csv:").first.wait_for()
    _settled(page)
    _shot(page, 4, "nurse_upload")
    _sign_out(page)


def _clinician(page, url: str) -> None:
    """Step 2: the clinician accepts the hold on the held patient's card, opens the visit view, prints."""
    from lenadash.dashboard import handout

    _sign_in(page, url, "clinician")
    _open_held_patient(page, url)
    page.get_by_role("button", name="Accept: hold").click()
    page.get_by_role("button", name="Accepted (recorded)").wait_for()
    body = _settled(page)
    assert "Decision recorded" in body and "clinician@clinic.test" in body
    _shot(page, 5, "clinician_accepted")
    # the visit view, and the patient's handout downloaded from it (both audited)
    page.get_by_role("button", name="Visit view").click()
    page.get_by_role("button", name="End visit").wait_for()
    _settled(page)
    with page.expect_download() as download:
        page.get_by_role("button", name=handout.HANDOUT_LABEL).click()
    assert HELD not in Path(download.value.path()).read_text(encoding="utf-8")
    page.get_by_role("button", name="End visit").click()
    page.get_by_role("button", name="Sign out").wait_for()
    _settled(page)
    _sign_out(page)


def _admin(page, url: str, database_url: str) -> None:
    """Step 4: the admin lands on the audit trail and filters it to the held patient."""
    _sign_in(page, url, "admin")
    page.get_by_role("heading", name="Audit trail").wait_for()
    assert page.locator("[data-testid='stSidebarNav'] a", has_text="Clinic overview").count() == 0
    _shot(page, 6, "admin_audit")
    box = page.get_by_label("Patient (MRN)")
    box.fill(HELD)
    box.press("Enter")
    page.get_by_text("row(s)").first.wait_for()
    _settled(page)
    _shot(page, 7, "admin_audit_patient")
    # the clinician's decision, selected (its row's checkbox): read in full under the table
    shown = _trail(database_url).query(f"patient_mrn == '{HELD}'").iloc[::-1].reset_index(drop=True)
    row = int(shown.index[shown["action"] == "dose_decision"][0])  # newest first, as on the page
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    assert grid is not None
    page.mouse.click(grid["x"] + 18, grid["y"] + 35 * (row + 1) + 18)
    page.get_by_text("before: action: stay_held").wait_for()
    text = _settled(page)
    assert "after: event: dose_change; is_hold: True" in text and "clinician@clinic.test (clinician)" in text
    _shot(page, 8, "admin_audit_decision")


def test_the_clinic_walk(chromium_path, clinic):  # noqa: F811 (chromium_path is the imported fixture)
    from playwright.sync_api import sync_playwright

    from lenadash import samples

    url, database_url, server_log = clinic
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEW, extra_http_headers={"X-Forwarded-For": CLIENT})
        page = context.new_page()
        page.set_default_timeout(90_000)
        _nurse(page, url)
        _clinician(page, url)

        # Step 3: backup and restore through the CLI while the server is up and serving.
        rows_before = len(_trail(database_url))
        backup = server_log.parent / "clinic.backup"
        _cli("backup", str(backup), database_url=database_url)
        _cli("restore", str(backup), database_url=database_url)
        assert len(_trail(database_url)) == rows_before

        _admin(page, url, database_url)

        # Step 5: idle for longer than the timeout: the page signs out and hides the trail.
        page.wait_for_timeout(IDLE_TIMEOUT_MIN * 60_000 + 15_000)
        page.get_by_role("button", name="Yes, sign me out").click()
        page.get_by_role("button", name="Sign in").wait_for()
        body = page.inner_text("body")
        assert "Signed in:" not in body and "Audit trail" not in body and HELD not in body
        _shot(page, 9, "idle_signed_out")
        browser.close()

    trail = _trail(database_url)
    mine = trail[trail["patient_mrn"] == HELD]
    fever = mine[mine["action"] == "event_recorded"].iloc[-1]
    assert fever["actor"] == "nurse@clinic.test" and json.loads(fever["detail"])["after"]["temperature_c"] == 38.6
    decision = mine[mine["action"] == "dose_decision"].iloc[-1]
    detail = json.loads(decision["detail"])
    assert decision["actor"] == "clinician@clinic.test" and detail["before"]["action"] == "stay_held"
    assert detail["after"]["is_hold"] is True and detail["rules"]
    assert not (trail["actor"].eq("nurse@clinic.test") & trail["action"].eq("dose_decision")).any()
    opened = mine[mine["action"] == "patient_opened"]
    assert list(opened["actor"])[:2] == ["nurse@clinic.test", "clinician@clinic.test"]
    exported = mine[mine["action"] == "visit_export"]
    assert list(mine[mine["action"] == "visit_view"]["actor"]) == ["clinician@clinic.test"]
    assert [json.loads(d)["file"] for d in exported["detail"]] == ["handout"]
    # from where: the proxy's X-Forwarded-For (Streamlit names no loopback peer); "cli" seeded the clinic
    assert set(trail[trail["actor"].str.endswith("@clinic.test")]["source"]) == {CLIENT}
    assert "upload" in set(trail[trail["actor"] == "nurse@clinic.test"]["action"])
    assert trail["action"].iloc[-1] == "idle_sign_out" and trail["actor"].iloc[-1] == "admin@clinic.test"

    log = server_log.read_text(errors="replace")
    assert not [x for p in samples.PATIENTS for x in (p.mrn, p.name) if x in log], "PHI in the server log"
