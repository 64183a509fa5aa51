"""Time to first chart in a real browser: `streamlit run app.py` on the benchmark clinic, Chromium via Playwright.

Setup (not timed): the clinic imported once (bench/_common.py:clinic_db), then the server started on
127.0.0.1 (a free port) against it, as tests/test_e2e_browser.py starts it. Then, each in a new browser
page (a full page load: a new Streamlit session):

- floor: /start (the Start page: the framework, the WebSocket and the browser's own work, no clinic data)
  until its buttons show;
- /overview until the worklist table shows;
- /patient?mrn=... until the chart's SVG (`.js-plotly-plot .main-svg`) is present: time to first chart.

The first round is the server process's first sessions (its imports and caches cold); later rounds
(`--repeat`) are new sessions on a warm server; best and range are reported for both. Needs Debian's
chromium (/usr/bin/chromium); without it the script says so and exits 0 (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, REPO, best_and_range, clinic_db, machine, save, table

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SIZES = {"400k": (200, 1975), "1M": (1000, 1000), "5M": (5000, 1000)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    data = OUT / "browser_data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LENADASH_DATA_DIR": str(data),
        "LENADASH_DATABASE_URL": f"sqlite:///{db}",
        "LENADASH_DEMO_DATABASE_URL": f"sqlite:///{data / 'demo.sqlite'}",
    }
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")


def _timed_load(browser, url: str, selector: str, timeout_s: float) -> float:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.set_default_timeout(timeout_s * 1000)
    try:
        t0 = time.perf_counter()
        page.goto(url)
        page.locator(selector).first.wait_for(state="attached")
        return time.perf_counter() - t0
    finally:
        page.close()


def measure(db: Path, mrn: str, rounds: int, timeout_s: float) -> list[dict]:
    from playwright.sync_api import sync_playwright

    proc, url = _server(db, OUT / "bench_browser_server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            out = []
            for _ in range(rounds):
                start = _timed_load(browser, f"{url}/start", "[data-testid='stButton']", timeout_s)
                overview = _timed_load(
                    browser, f"{url}/overview", "[class*='st-key-worklist'] [data-testid='stDataFrame']", timeout_s
                )
                chart = _timed_load(browser, f"{url}/patient?mrn={mrn}", ".js-plotly-plot .main-svg", timeout_s)
                out.append({"floor_start_s": start, "overview_s": overview, "first_chart_s": chart})
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1M", choices=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="rounds after the first (new sessions, warm server)")
    parser.add_argument("--quick", action="store_true", help="20 patients x 200 results, the first round only")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print("bench_browser: /usr/bin/chromium is missing (apt-get install chromium): not measured")
        return 0
    size, (n, m) = ("quick", (20, 200)) if args.quick else (args.size, SIZES[args.size])
    repeat = 0 if args.quick else args.repeat
    db = clinic_db(n, m)
    mrn = f"LB{(n // 2) + 1:06d}"
    rounds = measure(db, mrn, 1 + repeat, timeout_s=1800)
    cold, warm = rounds[0], rounds[1:]
    rows = []
    for key, what in (
        ("floor_start_s", "floor: /start until its buttons show"),
        ("overview_s", "/overview until the worklist shows"),
        ("first_chart_s", "/patient?mrn= until the chart's SVG: first chart"),
    ):
        rows.append([what, f"{cold[key]:.2f}", best_and_range([r[key] for r in warm])["text"] if warm else ""])
    print(f"{size} ({n * m:,} results), real Chromium, each a full page load (a new session):")
    print(table(rows, ["seconds", "first session of the server", "later sessions: best (range)"]))
    path = save(
        "bench_browser_quick" if args.quick else "bench_browser",
        {"size": size, "results": n * m, "mrn_opened": mrn, "rounds": rounds, "machine": machine()},
    )
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
