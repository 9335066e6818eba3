"""Headless Chromium through Selenium, for the browser tests: the built book and the student's Lab.

Debian's `chromium` and `chromium-driver` (`.ci/run` installs them when it runs as root); a test
that finds them missing skips with the reason, or fails when COURSE_REQUIRE_BROWSER=1.
Everything listens on 127.0.0.1 only, and the browser is told that every other host does not
exist, so a test never waits on the network. Screenshots go to _build/artifacts/ (or
$COURSE_ARTIFACTS_DIR).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS_DIR", REPO_ROOT / "_build" / "artifacts"))
# Headless without a sandbox (CI runs as root), a tiny /dev/shm is fine, nothing but 127.0.0.1
# resolves, and nothing phones home.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # Timers and painting at full speed: a headless page that Chromium counts as hidden can
    # have its timers frozen, and a page script then never finishes.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # No smooth scrolling (the theme's Bootstrap scrolls smoothly unless the reader asks for
    # reduced motion): a click lands where the element is, not where it is scrolling to.
    "--force-prefers-reduced-motion",
)
WINDOW = (1280, 1000)
# Resolves once every image has been decoded and two frames have been painted.
PAINTED = """
const done = arguments[arguments.length - 1];
const decoded = Array.from(document.images).map(img => img.decode().catch(() => null));
// Two animation frames after the images are decoded, the page is painted. A loaded headless
// Chromium sometimes skips frames of a very tall viewport: then go on after 5 s.
setTimeout(() => done(false), 5000);
Promise.all(decoded).then(() =>
  requestAnimationFrame(() => requestAnimationFrame(() => done(true))));
"""
# A Korean font too (fonts-nanum), so that the glossary's 한국어 shows in screenshots.
DEBIAN_PACKAGES = ("chromium", "chromium-driver", "fonts-nanum")


def find_chromium() -> tuple[str, str] | None:
    """Paths of the Chromium binary and of chromedriver, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if driver is None and Path("/usr/lib/chromium/chromedriver").exists():
        driver = "/usr/lib/chromium/chromedriver"
    return (browser, driver) if browser and driver else None


def chromium_or_skip() -> tuple[str, str]:
    """Chromium and chromedriver, or skip the test saying how to get them."""
    found = find_chromium()
    if found:
        return found
    reason = (
        "no headless Chromium for the browser tests: as root, "
        f"`apt-get install {' '.join(DEBIAN_PACKAGES)}` (.ci/run does it)"
    )
    if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@contextlib.contextmanager
def chromium(window: tuple[int, int] = WINDOW) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, driven by Selenium; quits and cleans up after."""
    binary, chromedriver = chromium_or_skip()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--window-size={window[0]},{window[1]}"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # The console's messages, for the tests that find none of them is an error.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.page_load_strategy = "normal"
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(60)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: WebDriver, script: str, timeout: float = 15, poll: float = 0.2) -> Any:
    """Run JavaScript until it returns something truthy, and return that; None on timeout."""
    return poll_until(lambda: driver.execute_script(script), timeout, poll)


def poll_until(probe: Callable[[], Any], timeout: float, poll: float = 0.2) -> Any:
    """Call `probe` until it returns something truthy; return that, or its last value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll)


def screenshot(
    driver: WebDriver, name: str, full_page: bool = False, max_height: int = 6000
) -> Path:
    """Save a PNG of the viewport, or of the whole page up to max_height pixels, in ARTIFACTS.

    For the whole page the viewport is made as tall as the page first (what Puppeteer does), so
    that everything is laid out and painted as a reader scrolling would see it.
    """
    path = ARTIFACTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not full_page:
        driver.save_screenshot(str(path))
        return path
    width, height = driver.execute_script(
        "window.scrollTo(0, 0); return [window.innerWidth, document.documentElement.scrollHeight]"
    )
    metrics = {"width": width, "height": min(height, max_height), "deviceScaleFactor": 1}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False})
    try:
        driver.execute_async_script(PAINTED)
        data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.write_bytes(base64.b64decode(data))
    return path


def screenshot_parts(
    driver: WebDriver, name: str, part_height: int = 8000, max_height: int = 64000
) -> list[Path]:
    """Save the whole page (up to max_height pixels) in ARTIFACTS, in parts of part_height.

    One PNG is limited to about 16,000 pixels a side, and a long lesson is taller: the first
    part is `name`, the next ones `name` with -2, -3, ... before the suffix. As in screenshot,
    the viewport is made as tall as the page first, so that everything is laid out and painted.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = driver.execute_script(
        "window.scrollTo(0, 0); return [window.innerWidth, document.documentElement.scrollHeight]"
    )
    height = min(height, max_height)
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "mobile": False})
    stem, suffix = Path(name).stem, Path(name).suffix
    paths = []
    try:
        driver.execute_async_script(PAINTED)
        for index, top in enumerate(range(0, height, part_height)):
            clip = {"x": 0, "y": top, "width": width, "height": min(part_height, height - top)}
            data = driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "clip": {**clip, "scale": 1}}
            )["data"]
            path = ARTIFACTS / (name if index == 0 else f"{stem}-{index + 1}{suffix}")
            path.write_bytes(base64.b64decode(data))
            paths.append(path)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve a folder over HTTP on 127.0.0.1 and yield its base URL (ending in '/')."""
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"expected a folder to serve, got {directory}")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
