"""Issue 9's "Done when", walked in a real browser at 1366x768 (a clinic laptop) and 1920x1080 (a screen
share) against an EMPTY clinic: Start -> upload one lab file only -> the patient listed for review ->
add the treatment course on Setup -> the patient page with the decision and both count panels above the
fold -> Accept the hold -> the visit view -> the one-page handout.

Screenshots walk_<n>_<step>_<width>.png go to tests/artifacts/ (and docs/screenshots/ with
LENADASH_SCREENSHOTS=docs); each page's scroll height and the handout's bytes and pages go to
tests/artifacts/walk_measures.json. Nothing the browser asks for may leave the app's origin."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from test_browser_fold import TRUNCATED, _inside
from test_e2e_browser import (  # the same server (empty temporary clinic) and Chromium as the other walks
    ARTIFACTS,
    CHROMIUM_ARGS,
    _foreign,
    _record_requests,
    _shot,
    _wait_idle,
    chromium_path,  # noqa: F401 - a fixture
    server,  # noqa: F401 - a fixture
)
from test_handout_browser import pdf_pages

pytestmark = pytest.mark.browser  # conftest puts the browser tests on one xdist worker

REPO = Path(__file__).resolve().parents[1]
SIZES = ((1366, 768), (1920, 1080))
# The one lab file the new clinic uploads, and the patient in it whose platelets (22 on 2 Nov) hold
# lenalidomide on the sample clinic's today (MM, US PI 2.1 Table 1: hold below 30, resume at 20 mg).
LAB_FILE = REPO / "sample_data" / "epic_long_us.csv"
MRN = "LD0016"
AS_OF = dt.date(2026, 11, 20)  # samples.TODAY: the sample data's "today" (asserted below)
RULE_ID = re.compile(r"\b(?:MM|MDS|MCL|FL|MZL|CLINICIAN|GRADE3|CYCLE|REMS|NO)-[A-Z0-9-]+\b")
MEASURES = ARTIFACTS / "walk_measures.json"

# The page's full height: Streamlit scrolls its main section, not the document, so both are read.
HEIGHTS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return {document: document.scrollingElement.scrollHeight, main: main ? main.scrollHeight : null,
          viewport: window.innerHeight};
}"""


def _course() -> dict:
    """LD0016's course as the sample clinic's patients file has it (the walk types it into Setup)."""
    with open(REPO / "sample_data" / "patients.csv", newline="", encoding="utf-8") as f:
        return next(row for row in csv.DictReader(f) if row["mrn"] == MRN)


def _settled(page) -> str:
    _wait_idle(page)
    page.wait_for_timeout(1200)
    _wait_idle(page)
    return page.inner_text("body")


def _type_date(page, label: str, day: str) -> None:
    """A Streamlit date field (year, month and day segments, spinbuttons named "<segment>, <label>"): type
    the digits from the year on (each segment moves on when full), then click outside the field - the
    widget sends its date when the whole field loses focus (Enter and Tab stay inside it)."""
    year = page.get_by_role("spinbutton", name=f"year, {label}", exact=True)
    year.scroll_into_view_if_needed()
    year.focus()  # not a click: the sidebar's sticky header can lie over the sidebar's date box
    page.keyboard.type(day.replace("-", ""))
    page.locator("[data-testid='stMain'] h1").first.click()
    page.wait_for_timeout(300)


def _choose(page, label: str, option: str) -> None:
    """Pick an option of the Streamlit selectbox labelled `label` (in the page's main part)."""
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def _step(page, measures: dict, n: int, step: str, width: int) -> None:
    """Screenshot walk_<n>_<step>_<width>.png and record the page's heights."""
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    measures[f"{n}_{step}"] = page.evaluate(HEIGHTS)
    _shot(page, f"walk_{n}_{step}_{width}")


