"""Clinic mode in a real browser, on PostgreSQL, through a real OpenID Connect provider (tests/oidc/):
sign in as a nurse and as a clinician, see who is signed in and the audit rows, sign out, and the idle
timeout hides the page and asks for a new sign-in."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_e2e_browser import ARTIFACTS, CHROMIUM_ARGS, _wait_idle

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
IDLE_TIMEOUT_MIN = 0.75  # 45 s: a page load on a busy machine (the full suite on 2 cores) stays inside it

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            pytest.fail("LENADASH_REQUIRE_SERVICES=1 but /usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("install Debian's chromium (apt-get install chromium) to run the browser test")
    return CHROMIUM


def _secrets(path: Path, provider) -> Path:
    """The `[auth]` section Streamlit documents for st.login, pointing at the test provider."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{provider.redirect_uri}"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{provider.client_id}"\n'
        f'client_secret = "{provider.client_secret}"\n'
        f'server_metadata_url = "{provider.server_metadata_url}"\n'
        # Streamlit asks for prompt=select_account unless told otherwise; oidc-provider offers login,
        # consent and none. "login" (password every time) also suits shared clinic workstations.
        'client_kwargs = { prompt = "login" }\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def clinic_server(tmp_path, oidc_provider, postgres_url):
    """`streamlit run app.py` in clinic mode on PostgreSQL, signing in through the test provider;
    the nurse, the clinician and the viewer hold their roles. Yields (url, database url, server log)."""
    from lenadash import store

    provider, port = oidc_provider
    engine = store.make_engine(postgres_url)
    with store.open_session(engine) as session:
        store.people.save_user(session=session, email="nurse@clinic.test", roles=["nurse"])
        # the clinic lead: clinician and admin (the admin pages are listed for them only)
        store.people.save_user(session=session, email="clinician@clinic.test", roles=["clinician", "admin"])
        store.people.save_user(session=session, email="viewer@clinic.test", roles=["viewer"])
    engine.dispose()
    with clinic_streamlit(tmp_path, provider, port, postgres_url, idle_minutes=IDLE_TIMEOUT_MIN) as served:
        yield served


@contextlib.contextmanager
def clinic_streamlit(tmp_path: Path, provider, port: int, postgres_url: str, *, idle_minutes: float):
    """`streamlit run app.py` in clinic mode on `postgres_url`, on 127.0.0.1:`port`, signing in through the test
    provider, logging to tmp_path/server.log; yields (url, database url, server log) and stops the server."""
    secrets_file = _secrets(tmp_path / "secrets.toml", provider)
    env = {
        **os.environ,
        "LENADASH_MODE": "clinic",
        "LENADASH_IDLE_TIMEOUT_MIN": str(idle_minutes),
        "LENADASH_DATA_DIR": str(tmp_path),
        "LENADASH_DATABASE_URL": postgres_url,
        "LENADASH_DEMO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
    }
    env.pop("LENADASH_CLINIC_ON_SQLITE", None)  # the real thing: PostgreSQL
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1", "--secrets.files", str(secrets_file)]
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                pytest.fail(f"streamlit did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
    try:
        yield url, postgres_url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _sign_in(page, url: str, user: str) -> None:
    """From the app's sign-in screen through the provider's login and consent forms, back to the app."""
    page.goto(url + "/")
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name='login']").fill(user)
    page.locator("input[name='password']").fill("any password: the test provider's form")
    page.locator("button[type='submit']").click()
    consent = page.locator("button[type='submit']", has_text="Continue")
    if consent.count():  # the first sign-in of a session asks to share the e-mail with lenadash
        consent.click()
    page.get_by_text(f"Signed in: {user}@clinic.test").wait_for()
    _wait_idle(page)


def _upload(page, path: Path) -> str:
    """Upload one file on the Upload page (reached through the sidebar, in the same browser session) and
    commit it; the page's text afterwards."""
    page.locator("[data-testid='stSidebarNav'] a", has_text="Upload").first.click()
    page.get_by_text("Drop lab exports").wait_for()
    page.locator("input[type='file']").set_input_files([str(path)])
    page.get_by_role("button", name="Commit 1 file(s)").click()
    page.get_by_text("patients.csv:").first.wait_for()
    _wait_idle(page)
    return page.inner_text("body")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider ends its session too
    page.get_by_role("button", name="Sign in").wait_for()


def _audit_rows(database_url: str) -> list[tuple[str, str]]:
    from lenadash import store

    engine = store.make_engine(database_url)
    with store.open_session(engine) as session:
        trail = store.audit.load(session=session)
    engine.dispose()
    return list(zip(trail["actor"], trail["action"], strict=True))[::-1]


def test_nurse_and_clinician_sign_in_sign_out_and_time_out(chromium_path, clinic_server):
    from playwright.sync_api import sync_playwright

    url, database_url, server_log = clinic_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)

        # Not signed in: the sign-in screen and nothing else (no navigation, no page).
        page.goto(url + "/")
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.locator("[data-testid='stSidebarNav']").count() == 0
        assert "Clinic overview" not in page.inner_text("body")

        _sign_in(page, url, "nurse")
        assert "Role: nurse" in page.inner_text("body")
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Clinic overview" in nav and "Audit trail" not in nav and "Users and roles" not in nav
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "clinic_signed_in_nurse.png"))
        assert "Saved:" in _upload(page, REPO / "sample_data" / "patients.csv")  # a nurse may upload
        _sign_out(page)

        # A viewer may read but not upload: the check is in lenadash.imports, not in a hidden button.
        _sign_in(page, url, "viewer")
        body = _upload(page, REPO / "sample_data" / "patients.csv")
        assert (
            "your role (viewer) may not import lab, patient and event exports; that needs clinician or nurse" in body
            and "Saved:" not in body
        )
        page.screenshot(path=str(ARTIFACTS / "clinic_viewer_refused_upload.png"))
        _sign_out(page)

        _sign_in(page, url, "clinician")
        assert "clinician" in page.inner_text("body")
        assert page.locator("[data-testid='stSidebarNav']").count() == 1
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Audit trail" in nav and "Users and roles" in nav  # the clinic lead's admin pages

        # Idle: no click for longer than the timeout; the page hides itself and asks to sign in again.
        page.wait_for_timeout(IDLE_TIMEOUT_MIN * 60_000 + 12_000)
        page.get_by_role("button", name="Yes, sign me out").click()
        page.get_by_role("button", name="Sign in").wait_for()
        assert "Signed in:" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "clinic_idle_signed_out.png"))
        browser.close()

    # No PHI in the server log: the uploaded patients' names and MRNs never reach it.
    from lenadash import samples

    log = server_log.read_text(errors="replace")
    assert not [p.mrn for p in samples.PATIENTS if p.mrn in log] and not [
        p.name for p in samples.PATIENTS if p.name in log
    ]
    assert _audit_rows(database_url) == [
        ("nurse@clinic.test", "sign_in"),
        ("nurse@clinic.test", "upload"),
        ("nurse@clinic.test", "sign_out"),
        ("viewer@clinic.test", "sign_in"),
        ("viewer@clinic.test", "sign_out"),
        ("clinician@clinic.test", "sign_in"),
        ("clinician@clinic.test", "idle_sign_out"),
    ]
