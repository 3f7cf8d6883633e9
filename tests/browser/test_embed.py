"""The partner embed in a real browser: <exam-diagnostic> on /embed/demo, against the local server started
exactly as ``make run`` starts it. Headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Api, start_server

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = bool(os.environ.get("CI"))

if not CHROMIUM.exists() and not IN_CI:
    pytest.skip(
        "no Chromium at /usr/bin/chromium (CI installs it; locally: apt-get install chromium)", allow_module_level=True
    )

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:
    if IN_CI:
        raise
    pytest.skip("playwright is not installed in this environment", allow_module_level=True)

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARTNER_KEY = "demo-partner-key"
STORAGE_KEY = "exam-diagnostic:clf-c02"
KEY_REJECTED = "This page's exam key was not accepted. Please tell the site owner."
SCREENSHOT = ROOT / "reports" / "embed-result.png"
HOST = "exam-diagnostic"  # Playwright's CSS selectors pierce its open shadow root

# The deepest focused element, through open shadow roots.
ACTIVE_ELEMENT_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? {
    testid: el.getAttribute("data-testid"),
    tag: el.tagName.toLowerCase(),
    checked: el.checked === true,
    outline: getComputedStyle(el).outlineStyle,
  } : null;
}"""


@dataclass
class Tab:
    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    proc, base, _lines = start_server()
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh context per test: its own sessionStorage, a phone-sized viewport."""
    context = browser.new_context(viewport={"width": 414, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    out = Tab(page)
    page.on("pageerror", lambda exc: out.errors.append(str(exc)))
    try:
        yield out
    finally:
        context.close()


def stored(page: Page) -> dict[str, Any] | None:
    value: dict[str, Any] | None = page.evaluate(f"() => JSON.parse(sessionStorage.getItem({STORAGE_KEY!r}))")
    return value


def active(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = page.evaluate(ACTIVE_ELEMENT_JS) or {}
    return value


def tab_to(page: Page, testid: str, limit: int = 25) -> dict[str, Any]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = active(page)
        if now.get("testid") == testid:
            return now
    raise AssertionError(f"Tab never reached [data-testid={testid}]")


def test_full_diagnostic_shows_the_score_the_api_stored(base_url: str, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{base_url}/embed/demo")
    host = page.locator(HOST)
    expect(host).to_have_attribute("data-state", "start")
    expect(page.get_by_text("Free CLF-C02 readiness check")).to_be_visible()
    page.evaluate(
        "() => { window.__results = []; document.addEventListener('exam-diagnostic-result', "
        "e => window.__results.push(e.detail)); }"
    )
    page.get_by_test_id("start").click()
    expect(host).to_have_attribute("data-state", "question")

    session = stored(page)
    assert session is not None
    questions = session["questions"]
    assert len(questions) == 10
    clicked: dict[str, list[str]] = {}
    for number, question in enumerate(questions, start=1):
        expect(page.locator(f"{HOST} .progress-label")).to_have_text(f"Question {number} of 10")
        expect(page.locator(f"{HOST} [role=progressbar]")).to_have_attribute("aria-valuenow", str(number))
        expect(page.get_by_test_id("question-stem")).to_have_text(question["stem"])
        options = page.get_by_test_id("option")
        expect(options).to_have_count(len(question["options"]))
        want = question["selectCount"]
        # a different pick per question: start at the question's position
        picks = [(number + i) % len(question["options"]) for i in range(want)]
        for i in picks:
            options.nth(i).click()
        clicked[question["questionId"]] = sorted(question["options"][i]["id"] for i in picks)
        if question["type"] == "multiple":
            words = {2: "two", 3: "three"}
            expect(page.locator(f"{HOST} .hint")).to_contain_text(f"Choose {words[want]}.")
            for i in range(len(question["options"])):
                if i not in picks:  # the limit is reached: the other boxes are disabled
                    expect(options.nth(i)).to_be_disabled()
        saved = stored(page)
        assert saved is not None
        assert sorted(saved["answers"][question["questionId"]]) == clicked[question["questionId"]]
        page.get_by_test_id("submit" if number == 10 else "next").click()

    expect(host).to_have_attribute("data-state", "result", timeout=15_000)
    shown = int(page.get_by_test_id("score").inner_text())
    expect(page.get_by_test_id("band")).to_contain_text("likely between")
    expect(page.get_by_text("out of 1000, 700 to pass")).to_be_visible()

    session = stored(page)
    assert session is not None
    attempt_id, token = session["attemptId"], session["attemptToken"]
    reply = Api(base_url).get(
        f"/diagnostics/{attempt_id}", headers={"X-Api-Key": PARTNER_KEY, "X-Attempt-Token": token}
    )
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "submitted"
    result = reply.body["result"]
    assert result["scaledScore"] == shown
    assert {r["questionId"]: sorted(r["selected"]) for r in reply.body["responses"]} == clicked

    band = result["scoreBand"]
    expect(page.get_by_test_id("band")).to_contain_text(f"{band['low']} and {band['high']}")
    bars = page.get_by_test_id("domain-bar")
    expect(bars).to_have_count(4)
    weakest = page.locator(f'{HOST} [data-testid="domain-bar"][data-weakest]')
    expect(weakest).to_have_count(1)
    expect(weakest).to_contain_text("Weakest")
    expect(weakest).to_have_attribute("data-domain-id", result["weakestDomain"])
    expect(page.get_by_test_id("study-plan")).to_contain_text(result["studyPlan"][0]["name"])

    events = page.evaluate("() => window.__results")
    assert len(events) == 1
    assert events[0]["attemptId"] == attempt_id
    assert events[0]["result"]["scaledScore"] == shown
    # the token lives in sessionStorage only: never in the page's markup or the event
    markup = page.evaluate(
        "() => document.documentElement.outerHTML + document.querySelector('exam-diagnostic').shadowRoot.innerHTML"
    )
    assert token not in markup
    assert token not in str(events)

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert not tab.errors


def test_a_rejected_key_is_explained_and_no_question_is_shown(base_url: str, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{base_url}/embed/demo?key=wrong-key")
    host = page.locator(HOST)
    expect(host).to_have_attribute("api-key", "wrong-key")
    page.get_by_test_id("start").click()
    expect(host).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("error")).to_have_text(KEY_REJECTED)
    expect(page.get_by_test_id("question-stem")).to_have_count(0)
    expect(page.get_by_test_id("option")).to_have_count(0)
    expect(page.get_by_test_id("retry")).to_have_count(0)  # retrying cannot fix a key
    assert stored(page) is None
    assert not tab.errors


def test_the_first_question_can_be_answered_with_the_keyboard(base_url: str, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{base_url}/embed/demo")
    host = page.locator(HOST)
    expect(host).to_have_attribute("data-state", "start")

    tab_to(page, "start")
    page.keyboard.press("Enter")
    expect(host).to_have_attribute("data-state", "question")
    expect(page.locator(f"{HOST} .progress-label")).to_have_text("Question 1 of 10")
    page.wait_for_function("() => document.querySelector('exam-diagnostic').shadowRoot.activeElement !== null")
    assert active(page).get("testid") == "question-stem"  # focus moved to the question

    session = stored(page)
    assert session is not None
    first = session["questions"][0]
    for _ in range(first["selectCount"]):
        now = tab_to(page, "option", limit=3)
        assert not now["checked"]
        page.keyboard.press("Space")
        assert active(page)["checked"]

    focused = tab_to(page, "next")
    assert focused["outline"] != "none"  # a visible focus ring
    page.keyboard.press("Enter")
    expect(page.locator(f"{HOST} .progress-label")).to_have_text("Question 2 of 10")
    expect(page.locator(f"{HOST} [aria-live=polite]")).to_have_text("Question 2 of 10")  # announced
    expect(page.locator(f"{HOST} [role=progressbar]")).to_have_attribute("aria-valuenow", "2")
    assert active(page).get("testid") == "question-stem"
    saved = stored(page)
    assert saved is not None
    assert len(saved["answers"][first["questionId"]]) == first["selectCount"]
    assert not tab.errors
