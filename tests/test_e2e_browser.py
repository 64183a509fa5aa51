"""End to end in a real browser: upload every sample export, open a patient, then the visit view."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
DOCS_SHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            pytest.fail("LENADASH_REQUIRE_SERVICES=1 but /usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("install Debian's chromium (apt-get install chromium) to run the browser test")
    return CHROMIUM


@pytest.fixture
def server(tmp_path):
    """`streamlit run app.py` on 127.0.0.1 against an empty temporary clinic database."""
    port = _free_port()
    env = {
        **os.environ,
        "LENADASH_DATA_DIR": str(tmp_path),
        "LENADASH_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite'}",
        "LENADASH_DEMO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
    }
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
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
            pytest.fail(f"streamlit did not start: {(tmp_path / 'server.log').read_text(errors='replace')[-2000:]}")
        yield url
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("LENADASH_SCREENSHOTS") == "docs":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_SHOTS / f"{name}.png")


def _record_requests(page) -> list[str]:
    """Every URL the page asks for from now on (documents, scripts, fonts, images, WebSockets, ...)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.on("websocket", lambda ws: seen.append(ws.url))
    return seen


def _foreign(requests: list[str], server: str) -> list[str]:
    """The requests that leave the app's own origin (http and ws on the same host and port); data: and
    blob: URLs stay in the page."""
    from urllib.parse import urlsplit

    own = urlsplit(server).netloc
    return sorted({u for u in requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own})


