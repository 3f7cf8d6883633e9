"""The web app's practice sets (study mode), the missed set after a full exam, and the free diagnostic with no
account then saved to a history, in headless Debian Chromium driven by Playwright against a local server
started as ``make run`` starts it. What the app shows is checked against the API's own answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_embed import Tab
from tests.browser.test_webapp import (  # the fixtures are used by name
    DESKTOP,
    PHONE,
    REPORTS,
    axe_problems,
    base_url,  # noqa: F401
    browser,  # noqa: F401
    desktop,  # noqa: F401
    focused_testid,
    me,
    phone,  # noqa: F401
    picks_for,
    scanning,
    sign_in,
    tab_to,
)
from tests.e2e.conftest import Api

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # test_webapp skips the module the same way
    pytest.skip("playwright is not installed in this environment", allow_module_level=True)

KEY = {"X-Api-Key": "demo-partner-key"}
DOMAIN = "security-and-compliance"


def attempt_id_in(page: Page, prefix: str) -> str:
    match = re.search(rf"#/{prefix}/([0-9a-f]+)/", page.url)
    assert match, page.url
    return match.group(1)


def start_practice(page: Page, mode: str, size: int, domain: str | None = None, study: bool = True) -> str:
    page.get_by_test_id("practice-mode").select_option(mode)
    if domain:
        page.get_by_test_id("practice-domain").select_option(domain)
    page.get_by_test_id("practice-size").fill(str(size))
    if not study:
        page.get_by_test_id("practice-study").uncheck()
    page.get_by_test_id("start-practice").click()
    expect(page.get_by_test_id("question-stem")).to_be_visible()
    return attempt_id_in(page, "exam")


def practice_as(page: Page, base: str, candidate: str, mode: str, size: int, domain: str | None = None) -> Any:
    """Sign in as ``candidate``, start a practice set in study mode from Home, and return the API's attempt."""
    sign_in(page, base, candidate)
    attempt_id = start_practice(page, mode, size, domain)
    return Api(base).get(f"/me/attempts/{attempt_id}", headers=me(candidate)).body


def check_and_compare(page: Page, number: int, question: dict[str, Any]) -> dict[str, Any]:
    """Choose this question's picks, press Check answer, and see the app show what the API's check answered."""
    for i in picks_for(number, question):
        page.get_by_test_id("option").nth(i).click()
    with page.expect_response(lambda r: r.url.endswith("/check") and r.request.method == "POST") as info:
        page.get_by_test_id("check").click()
    checked: dict[str, Any] = info.value.json()
    assert info.value.status == 200, checked
    feedback = page.get_by_test_id("feedback")
    verdict = "Correct." if checked["correct"] else f"Incorrect: the answer is {', '.join(checked['key']).upper()}."
    expect(feedback.get_by_test_id("check-verdict")).to_have_text(verdict)
    expect(feedback.get_by_test_id("explanation")).to_have_text([o["explanation"] for o in checked["options"]])
    keyed = feedback.locator(".review-option.key")
    expect(keyed).to_have_count(len(checked["key"]))
    # a checked answer is final: every option is disabled and the check button is gone
    for i in range(len(question["options"])):
        expect(page.get_by_test_id("option").nth(i)).to_be_disabled()
    expect(page.get_by_test_id("check")).to_be_hidden()
    return checked


