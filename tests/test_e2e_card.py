"""The next-action card in a real browser at 1366x768 (issue 9 items 2, 5, 6): on the sample clinic, a held
patient's card fits beside the chart with its dose text whole, Accept records the hold and the card shows
the decision, and the visit view shows neither the controls nor rule ids. Screenshots in tests/artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_e2e_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_idle

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
RULE_ID = re.compile(r"\b(?:MM|MDS|MCL|FL|MZL|CLINICIAN|GRADE3|CYCLE|REMS|NO)-[A-Z0-9-]+\b")


@pytest.fixture
def card_server(tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            pytest.fail("LENADASH_REQUIRE_SERVICES=1 but /usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("install Debian's chromium (apt-get install chromium) to run the browser test")
    port = _free_port()
    env = {
        **os.environ,
        "LENADASH_DATA_DIR": str(tmp_path),
        "LENADASH_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite'}",
        "LENADASH_DEMO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
    }
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            proc.terminate()
            pytest.fail("streamlit did not start")
        yield url
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pick(page, mrn: str) -> None:
    page.locator("[data-testid='stSelectbox']").first.click()
    page.keyboard.type(mrn)
    page.keyboard.press("Enter")
    _wait_idle(page)
    page.get_by_text(f"MRN {mrn}").first.wait_for()


def test_held_card_fits_accept_records_and_the_visit_card_hides_it(card_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(90_000)
        page.goto(card_server + "/")
        page.get_by_role("button", name="Explore the sample clinic").click()
        page.locator(".ld-next").first.wait_for()
        _wait_idle(page)
        page.locator("[data-testid='stSidebarNav'] a", has_text="Patient").click()
        page.get_by_text("MRN ").first.wait_for()
        _wait_idle(page)
        _pick(page, "LD0016")  # MM, held for platelets 22
        card = page.locator(".ld-next").first
        card.get_by_text("Resume at 20 mg when Platelets >= 30").wait_for()
        box = card.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1366 * 0.75, box  # the left part, beside a chart
        assert box["y"] + box["height"] <= 768, box  # above the fold
        cut = card.evaluate(
            "c => [...c.querySelectorAll('h2, p')].filter(e => e.scrollWidth > e.clientWidth + 1).length"
        )
        assert cut == 0
        accept = page.get_by_role("button", name="Accept: hold")
        accept_box = accept.bounding_box()
        assert accept_box is not None and accept_box["y"] + accept_box["height"] <= 768, accept_box
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "card_held_1366.png"))
        accept.click()
        page.get_by_role("button", name="Accepted (recorded)").wait_for()
        _wait_idle(page)
        assert "Decision recorded 20 Nov 2026: hold" in page.locator(".ld-next").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "card_accepted_1366.png"))

        page.get_by_role("button", name=re.compile("Visit view")).click()
        page.get_by_role("button", name="End visit").wait_for()
        page.locator(".ld-card").first.wait_for()
        _wait_idle(page)
        # the visit view speaks the patient's words (handout.summary_card_html), not the clinician's card
        visit_card = page.locator(".ld-card").first.inner_text()
        assert "20 mg" in visit_card and not RULE_ID.search(visit_card), visit_card
        assert page.get_by_role("button", name=re.compile("^Accept")).count() == 0
        assert page.get_by_role("button", name="Modify").count() == 0
        assert "US PI" not in page.inner_text("body")  # no sources on the screen-shared view
        page.screenshot(path=str(ARTIFACTS / "card_visit_1366.png"))
        browser.close()
