"""The built book on a phone (400 px) and the sidebar toggle on a laptop (1280 px), in Chromium.

`read_on_a_phone` loads every page of the table of contents in a 400-pixel-wide mobile
viewport (Chromium's device emulation; a headless window is never narrower than 500 px) and
measures what scrolls sideways (PHONE_SCRIPT), opens the chapters' menu and the page's
contents with the buttons a reader taps, and takes a screenshot of each. `toggle_on_a_laptop`
hides and shows the sidebar with its button at 1280 px. tests/test_browser.py checks the
results; the screenshots go to _build/artifacts/ (phone-*.png, laptop-*.png).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

import browser
from book_reader import page_url
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

PHONE = {"width": 400, "height": 860, "deviceScaleFactor": 1, "mobile": True}
# What scrolls sideways on the page, and why: a code box scrolls where a line of it is longer
# than the box holds at its font's width, a table where even its narrowest layout is wider
# than its box ("must"); anything else wider than its box, or a page wider than the screen,
# is a fault.
PHONE_SCRIPT = """
const article = document.querySelector("article") || document.body;
const px = el => parseFloat(getComputedStyle(el).fontSize) || 16;
const charWidth = el => {
  const probe = document.createElement("span");
  probe.textContent = "0".repeat(50);
  probe.style.font = getComputedStyle(el).font;
  probe.style.whiteSpace = "pre";
  document.body.appendChild(probe);
  const width = probe.getBoundingClientRect().width / 50;
  probe.remove();
  return width;
};
const wide = [];
for (const el of article.querySelectorAll("*")) {
  if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth === 0) continue;
  const style = getComputedStyle(el);
  if (!["auto", "scroll"].includes(style.overflowX)) continue;
  const pre = el.matches("pre") ? el : null;
  const lines = (el.innerText || "").split("\\n");
  const longest = Math.max(...lines.map(line => line.length));
  const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  const fits = pre ? Math.floor((el.clientWidth - padding) / charWidth(el)) : null;
  // A table must scroll only when even its narrowest layout (every cell wrapped at each word:
  // min-content) is wider than its box.
  const table = el.querySelector("table");
  let narrowest = null;
  if (table && !pre) {
    const width = table.style.width;
    table.style.width = "min-content";
    narrowest = table.getBoundingClientRect().width;
    table.style.width = width;
  }
  wide.push({tag: el.tagName.toLowerCase(), cls: el.className.toString().slice(0, 60),
             formula: el.matches("mjx-container[display=true]"),
             output: !!el.closest(".cell_output"), longest: longest, fits: fits,
             table_must: narrowest !== null && narrowest > el.clientWidth + 1,
             text: lines.reduce((a, b) => b.length > a.length ? b : a, "").slice(0, 80)});
}
// An element that sticks out of the screen without a scroll bar of its own is cut off.
const cut = Array.from(article.querySelectorAll("*")).filter(el => {
  const box = el.getBoundingClientRect();
  const scrolls = el.closest("pre, .pst-scrollable-table-container, .table-wrapper, mjx-container");
  return box.width > 0 && box.right > innerWidth + 1 && !scrolls
    && getComputedStyle(el).position !== "fixed";
}).map(el => el.tagName.toLowerCase() + "." + el.className.toString().slice(0, 40));
return {page_width: document.documentElement.scrollWidth, screen: innerWidth,
        scrollers: wide, cut: cut.slice(0, 10),
        body_font_px: px(document.querySelector("article p") || document.body)};
"""
# Whether a sidebar is on the screen, and whether its dialog (pydata-sphinx-theme) is open.
SIDEBARS = """
const shown = selector => {
  const el = document.querySelector(selector);
  if (!el) return false;
  const box = el.getBoundingClientRect(), style = getComputedStyle(el);
  return box.width > 50 && box.right > 50 && box.left < innerWidth - 50
    && style.visibility !== "hidden" && style.display !== "none";
};
return {menu: shown(".bd-sidebar-primary"), contents: shown(".bd-sidebar-secondary"),
        menu_links: Array.from(document.querySelectorAll(".bd-sidebar-primary a.reference"))
          .filter(a => a.getBoundingClientRect().width > 0).length,
        contents_links: Array.from(document.querySelectorAll(".bd-sidebar-secondary a"))
          .filter(a => a.getBoundingClientRect().width > 0).length};
"""


@dataclass
class PhoneVisit:
    pages: dict[str, dict] = field(default_factory=dict)  # toc name -> PHONE_SCRIPT's answer
    console: dict[str, list[str]] = field(default_factory=dict)  # toc name -> SEVERE messages
    taps: dict[str, dict] = field(default_factory=dict)  # "before", "menu", "contents"
    shots: list[Path] = field(default_factory=list)


def tap(driver: WebDriver, selector: str) -> bool:
    """Click the first visible element that matches, as a finger would; False if none shows."""
    for element in driver.find_elements(By.CSS_SELECTOR, selector):
        if element.is_displayed():
            element.click()
            time.sleep(0.5)  # the dialog's opening transition
            return True
    return False


def read_on_a_phone(driver: WebDriver, base: str, names: list[str]) -> PhoneVisit:
    visit = PhoneVisit()
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    for index, name in enumerate(names):
        driver.get(page_url(base, name))
        browser.wait_for(driver, "return document.readyState === 'complete'")
        visit.pages[name] = driver.execute_script(PHONE_SCRIPT)
        visit.console[name] = severe(driver)
        slug = name.removeprefix("chapters/").replace("/", "-")
        visit.shots.append(phone_shot(driver, f"phone-{index:02d}-{slug}.png"))
    # The chapters' menu and the page's contents, opened with the buttons of the top bar.
    lesson = next((n for n in names if n.startswith("chapters/")), names[0])
    for what, button in (("menu", ".primary-toggle"), ("contents", ".secondary-toggle")):
        driver.get(page_url(base, lesson))
        browser.wait_for(driver, "return document.readyState === 'complete'")
        visit.taps.setdefault("before", driver.execute_script(SIDEBARS))
        tapped = tap(driver, button)
        visit.taps[what] = {**driver.execute_script(SIDEBARS), "tapped": tapped}
        visit.shots.append(browser.screenshot(driver, f"phone-{what}.png"))
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    visit.console["taps"] = severe(driver)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return visit


def toggle_on_a_laptop(driver: WebDriver, base: str, name: str) -> list[dict]:
    """The sidebar's state at 1280 px: as loaded, after one click of its button, after two."""
    driver.get(page_url(base, name))
    browser.wait_for(driver, "return document.readyState === 'complete'")
    states = [driver.execute_script(SIDEBARS)]
    for click in (1, 2):
        tapped = tap(driver, ".primary-toggle")
        states.append({**driver.execute_script(SIDEBARS), "tapped": tapped})
        browser.screenshot(driver, f"laptop-sidebar-click-{click}.png")
    states.append({"console": severe(driver)})
    return states


def phone_shot(driver: WebDriver, name: str, max_height: int = 16000) -> Path:
    """The whole page as the phone lays it out (up to max_height pixels), in ARTIFACTS."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**PHONE, "height": min(height, max_height)}
    )
    try:
        driver.execute_async_script(browser.PAINTED)
        data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    path = browser.ARTIFACTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data))
    return path


def severe(driver: WebDriver) -> list[str]:
    """The browser console's errors since the last call (uncaught exceptions, failed loads)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