def test_a_practice_set_in_study_mode_shows_the_apis_check_after_each_answer_then_the_result(
    base_url: str,  # noqa: F811
    desktop: Tab,  # noqa: F811
) -> None:
    page, api, who = desktop.page, Api(base_url), me("web-study")
    body = practice_as(page, base_url, "web-study", "domain", 4, DOMAIN)
    attempt_id = body["attemptId"]
    assert body["mode"] == "domain" and body["remainingSeconds"] is None
    questions = body["questions"]
    expect(page.get_by_test_id("progress")).to_have_text("Question 1 of 4")
    expect(page.get_by_test_id("timer")).to_have_count(0)  # untimed
    expect(page.get_by_test_id("check")).to_be_disabled()  # nothing chosen yet

    checks: dict[str, dict[str, Any]] = {}
    for number, q in enumerate(questions, start=1):
        expect(page.get_by_test_id("progress")).to_have_text(f"Question {number} of 4")
        checked = check_and_compare(page, number, q)
        assert checked["domainId"] == DOMAIN
        checks[q["questionId"]] = checked
        nav = page.get_by_test_id("nav-q").nth(number - 1)  # the navigator marks it right or wrong
        expect(nav).to_have_attribute("data-check", "right" if checked["correct"] else "wrong")
        expect(nav).to_have_attribute("aria-label", re.compile(", correct" if checked["correct"] else ", incorrect"))
        if number == 2:
            expect(page.get_by_test_id("save-state")).to_have_text("All answers saved")
            page.screenshot(path=str(REPORTS / "web-practice.png"), full_page=True)
            # a reload shows the same check again, answer still locked
            page.reload()
            expect(page.get_by_test_id("progress")).to_have_text("Question 2 of 4")
            expect(page.get_by_test_id("check-verdict")).to_have_text(
                "Correct." if checked["correct"] else re.compile("^Incorrect")
            )
            expect(page.get_by_test_id("option").first).to_be_disabled()
        page.get_by_test_id("to-review" if number == 4 else "next").click()

    # every answer was saved (PUT .../responses) before the check, so the set's result agrees with the checks
    saved = {
        r["questionId"]: sorted(r["selected"])
        for r in api.get(f"/me/attempts/{attempt_id}", headers=who).body["responses"]
    }
    assert saved == {qid: sorted(c["selected"]) for qid, c in checks.items()}
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("confirm-submit")).to_have_text("Yes, submit my practice set")
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("practice-percent")).to_be_visible(timeout=20_000)
    result = api.get(f"/me/attempts/{attempt_id}", headers=who).body["result"]
    assert result["correct"] == sum(c["correct"] for c in checks.values())
    expect(page.get_by_test_id("practice-percent")).to_have_text(f"{round(result['percent'])}%")
    expect(page.get_by_test_id("practice-count")).to_have_text(f"{result['correct']} of 4 questions right.")
    expect(page.get_by_test_id("task-bar")).to_have_count(len(result["taskStatements"]))
    page.screenshot(path=str(REPORTS / "web-practice-result.png"), full_page=True)
    page.get_by_test_id("open-review").click()
    expect(page.get_by_test_id("review-q")).to_have_count(4)
    page.goto(f"{base_url}/#/")
    expect(page.get_by_test_id("history")).to_contain_text("Practice: one domain")
    assert not desktop.errors


def test_study_mode_by_keyboard_alone_checks_with_enter_moves_focus_to_the_verdict_and_locks_the_answer(
    base_url: str,  # noqa: F811
    desktop: Tab,  # noqa: F811
) -> None:
    page, api, who = desktop.page, Api(base_url), me("web-study-keys")
    served = practice_as(page, base_url, "web-study-keys", "unseen", 3)
    attempt_id, questions = served["attemptId"], served["questions"]
    for number, q in enumerate(questions, start=1):
        assert focused_testid(page) == "question-stem"
        picks = picks_for(number, q)
        for i in picks:
            page.keyboard.press(str(i + 1))
        tab_to(page, "check")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("check-verdict")).to_be_visible()
        assert focused_testid(page) == "check-verdict"
        other = next(i for i in range(len(q["options"])) if i not in picks)
        page.keyboard.press(str(other + 1))  # a checked answer is final: the key changes nothing
        expect(page.get_by_test_id("option").nth(other)).not_to_be_checked()
        page.keyboard.press("n")
    expect(page.get_by_test_id("answered-summary")).to_have_text("3 of 3 answered, 0 unanswered, 0 flagged.")
    saved = api.get(f"/me/attempts/{attempt_id}", headers=who).body["responses"]
    assert {r["questionId"]: sorted(r["selected"]) for r in saved} == {
        q["questionId"]: sorted(q["options"][i]["id"] for i in picks_for(n, q)) for n, q in enumerate(questions, 1)
    }
    assert not desktop.errors


