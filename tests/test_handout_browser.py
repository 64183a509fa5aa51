"""The handout printed by a real Chromium: exactly one A4 page and one Letter page for every sample patient."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import handout_cases as cases
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
A4_PX = {"width": 794, "height": 1123}  # 210 x 297 mm at 96 px per inch

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            pytest.fail("LENADASH_REQUIRE_SERVICES=1 but /usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("install Debian's chromium (apt-get install chromium) to run the browser test")
    return CHROMIUM


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: its /Type /Page objects (not the /Pages tree nodes)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_page_count_reads_pdf_pages():
    assert pdf_pages(b"<< /Type /Pages /Kids [3 0 R 4 0 R] >> << /Type /Page >> << /Type/Page >>") == 2


def test_every_sample_handout_prints_on_one_page(chromium_path):
    """Each sample patient's handout, loaded into Chromium and printed (page.pdf) at A4 and at Letter: one page
    each; and the longest handout a patient can get (cases.crowded_handout: every notice kind at once), whose
    chart gives way to the text. The sizes and page counts go to tests/artifacts/handout_sizes.json;
    LD0014's handout (held, the fullest chart) is screenshotted at A4 size for a look."""
    from playwright.sync_api import sync_playwright

    measured = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=A4_PX)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        for mrn in [*cases.mrns(), "crowded"]:
            html = cases.crowded_handout() if mrn == "crowded" else cases.handout(mrn)
            page.set_content(html)
            pages = {fmt: pdf_pages(page.pdf(format=fmt, print_background=True)) for fmt in ("A4", "Letter")}
            measured[mrn] = {"bytes": len(html.encode("utf-8")), **pages}
            if mrn == "LD0014":
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "handout.png"), full_page=True)
        browser.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "handout_sizes.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    if os.environ.get("LENADASH_SCREENSHOTS") == "docs":
        shutil.copy(ARTIFACTS / "handout.png", REPO / "docs" / "screenshots" / "handout.png")
    assert {mrn: (m["A4"], m["Letter"]) for mrn, m in measured.items()} == {mrn: (1, 1) for mrn in measured}
    assert all(m["bytes"] < 1_000_000 for m in measured.values()), measured
    assert requests == [], "the handout asks for nothing: no fonts, scripts or images from anywhere"
