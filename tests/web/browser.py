"""Headless Chromium for the console's browser tests: Debian's ``chromium`` driven by its
``chromium-driver`` through Selenium (never a browser or driver downloaded by a tool).

:class:`Browser` starts chromedriver with a marker in its environment (inherited by every
Chromium process it starts), a fresh user-data-dir and the flags below; :meth:`Browser.quit`
ends the session, then finds every process still carrying the marker, SIGKILLs it and
reports it, so a test can fail when the browser leaked a process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sagaline.runtime.procs import kill_all, pids_with_tag

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--disable-breakpad",
    "--disable-crash-reporter",
)
MARKER = "SAGALINE_TEST_BROWSER"


def available() -> str | None:
    """None when the browser tests can run here, else why not."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} missing (apt-get install chromium chromium-driver; .ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra)"
    return None


class Browser:
    """One headless Chromium session (see the module docstring)."""

    def __init__(self, screenshots: Path | None = None) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.tag = uuid.uuid4().hex
        self.profile = tempfile.mkdtemp(prefix="sagaline-chromium-")
        self.screenshots = screenshots
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        env = {**os.environ, MARKER: self.tag}
        service = Service(executable_path=CHROMEDRIVER, env=env, log_output=os.devnull)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)

    def get(self, url: str) -> None:
        self.driver.get(url)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def read(self, selector: str) -> dict[str, str] | None:
        """The element's ``data-*`` attributes and text, read in one go (live parts replace elements
        under a test's feet), or None when there is no such element."""
        return self.driver.execute_script(
            "var e = document.querySelector(arguments[0]);"
            "return e ? Object.assign({text: e.textContent}, e.dataset) : null;",
            selector,
        )

    def wait(self, condition: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> Any:
        """Poll ``condition`` until it returns something truthy (stale elements count as not yet)."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                found = condition()
                if found:
                    return found
            except (NoSuchElementException, StaleElementReferenceException) as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"waited {timeout} s for {what} (last error: {last}); page: {self.driver.current_url}")

    def shot(self, name: str) -> Path | None:
        """Save the whole page (beyond the window) as ``<screenshots>/<name>.png``."""
        if self.screenshots is None:
            return None
        import base64

        self.screenshots.mkdir(parents=True, exist_ok=True)
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        path = self.screenshots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def quit(self) -> set[int]:
        """End the session; return the pids of browser processes that had to be killed."""
        try:
            self.driver.quit()
        finally:
            leftovers = set()
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                leftovers = pids_with_tag(self.tag, MARKER)
                if not leftovers:
                    break
                time.sleep(0.1)
            if leftovers:
                kill_all(self.tag, variable=MARKER)
            shutil.rmtree(self.profile, ignore_errors=True)
        return leftovers