def _fold(page, width: int, height: int) -> list[str]:
    """What keeps the decision off the first screen: identity line, card, Accept, the chart and each of its
    panels (dose strip, ANC, platelets) inside the viewport; no text cut off; the card's dose lines whole."""
    problems = []
    chart = page.locator("[data-testid='stMain'] .js-plotly-plot").first
    parts = {
        "identity line": page.locator(".st-key-ld_ident"),
        "next-action card": page.locator(".ld-next").first,
        "Accept": page.get_by_role("button", name="Accept: hold"),
        "chart": chart,
    }
    # each panel's plot area: its drag rectangle (the subplot group's box also counts clipped-off grid lines)
    for i, panel in enumerate(chart.locator("g.draglayer rect.nsewdrag").all()):
        parts[f"chart panel {i + 1}"] = panel
    for name, part in parts.items():
        if not _inside(part.bounding_box(), width, height):
            problems.append(f"{name} {part.bounding_box()} not inside {width}x{height}")
    # the panels' axis titles (ytitle, y2title, y3title)
    titles = [t or "" for t in chart.locator("text[class^='y'][class$='title']").all_text_contents()]
    if not (any("ANC" in t for t in titles) and any("Platelets" in t for t in titles)):
        problems.append(f"the fold chart lacks the ANC or platelet panel: {titles}")
    if len(parts) - 4 < 3:
        problems.append(f"the fold chart has {len(parts) - 4} panels, not dose + ANC + platelets")
    cut = page.locator(".ld-next").first.evaluate(
        "c => [...c.querySelectorAll('h2, p, li')].filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.textContent.trim())"
    )
    problems += [f"card text cut: {t}" for t in cut]
    problems += [f"text cut off: {t}" for t in page.evaluate(TRUNCATED)]
    return problems


def _upload_lab_file_only(page, server_url: str, measures: dict, width: int) -> None:
    """Steps 1-2: the empty clinic's Start page; one lab file uploaded and committed."""
    page.goto(server_url + "/")
    page.get_by_role("button", name="Upload your exports").wait_for()
    body = _settled(page)
    assert "Explore the sample clinic" in body
    _step(page, measures, 1, "start", width)

    page.get_by_role("button", name="Upload your exports").click()
    page.get_by_text("Drop lab exports").wait_for()
    page.locator("input[type='file']").set_input_files([str(LAB_FILE)])
    page.get_by_role("button", name="Commit 1 file(s)").click()
    page.get_by_text("Saved:").wait_for()
    body = _settled(page)
    assert "REVIEW" in body and "Setup" in body, body[-1500:]  # unregistered MRNs: created for review
    _step(page, measures, 2, "upload", width)


def _review_then_setup(page, measures: dict, width: int) -> None:
    """Steps 3-5: the overview lists the patient for review; its page offers "Add a treatment course";
    Setup takes the course of the sample clinic's patients file."""
    page.get_by_role("button", name="Open the clinic overview").click()
    page.get_by_role("heading", name="Clinic overview").wait_for()
    _settled(page)
    _type_date(page, "Assess as of", AS_OF.isoformat())
    page.get_by_text(f"Assessed as of {AS_OF:%A %d %B %Y}").wait_for()
    grid = page.locator("[class*='st-key-worklist'] [data-testid='stDataFrame']")
    grid.wait_for()
    _settled(page)
    cells = grid.evaluate("g => g.textContent")  # the grid's accessible table (the canvas has no text)
    assert f"{MRN} (no course yet)" in cells and "add course" in cells, cells[:800]
    _step(page, measures, 3, "overview", width)

    page.locator("[data-testid='stSidebarNav'] a", has_text="Patient").first.click()
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    page.keyboard.type(MRN)
    page.get_by_role("option", name=re.compile(MRN)).first.click()
    add = page.get_by_role("button", name=f"Add a treatment course for {MRN}")
    add.wait_for()
    body = _settled(page)
    assert "add a treatment course" in body
    _step(page, measures, 4, "review", width)

    add.click()
    page.get_by_role("heading", name="Setup").wait_for()
    page.get_by_text(f"Adding a treatment course for {MRN}").wait_for()
    _settled(page)
    course = _course()
    _choose(page, "Indication", f"{course['indication']} - Multiple myeloma (Rd)")
    _settled(page)
    page.get_by_label("Name", exact=True).fill(course["name"])
    _choose(page, "Sex", course["sex"])
    _type_date(page, "Birth date", course["birth_date"])
    page.get_by_label("Weight (kg)", exact=True).fill(course["weight_kg"])
    page.get_by_label("Starting dose (mg)", exact=True).fill(course["starting_dose_mg"])
    _type_date(page, "Start date", course["start_date"])
    _choose(page, "Schedule", course["schedule"])
    page.get_by_label("Combination (blank = default)", exact=True).fill(course["combination"])
    page.wait_for_timeout(300)
    _step(page, measures, 5, "setup", width)
    page.get_by_role("button", name="Save patient and course").click()
    page.locator("[data-testid='stAlertContentSuccess']").filter(has_text=MRN).wait_for()
    _settled(page)


