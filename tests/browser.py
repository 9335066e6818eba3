"""Headless Chromium for the book's reader test: install it, serve the book, drive it by WebDriver.

No Selenium: chromedriver speaks the W3C WebDriver protocol, plain JSON over HTTP, which
``urllib`` drives. Everything listens on 127.0.0.1 only, and the browser is told that every
other host does not exist, so a test never waits on the network.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The flags the course asks for, plus two that keep the browser quiet and hermetic: small
# containers have a tiny /dev/shm, and no host but 127.0.0.1 resolves.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
)
# Resolves once every image has been decoded and two frames have been painted.
PAINTED = """
const done = arguments[arguments.length - 1];
const decoded = Array.from(document.images).map(img => img.decode().catch(() => null));
Promise.all(decoded).then(() =>
  requestAnimationFrame(() => requestAnimationFrame(() => done(true))));
"""
# A Korean font too, so that the glossary's 한국어 shows in screenshots instead of empty boxes.
DEBIAN_PACKAGES = ("chromium", "chromium-driver", "fonts-nanum")


class BrowserUnavailable(RuntimeError):
    """Chromium or chromedriver is missing and cannot be installed here."""


class WebDriverError(RuntimeError):
    """chromedriver answered a command with an error."""


def find_chromium() -> tuple[str, str] | None:
    """Paths of the Chromium binary and of chromedriver, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if driver is None and Path("/usr/lib/chromium/chromedriver").exists():
        driver = "/usr/lib/chromium/chromedriver"
    return (browser, driver) if browser and driver else None


def ensure_chromium(timeout: float = 900) -> tuple[str, str]:
    """Find Chromium and chromedriver, installing the Debian packages first when they are missing.

    Raises BrowserUnavailable with the reason when that is impossible (not root, no apt-get,
    no package source reachable), so that the caller can skip with that reason.
    """
    found = find_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable("chromium is not installed and there is no apt-get to install it")
    if os.geteuid() != 0:
        raise BrowserUnavailable(
            "chromium is not installed and only root can install it: "
            f"apt-get install -y {' '.join(DEBIAN_PACKAGES)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    steps = (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES],
    )
    deadline = time.monotonic() + timeout
    for command in steps:
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, env=env,
                timeout=max(deadline - time.monotonic(), 1),
            )  # fmt: skip
        except subprocess.TimeoutExpired as error:
            message = f"{' '.join(command)} did not finish in {timeout:.0f} s"
            raise BrowserUnavailable(message) from error
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip()[-800:]
            raise BrowserUnavailable(f"{' '.join(command)} failed:\n{tail}")
    found = find_chromium()
    if not found:
        raise BrowserUnavailable(f"installed {' '.join(DEBIAN_PACKAGES)} but found no binaries")
    return found


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


class Browser:
    """One headless Chromium session with a fresh profile, driven through chromedriver."""

    def __init__(self, chromium: str, chromedriver: str, start_timeout: float = 30) -> None:
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self._driver = subprocess.Popen(
            [chromedriver, f"--port={port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.session: str | None = None
        try:
            self._wait_for_driver(start_timeout)
            options = {
                "binary": chromium,
                "args": [*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"],
            }
            capabilities = {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": {"pageLoad": 30_000, "script": 20_000, "implicit": 0},
                "goog:chromeOptions": options,
            }
            answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
            self.session = answer["sessionId"]
        except BaseException:
            self.quit()
            raise

    def _wait_for_driver(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._driver.poll() is not None:
                raise BrowserUnavailable(f"chromedriver exited with code {self._driver.returncode}")
            with contextlib.suppress(OSError, WebDriverError):
                if self._call("GET", "/status").get("ready"):
                    return
            time.sleep(0.2)
        raise BrowserUnavailable(f"chromedriver was not ready after {timeout:.0f} s")

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path, data=data, method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            value = json.loads(error.read() or b"{}").get("value", {})
            message = f"{method} {path}: {value.get('error')}: {value.get('message')}"
            raise WebDriverError(message) from error
        return answer.get("value", answer)

    def _command(self, method: str, path: str, body: dict | None = None) -> Any:
        if self.session is None:
            raise WebDriverError("the browser session is closed")
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        """Open a URL and wait for its load event."""
        self._command("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return self._command("GET", "/url")

    def run(self, script: str, *args: Any) -> Any:
        """Run JavaScript in the page; its `return` value comes back as JSON."""
        return self._command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def run_async(self, script: str, *args: Any) -> Any:
        """Run JavaScript whose last argument is a callback that delivers the result."""
        return self._command("POST", "/execute/async", {"script": script, "args": list(args)})

    def wait_for(self, script: str, timeout: float = 15, poll: float = 0.2) -> Any:
        """Run `script` until it returns something truthy, and return that; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(poll)

    def click(self, css: str) -> None:
        """Click the first element that matches a CSS selector."""
        found = self._command("POST", "/element", {"using": "css selector", "value": css})
        element = next(iter(found.values()))
        self._command("POST", f"/element/{element}/click", {})

    def cdp(self, command: str, **params: Any) -> Any:
        """Send a Chrome DevTools Protocol command through chromedriver."""
        return self._command("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def screenshot(self, path: Path, full_page: bool = False, max_height: int = 6000) -> Path:
        """Save a PNG of the viewport, or of the whole page up to max_height pixels.

        For the whole page the viewport is made as tall as the page first (what Puppeteer
        does), so that everything is laid out and painted as a reader scrolling would see it.
        """
        if full_page:
            width, height = self.run(
                "window.scrollTo(0, 0);"
                "return [window.innerWidth, document.documentElement.scrollHeight]"
            )
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                width=width, height=min(height, max_height), deviceScaleFactor=1, mobile=False,
            )  # fmt: skip
            try:
                self.run_async(PAINTED)
                data = self.cdp("Page.captureScreenshot", format="png")["data"]
            finally:
                self.cdp("Emulation.clearDeviceMetricsOverride")
        else:
            data = self._command("GET", "/screenshot")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def quit(self) -> None:
        """End the session, stop chromedriver (and with it Chromium), delete the profile."""
        if self.session is not None:
            with contextlib.suppress(OSError, WebDriverError):
                self._command("DELETE", "")
            self.session = None
        if self._driver.poll() is None:
            self._driver.terminate()
            try:
                self._driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._driver.kill()
                self._driver.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()


class LinkParser(HTMLParser):
    """Collect the ids of a page and the URLs it refers to (links, images, scripts, styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []  # (tag.attribute, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name") if tag == "a" else ("id",):
            if name in values:
                self.ids.add(values[name])
        for attribute in ("href", "src"):
            if attribute in values and not (tag == "link" and values.get("rel") == "canonical"):
                self.refs.append((f"{tag}.{attribute}", values[attribute]))


def parse_links(html: str) -> LinkParser:
    parser = LinkParser()
    parser.feed(html)
    return parser


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET a URL; return the HTTP status and body (the status of an error, never an exception)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