def _wait_idle(page) -> None:
    """Streamlit shows a 'running' status widget while the script runs; wait until it is gone."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=90_000)


def test_upload_to_patient_to_visit(chromium_path, server):
    from playwright.sync_api import sync_playwright

    from lenadash import imports, samples

    exports = imports.sample_files()
    assert {p.name for p in exports} >= {
        "patients.csv",
        "events.csv",
        "epic_long_us.csv",
        "europe_wide_si.csv",
        "loinc_long.csv",
        "bad_rows.csv",
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(90_000)
        requests = _record_requests(page)

        # First run: an empty clinic offers the sample clinic and the upload.
        page.goto(server + "/")
        page.get_by_role("button", name="Upload your exports").wait_for()
        _shot(page, "first_run")
        page.get_by_role("button", name="Upload your exports").click()

        # Upload every sample export, check what was recognised, commit.
        page.get_by_text("Drop lab exports").wait_for()
        page.locator("input[type='file']").set_input_files([str(x) for x in exports])
        page.get_by_role("button", name=f"Commit {len(exports)} file(s)").wait_for()
        _wait_idle(page)
        body = page.inner_text("body")
        for export in exports:
            assert export.name in body
        assert "Column mapping" in body and "Unit conversions" in body and "Problems" in body
        _shot(page, "upload")
        page.get_by_role("button", name=f"Commit {len(exports)} file(s)").click()
        page.get_by_text("Saved:").wait_for()
        page.get_by_role("button", name="Open the clinic overview").click()

        # Worklist, most urgent first; open the top patient.
        page.get_by_role("heading", name="Clinic overview").wait_for()
        page.locator("[class*='st-key-worklist'] [data-testid='stDataFrame']").wait_for()
        _wait_idle(page)
        page.wait_for_timeout(1500)
        assert "Hold now" in page.inner_text("body")
        _shot(page, "worklist")
        page.locator(".st-key-open_patient button").click()
        page.locator(".js-plotly-plot").first.wait_for()
        _wait_idle(page)
        page.set_viewport_size({"width": 1600, "height": 2300})
        page.wait_for_timeout(1500)
        assert "Upcoming" in page.inner_text("body")
        _shot(page, "patient_view")

        # Visit view: initials and age, no MRN, no names, no navigation; the summary downloads.
        page.set_viewport_size({"width": 1600, "height": 1500})
        page.locator(".st-key-to_visit button").click()
        page.locator(".st-key-end_visit").wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        _wait_idle(page)
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        for patient in samples.PATIENTS:
            assert patient.mrn not in body and patient.name not in body
        assert page.locator("[data-testid='stSidebarNav']").count() == 0
        _shot(page, "visit_view")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download care team summary with sources (HTML)").click()
        html = Path(download.value.path()).read_text(encoding="utf-8")
        assert "@media print" in html and "Plotly.newPlot" in html
        assert not any(p.mrn in html or p.name in html for p in samples.PATIENTS)
        # The patient's handout: a separate download, one small page with a static chart.
        with page.expect_download() as download:
            page.get_by_role("button", name="Download patient handout (HTML, prints on one page)").click()
        handout = Path(download.value.path()).read_text(encoding="utf-8")
        assert "@page" in handout and "<svg" in handout and "plotly" not in handout.lower()
        assert len(handout.encode("utf-8")) < 1_000_000
        assert not any(p.mrn in handout or p.name in handout for p in samples.PATIENTS)
        sheet = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 px per inch
        sheet.set_content(handout)
        _shot(sheet, "handout")
        sheet.close()
        assert not page.locator("[data-testid='stExpandSidebarButton']").is_visible(), "opens an empty sidebar"

        # Browser Back from the visit view lands on /patient?visit=1: still the visit view, no identity.
        page.go_back()
        page.wait_for_timeout(500)
        page.locator(".st-key-end_visit").wait_for()
        _wait_idle(page)
        page.wait_for_timeout(1000)
        assert "visit=1" in page.url
        body = page.inner_text("body")
        for patient in samples.PATIENTS:
            assert patient.mrn not in body and patient.name not in body, page.url
        assert "MRN" not in body
        assert page.locator("[data-testid='stSidebarNav']").count() == 0
        browser.close()
    # Nothing this walk loaded (fonts, icons, the page icon, scripts) came from anywhere but the app.
    assert len(requests) > 20 and _foreign(requests, server) == []


def test_sample_clinic_keeps_its_today_across_pages(chromium_path, server):
    """The sample clinic is assessed as of its fixed today on every page, and the sidebar date shows it
    (the browser used to keep the real date in the widget and send it back on the next page). Walking
    every page, the browser asks nothing of any origin but the app's."""
    from playwright.sync_api import sync_playwright

    from lenadash import samples

    expected = f"{samples.TODAY:%A %d %B %Y}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(90_000)
        requests = _record_requests(page)
        page.goto(server + "/")
        page.get_by_role("button", name="Explore the sample clinic").click()
        page.locator(".js-plotly-plot").first.wait_for()
        _wait_idle(page)
        date_box = page.locator("[data-testid='stSidebar'] [data-testid='stDateInput'] input")
        assert date_box.input_value() == samples.TODAY.isoformat()
        for title in ("Clinic overview", "Patient", "Upload", "Setup", "Clinic overview"):
            page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
            _wait_idle(page)
            page.wait_for_timeout(800)
            _wait_idle(page)
            assert date_box.input_value() == samples.TODAY.isoformat(), title
            if title == "Clinic overview":
                assert f"Assessed as of {expected}" in page.inner_text("body")
        browser.close()
    # every page of the app, the sample clinic loaded: no request to another origin
    assert len(requests) > 20 and _foreign(requests, server) == []


def _handshake(url: str, *, host: str, origin: str) -> str:
    """The status line the server answers a WebSocket upgrade to /_stcore/stream with these headers."""
    port = int(url.rsplit(":", 1)[1])
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Origin: {origin}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_dns_rebinding_handshake_is_refused(server):
    """A page on another name that resolves to 127.0.0.1 (DNS rebinding) sends its own name as Host and
    Origin, so the same-origin check passes: only server.allowedHosts refuses it. The app's own names work."""
    port = server.rsplit(":", 1)[1]
    for name in ("rebind.example.invalid", "127.0.0.1.example.invalid"):
        answer = _handshake(server, host=f"{name}:{port}", origin=f"http://{name}:{port}")
        assert " 101 " not in answer, answer
    for name in ("127.0.0.1", "localhost"):
        answer = _handshake(server, host=f"{name}:{port}", origin=f"http://{name}:{port}")
        assert " 101 " in answer, answer
    # the right Host with a foreign Origin (a cross-site page) is refused too
    answer = _handshake(server, host=f"127.0.0.1:{port}", origin="http://rebind.example.invalid")
    assert " 101 " not in answer, answer