def _decision_and_accept(page, measures: dict, width: int, height: int) -> None:
    """Steps 6-7: the patient page's first screen holds the decision; Accept records the hold."""
    page.locator("[data-testid='stSidebarNav'] a", has_text="Patient").first.click()
    page.locator(".st-key-ld_ident", has_text=f"MRN {MRN}").wait_for()
    page.locator("[data-testid='stMain'] .js-plotly-plot").first.wait_for()
    _settled(page)
    page.wait_for_timeout(800)
    card = page.locator(".ld-next").first
    card.get_by_text("Resume at 20 mg when Platelets >= 30").wait_for()
    ident = page.locator(".st-key-ld_ident").inner_text()
    assert "Parker Sample" in ident and "Multiple myeloma" in ident and "cycle 8 day 5" in ident, ident
    problems = _fold(page, width, height)
    _step(page, measures, 6, "patient", width)
    assert not problems, "\n".join(problems)

    page.get_by_role("button", name="Accept: hold").click()
    page.get_by_role("button", name="Accepted (recorded)").wait_for()
    _settled(page)
    assert f"Decision recorded {AS_OF:%d %b %Y}: hold" in page.locator(".ld-next").first.inner_text()
    _step(page, measures, 7, "accepted", width)


def _visit_and_handout(browser, page, measures: dict, width: int) -> dict:
    """Steps 8-9: the visit view in the patient's words; the handout, one page at A4 and at Letter."""
    from lenadash.dashboard import handout

    page.get_by_role("button", name="Visit view").click()  # by name: under load a stale copy shares the key
    page.get_by_role("button", name="End visit").wait_for()
    page.locator("[data-testid='stMain'] .js-plotly-plot").first.wait_for()
    body = _settled(page)
    course = _course()
    assert MRN not in body and "MRN" not in body and course["name"] not in body, body[:600]
    assert not RULE_ID.search(body) and "US PI" not in body, RULE_ID.search(body)
    assert page.get_by_role("button", name=re.compile("^Accept")).count() == 0
    assert page.get_by_role("button", name="Modify").count() == 0
    chart_text = page.locator("[data-testid='stMain'] .js-plotly-plot").first.text_content() or ""
    assert "pause / restart 30" in chart_text and "hold <" not in chart_text, chart_text[:400]
    assert "20 mg" in page.locator(".ld-card").first.inner_text()
    _step(page, measures, 8, "visit", width)

    with page.expect_download() as download:
        page.get_by_role("button", name=handout.HANDOUT_LABEL).click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert MRN not in html and course["name"] not in html and not RULE_ID.search(html)
    sheet = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 px per inch
    sheet.set_content(html)
    printed = {fmt: pdf_pages(sheet.pdf(format=fmt, print_background=True)) for fmt in ("A4", "Letter")}
    measures["9_handout"] = {"bytes": len(html.encode("utf-8")), "pages": printed}
    measures["9_handout"].update(sheet.evaluate(HEIGHTS))
    _shot(sheet, f"walk_9_handout_{width}")
    sheet.close()
    return measures["9_handout"]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_walk_from_an_empty_clinic_to_the_handout(chromium_path, server, width, height):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from lenadash import samples

    assert samples.TODAY == AS_OF
    measures: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(90_000)
        requests = _record_requests(page)
        _upload_lab_file_only(page, server, measures, width)
        _review_then_setup(page, measures, width)
        _decision_and_accept(page, measures, width, height)
        printed = _visit_and_handout(browser, page, measures, width)
        browser.close()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    everything = json.loads(MEASURES.read_text(encoding="utf-8")) if MEASURES.exists() else {}
    everything[f"{width}x{height}"] = measures
    MEASURES.write_text(json.dumps(everything, indent=1, sort_keys=True), encoding="utf-8")
    assert printed["pages"] == {"A4": 1, "Letter": 1}, printed
    assert printed["bytes"] < 1_000_000, printed
    assert len(requests) > 20 and _foreign(requests, server) == []
