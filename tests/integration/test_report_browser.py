"""The QA report in a real headless Chromium (Debian's chromium and chromium-driver, through
Selenium): it loads with no console error and no network request, every chart is drawn,
it prints on A4, and screenshots are written (CASEWATCH_REPORT_SCREENSHOTS=docs keeps them:
that is how docs/report.png and docs/report-charts.png were made).

Without Chromium the test skips, saying so; under CI=true it fails instead, since CI must
install it (.ci/run)."""

import base64
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_casewatch.test_replay_cli import casewatch

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
A4_POINTS = (595, 842)  # 210 x 297 mm


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing under CI=true: .ci/run must install chromium and "
                        "chromium-driver")  # fmt: skip
        pytest.skip(f"no headless browser: {CHROMIUM} and {CHROMEDRIVER} (Debian's chromium, chromium-driver) "
                    "are not installed")  # fmt: skip
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,1800", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_loads_offline_draws_every_chart_and_prints_on_a4(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    events = tmp_path / "council.jsonl"
    page = tmp_path / "report.html"
    assert (
        casewatch("simulate", "--children", "400", "--months", "24", "--seed", "3", "-o", str(events)).returncode == 0
    )
    done = casewatch("report", str(events), "-o", str(page))
    assert done.returncode == 0, done.stderr
    url = page.as_uri()
    browser.get(url)
    assert browser.title.startswith("casewatch QA report")

    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg.chart')].map(svg => ({id: svg.id,"
        " width: svg.getBoundingClientRect().width, title: svg.querySelector('title')?.textContent || '',"
        " desc: svg.querySelector('desc')?.textContent || '',"
        " marks: [...svg.querySelectorAll('.mark')].filter(m => m.getBoundingClientRect().width > 0).length,"
        " lines: svg.querySelectorAll('polyline').length}))"
    )
    assert [c["id"] for c in charts] == ["funnel", "pchart", "cohort", "alertload"]
    for chart in charts:
        assert chart["width"] > 300 and chart["marks"] > 0, chart  # drawn, with marks on it
        assert chart["title"] and chart["desc"], chart  # the text alternative
    assert all(c["lines"] > 0 for c in charts if c["id"] != "alertload")
    # Every chart has its data table just after it.
    tables = browser.execute_script(
        "return [...document.querySelectorAll('figure')].map(f => { let n = f.nextElementSibling;"
        " while (n && n.tagName !== 'TABLE' && n.tagName !== 'DETAILS') n = n.nextElementSibling;"
        " return n ? n.querySelectorAll('tr').length : 0; })"
    )
    assert len(tables) == 4 and all(rows > 1 for rows in tables)

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    by_page, anywhere = set(), set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            params = message["params"]
            anywhere.add(params["request"]["url"])
            if params.get("documentURL") == url or params["request"]["url"] == url:
                by_page.add(params["request"]["url"])
    assert by_page == {url}  # the page itself, and nothing else it asked for
    # nor anything outside the machine from any document (the browser's own new-tab page is chrome://)
    assert not [u for u in anywhere if not u.startswith(("file:", "chrome:", "chrome-untrusted:", "data:"))]

    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    boxes = {tuple(round(float(v)) for v in box) for box in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)}
    assert boxes == {A4_POINTS}, boxes
    assert len(re.findall(rb"/Type /Page\b", pdf)) >= 2

    shots = [tmp_path / "report.png", tmp_path / "report-charts.png"]
    assert browser.save_screenshot(str(shots[0]))
    browser.execute_script(
        "document.getElementById('funnel').closest('figure').previousElementSibling.scrollIntoView()"
    )
    assert browser.save_screenshot(str(shots[1]))
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    keep = os.environ.get("CASEWATCH_REPORT_SCREENSHOTS")
    if keep:
        for shot in shots:
            shutil.copyfile(shot, Path(keep) / shot.name)
