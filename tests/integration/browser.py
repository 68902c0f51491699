"""A real headless browser for the page's tests: Debian's chromium and chromedriver, through Selenium.

No browser is downloaded: the test uses /usr/bin/chromium and /usr/bin/chromedriver
(`.ci/run` installs the packages chromium and chromium-driver when they are missing).
Without them the browser tests skip, saying why; under CI=true they fail instead, so CI
cannot pass without having run them.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    reason = f"{' and '.join(missing)} missing: install Debian's chromium and chromium-driver (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the browser tests must run")
    pytest.skip(reason)


@contextmanager
def chromium(*, window: str = "1280,1000", capabilities: Mapping[str, Any] | None = None) -> Iterator[webdriver.Chrome]:
    """One headless Chromium of `window` size ("width,height"), its profile in a temporary
    folder removed afterwards; `capabilities` such as goog:loggingPrefs are passed on."""
    require_browser()
    profile = tempfile.mkdtemp(prefix="casewatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={window}", f"--user-data-dir={profile}", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking"):  # fmt: skip
        options.add_argument(argument)
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download a browser or a driver
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