def test_study_mode_off_gives_no_checks_and_an_empty_missed_set_says_what_to_do(
    base_url: str,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    page = phone.page
    sign_in(page, base_url, "web-no-study")
    page.get_by_test_id("practice-mode").select_option("missed")
    expect(page.get_by_test_id("practice-domain")).to_be_hidden()
    page.get_by_test_id("start-practice").click()
    expect(page.get_by_test_id("practice-error")).to_contain_text("nothing to practise in this set yet")
    expect(page.get_by_test_id("practice-error")).to_contain_text("Take a full exam")
    start_practice(page, "unseen", 3, study=False)
    page.get_by_test_id("option").first.click()
    expect(page.get_by_test_id("check")).to_have_count(0)
    expect(page.get_by_test_id("feedback")).to_be_hidden()
    expect(page.get_by_test_id("option").nth(1)).to_be_enabled()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert not phone.errors


def test_a_missed_set_after_a_full_exam_serves_only_the_questions_missed_or_flagged(
    base_url: str,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    api, who = Api(base_url), me("web-missed")
    # the full exam through the API, to save time: option a everywhere, question 3 flagged
    started = api.post("/me/attempts", {"examId": "clf-c02", "mode": "full"}, headers=who)
    assert started.status == 201, started.body
    full_id = started.body["attemptId"]
    responses = [
        {
            "questionId": q["questionId"],
            "selected": [o["id"] for o in q["options"][: q["selectCount"]]],
            "flagged": n == 3,
        }
        for n, q in enumerate(started.body["questions"], start=1)
    ]
    assert api.post(f"/me/attempts/{full_id}/submit", {"responses": responses}, headers=who).status == 200
    review = api.get(f"/me/attempts/{full_id}/review", headers=who).body["questions"]
    missed = {" ".join(q["stem"].split()) for q in review if not q["correct"] or q["flagged"]}
    assert missed

    page = phone.page
    sign_in(page, base_url, "web-missed")
    attempt_id = start_practice(page, "missed", 65)
    served = api.get(f"/me/attempts/{attempt_id}", headers=who).body
    assert served["mode"] == "missed"
    assert served["questionCount"] == len(missed)
    expect(page.get_by_test_id("progress")).to_have_text(f"Question 1 of {len(missed)}")
    stems = {" ".join(q["stem"].split()) for q in served["questions"]}
    assert stems == missed
    shown = " ".join(page.get_by_test_id("question-stem").inner_text().split())
    assert shown in missed
    check_and_compare(page, 1, served["questions"][0])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert not phone.errors


def take_diagnostic(page: Page, base: str) -> tuple[str, list[dict[str, Any]]]:
    """From the signed-out start page: start the diagnostic, answer its ten questions by clicking, submit."""
    page.goto(f"{base}/")
    page.get_by_test_id("open-diagnostic").click()
    page.get_by_test_id("start-diagnostic").click()
    expect(page.get_by_test_id("progress")).to_have_text("Question 1 of 10")
    attempt_id = attempt_id_in(page, "diagnostic")
    token = page.evaluate(f"() => sessionStorage.getItem('exam-app:diagnostic:{attempt_id}')")
    served = Api(base).get(f"/diagnostics/{attempt_id}", headers={**KEY, "X-Attempt-Token": token}).body
    questions: list[dict[str, Any]] = served["questions"]
    expect(page.get_by_test_id("save-state")).to_have_text("Answers kept in this browser until you submit")
    for number, q in enumerate(questions, start=1):
        expect(page.get_by_test_id("question-stem")).to_have_text(q["stem"])
        for i in picks_for(number, q):
            page.get_by_test_id("option").nth(i).click()
        if number == 5:  # a reload keeps the answers, which live only in this tab until the submit
            page.reload()
            expect(page.get_by_test_id("progress")).to_have_text("Question 5 of 10")
            states = page.evaluate(
                "() => [...document.querySelectorAll('[data-testid=nav-q]')].map(b => b.dataset.state)"
            )
            assert states == ["answered"] * 5 + ["unanswered"] * 5
        page.get_by_test_id("to-review" if number == 10 else "next").click()
    expect(page.get_by_test_id("answered-summary")).to_have_text("10 of 10 answered, 0 unanswered, 0 flagged.")
    page.get_by_test_id("submit").click()
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("score")).to_be_visible(timeout=20_000)
    return attempt_id, questions


def test_the_free_diagnostic_needs_no_account_and_is_then_saved_to_the_history(
    base_url: str,  # noqa: F811
    desktop: Tab,  # noqa: F811
) -> None:
    page, api, who = desktop.page, Api(base_url), me("web-claim")
    attempt_id, questions = take_diagnostic(page, base_url)
    token = page.evaluate(f"() => sessionStorage.getItem('exam-app:diagnostic:{attempt_id}')")
    stored = api.get(f"/diagnostics/{attempt_id}", headers={**KEY, "X-Attempt-Token": token}).body
    assert stored["status"] == "submitted"
    result = stored["result"]
    assert int(page.get_by_test_id("score").inner_text()) == result["scaledScore"]
    chosen = {
        q["questionId"]: sorted(q["options"][i]["id"] for i in picks_for(n, q)) for n, q in enumerate(questions, 1)
    }
    assert {r["questionId"]: sorted(r["selected"]) for r in stored["responses"]} == chosen
    expect(page.get_by_test_id("note")).to_have_text(result["note"])
    expect(page.get_by_test_id("domain-bar")).to_have_count(len(result["domains"]))
    expect(page.get_by_test_id("claim")).to_have_text("Sign in to save this result to my history")
    page.screenshot(path=str(REPORTS / "web-diagnostic.png"), full_page=True)
    page.get_by_test_id("open-review").click()
    expect(page.get_by_test_id("review-q")).to_have_count(10)
    expect(page.get_by_test_id("report")).to_have_count(0)  # the report route is not the diagnostic's
    page.get_by_role("link", name="Back to the result").click()

    # save it: sign in first, and the claim follows by itself
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("claim-pending")).to_be_visible()
    page.get_by_test_id("candidate-id").fill("web-claim")
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("claim-status")).to_contain_text("Saved: this result is in your history")
    history = api.get("/me/attempts?limit=10", headers=who).body["attempts"]
    assert [(a["attemptId"], a["mode"], a["scaledScore"]) for a in history] == [
        (attempt_id, "diagnostic", result["scaledScore"])
    ]
    page.get_by_test_id("to-history").click()
    row = page.get_by_test_id("history").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Free diagnostic")
    expect(row).to_contain_text(str(result["scaledScore"]))
    row.get_by_role("link", name="Result").click()  # now opened as the candidate's own attempt
    expect(page.get_by_test_id("score")).to_have_text(str(result["scaledScore"]))
    assert not desktop.errors


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violation_on_the_practice_and_diagnostic_screens(
    base_url: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    viewport: dict[str, int],
) -> None:
    with scanning(browser, viewport) as (page, found):
        page.goto(f"{base_url}/#/diagnostic")
        expect(page.get_by_test_id("start-diagnostic")).to_be_visible()
        found["diagnostic start"] = axe_problems(page)
        page.get_by_test_id("start-diagnostic").click()
        page.get_by_test_id("option").first.click()
        found["diagnostic question"] = axe_problems(page)
        page.get_by_test_id("to-review").first.click()
        page.get_by_test_id("submit").click()
        page.get_by_test_id("confirm-submit").click()
        expect(page.get_by_test_id("claim")).to_be_visible(timeout=20_000)
        found["diagnostic result"] = axe_problems(page)
        page.get_by_test_id("open-review").click()
        expect(page.get_by_test_id("review-q")).to_have_count(10)
        found["diagnostic review"] = axe_problems(page)
        page.get_by_role("link", name="Back to the result").click()
        page.get_by_test_id("claim").click()
        expect(page.get_by_test_id("claim-pending")).to_be_visible()
        found["sign-in to save"] = axe_problems(page)
        candidate = f"web-axe-practice-{viewport['width']}"
        page.get_by_test_id("candidate-id").fill(candidate)
        page.get_by_test_id("sign-in").click()
        expect(page.get_by_test_id("claim-status")).to_contain_text("Saved")
        found["diagnostic saved"] = axe_problems(page)
        page.get_by_test_id("to-history").click()
        expect(page.get_by_test_id("practice")).to_be_visible()
        found["home with practice"] = axe_problems(page)
        practice_id = start_practice(page, "domain", 2, DOMAIN)
        first = Api(base_url).get(f"/me/attempts/{practice_id}", headers=me(candidate)).body["questions"][0]
        for i in picks_for(1, first):
            page.get_by_test_id("option").nth(i).click()
        page.get_by_test_id("check").click()
        expect(page.get_by_test_id("check-verdict")).to_be_visible()
        found["practice question checked"] = axe_problems(page)
        page.get_by_test_id("next").click()
        page.get_by_test_id("to-review").first.click()
        page.get_by_test_id("submit").click()
        page.get_by_test_id("confirm-submit").click()
        expect(page.get_by_test_id("practice-percent")).to_be_visible(timeout=20_000)
        found["practice result"] = axe_problems(page)
