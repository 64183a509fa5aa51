"""Issue 9 items 1 and 7 in a real browser at 1366x768 (a clinic laptop): every address names the same
page with or without data, a clinic of lab files only shows its patients for review, and the worklist
fits without sideways scrolling, opens a row from the keyboard and focuses search on "/"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_e2e_browser import (  # the same server (empty temporary clinic) and Chromium as the main walk
    CHROMIUM_ARGS,
    _foreign,
    _record_requests,
    _shot,
    _wait_idle,
    chromium_path,  # noqa: F401 - a fixture
    server,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.browser  # conftest puts the browser tests on one xdist worker

REPO = Path(__file__).resolve().parents[1]
LAPTOP = {"width": 1366, "height": 768}
NOT_FOUND = "Page not found"


def _settled(page) -> str:
    _wait_idle(page)
    page.wait_for_timeout(1200)
    _wait_idle(page)
    return page.inner_text("body")


def _open(page, url: str) -> str:
    page.goto(url)
    page.locator("[data-testid='stMain']").wait_for()
    return _settled(page)


def _heading(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def _walk_addresses(page, server_url: str) -> dict[str, tuple[str, str]]:
    """Each stable address -> (final URL path, h1)."""
    seen = {}
    for path in ("/start", "/overview", "/upload", "/setup", "/patient"):
        _open(page, server_url + path)
        # Streamlit says "Page not found" (and moves to "/") a few seconds after an address it does not
        # route - e.g. the default page's own url_path, as /start was on a first run and /overview after
        page.wait_for_timeout(4500)
        body = page.inner_text("body")
        assert NOT_FOUND not in body, (path, body[:300])
        seen[path] = (page.url.removeprefix(server_url).split("?")[0], _heading(page))
    return seen


def test_addresses_keep_their_pages_and_lab_files_alone_show_patients(chromium_path, server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from lenadash import imports, store

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(90_000)
        requests = _record_requests(page)

        # An empty clinic: every address is its own page; "/" chooses Start.
        empty = _walk_addresses(page, server)
        _open(page, server + "/")
        page.wait_for_url(server + "/start")
        assert {path: url for path, (url, _) in empty.items()} == {p: p for p in empty}
        assert empty["/start"][1] == "lenadash" and empty["/overview"][1] == "Clinic overview"
        _open(page, server + "/overview")
        page.get_by_role("button", name="Explore the sample clinic").wait_for()
        _shot(page, "overview_empty_1366")

        # The clinic uploads one lab export and nothing else (the server reads the same database).
        engine = store.make_engine(f"sqlite:///{tmp_path / 'clinic.sqlite'}")
        with store.open_session(engine) as s:
            imports.import_paths(session=s, paths=[REPO / "sample_data" / "epic_long_us.csv"])
        engine.dispose()

        # With data: the same addresses mean the same pages; "/" chooses the overview.
        full = _walk_addresses(page, server)
        _open(page, server + "/")
        page.wait_for_url(server + "/overview")
        assert {path: heading for path, (_, heading) in full.items() if path != "/patient"} == {
            path: heading for path, (_, heading) in empty.items() if path != "/patient"
        }
        assert {path: url for path, (url, _) in full.items()} == {p: p for p in full}

        # Every MRN of the lab file is on the worklist, for review.
        body = _open(page, server + "/overview")
        assert "No patients yet" not in body
        grid = page.locator("[class*='st-key-worklist'] [data-testid='stDataFrame']")
        grid.wait_for()
        _shot(page, "overview_labs_only_1366")

        # /patient?mrn=... opens that patient: review, why, and the way to add the course.
        body = _open(page, server + "/patient?mrn=LD0002")
        assert _heading(page) == "LD0002" and "add a treatment course" in body, body[:500]
        _shot(page, "patient_without_course_1366")
        page.get_by_role("button", name="Add a treatment course for LD0002").click()
        page.wait_for_url(server + "/setup")
        _settled(page)
        assert _heading(page) == "Setup"

        # An MRN this clinic does not have is said, never swapped for another patient.
        body = _open(page, server + "/patient?mrn=NOPE1")
        assert "No patient with MRN NOPE1" in body and "LD0001" not in body
        browser.close()
    assert _foreign(requests, server) == []


def _grid_widths(page) -> dict:
    return page.evaluate(
        """() => {
        const grid = document.querySelector("[class*='st-key-worklist'] [data-testid='stDataFrame']");
        const scroller = grid.querySelector('.dvn-scroller');
        return {scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
                right: grid.getBoundingClientRect().right, viewport: window.innerWidth,
                pageScrollWidth: document.documentElement.scrollWidth};
    }"""
    )


def _active(page) -> dict:
    return page.evaluate(
        """() => { const a = document.activeElement;
        return {tag: a.tagName, label: a.getAttribute('aria-label') || '', text: a.textContent || '',
                inGrid: !!a.closest("[class*='st-key-worklist'] [data-testid='stDataFrame']")}; }"""
    )


def test_worklist_fits_a_laptop_and_opens_rows_from_the_keyboard(chromium_path, server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(90_000)
        requests = _record_requests(page)
        _open(page, server + "/")
        page.get_by_role("button", name="Explore the sample clinic").click()
        page.wait_for_url(server + "/overview")
        page.locator("[class*='st-key-worklist'] [data-testid='stDataFrame'] .dvn-scroller").wait_for()
        _settled(page)

        # No sideways scrolling, in the grid or the page, with the sidebar open.
        assert page.locator("[data-testid='stSidebar']").bounding_box()["width"] > 250
        widths = _grid_widths(page)
        assert widths["scrollWidth"] <= widths["clientWidth"], widths
        assert widths["right"] <= widths["viewport"] and widths["pageScrollWidth"] <= widths["viewport"], widths
        _shot(page, "worklist_1366")

        # "/" (not typing anywhere) puts the cursor in the search box.
        page.mouse.move(5, 5)
        page.keyboard.press("/")
        assert _active(page)["label"] == "Find MRN or name"
        assert page.locator(".st-key-filter_search input").input_value() == ""  # the "/" was not typed

        # From the search box, Tab into the table, arrow down one row, Enter: that row's patient opens.
        tabbed = []
        for _ in range(12):
            page.keyboard.press("Tab")
            page.wait_for_timeout(250)  # the grid moves its focus to a cell after the canvas gets it
            tabbed.append(_active(page))
            if tabbed[-1]["inGrid"] and tabbed[-1]["tag"] in ("TD", "CANVAS"):  # the grid's cells
                break
        assert _active(page)["inGrid"], [(t["tag"], t["label"], t["inGrid"]) for t in tabbed]
        page.keyboard.press("ArrowRight")  # the Patient column ("MRN - name")
        page.wait_for_timeout(250)
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(250)
        assert _active(page)["tag"] == "TD", _active(page)  # a cell of the grid has the cursor
        cell = _active(page)["text"]
        mrn = cell.split(" - ")[0].split(" (")[0].strip()
        assert mrn.startswith("LD"), cell
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(re.escape(f"{server}/patient?mrn={mrn}") + "$"))
        body = _settled(page)
        assert NOT_FOUND not in body and f"MRN {mrn}" in body
        _shot(page, "worklist_keyboard_opened_1366")

        # Space works too, back on the overview.
        page.locator("[data-testid='stSidebarNav'] a", has_text="Clinic overview").first.click()
        page.wait_for_url(server + "/overview")
        page.locator("[class*='st-key-worklist'] [data-testid='stDataFrame'] .dvn-scroller").wait_for()
        _settled(page)
        page.keyboard.press("/")
        for _ in range(12):
            page.keyboard.press("Tab")
            page.wait_for_timeout(250)  # the grid moves its focus to a cell after the canvas gets it
            if _active(page)["inGrid"] and _active(page)["tag"] in ("TD", "CANVAS"):
                break
        page.wait_for_timeout(400)
        page.keyboard.press("Space")
        page.wait_for_url(re.compile(re.escape(f"{server}/patient?mrn=") + r"LD\d+$"))
        browser.close()
    assert _foreign(requests, server) == []
