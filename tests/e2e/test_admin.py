"""Operating the bank over HTTP: auth, filters, import, status and key changes, statistics, reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Api, running_server

ADMIN = {"Authorization": "Bearer demo-admin-token"}


@pytest.fixture(scope="module")
def admin_api() -> Iterator[Api]:
    with running_server({"BANK_REFRESH_SECONDS": "0", "REPORTS_PER_ATTEMPT": "3"}) as api:
        yield api


def _all_items(api: Api, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    out, token = [], None
    while True:
        path = f"/admin/items?limit=40&{query}" + (f"&nextToken={token}" if token else "")
        page = api.get(path, headers=ADMIN)
        assert page.status == 200, page.body
        out += page.body["items"]
        token = page.body["nextToken"]
        if not token:
            assert len(out) == page.body["total"]
            return out


def _journey(api: Api, answer: str = "a") -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    a = api.post("/attempts", {"examId": "clf-c02", "mode": "full"}).body
    tok = {"X-Attempt-Token": a["attemptToken"]}
    answers = [
        {
            "questionId": q["questionId"],
            "selected": list((answer * 3)[: q["selectCount"]])
            if q["selectCount"] == 1
            else ["a", "b", "c"][: q["selectCount"]],
        }
        for q in a["questions"]
    ]
    assert api.put(f"/attempts/{a['attemptId']}/responses", {"responses": answers}, headers=tok).status == 200
    result = api.post(f"/attempts/{a['attemptId']}/submit", headers=tok).body
    return a, result, tok


def test_given_no_or_wrong_credentials_then_admin_routes_are_closed(admin_api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer dev:someone"}):
        r = admin_api.get("/admin/items", headers=headers)
        assert r.status == 403 and r.body == {"message": "Missing Authentication Token"}
    assert admin_api.call("PATCH", "/admin/items/clf-1.1-001", {"status": "retired"}).status == 403


def test_given_filters_then_every_item_matches_and_pages_cover_the_set_once(admin_api: Api) -> None:
    items = _all_items(admin_api, status="pretest", domain="security-and-compliance")
    assert items and all(i["status"] == "pretest" and i["domainId"] == "security-and-compliance" for i in items)
    assert len({i["id"] for i in items}) == len(items)
    by_task = _all_items(admin_api, task="3.7")
    assert by_task and all(i["task"] == "3.7" for i in by_task)
    full = admin_api.get(f"/admin/items/{by_task[0]['id']}", headers=ADMIN).body
    assert full["key"] and all(o["explanation"] for o in full["options"]) and "b" in full
    bad = admin_api.get("/admin/items?domain=nope", headers=ADMIN)
    assert bad.status == 422 and bad.body["error"]["code"] == "unknown_domain"
    assert admin_api.get("/admin/items?nextToken=%%%", headers=ADMIN).status == 422
    assert admin_api.get("/admin/items/clf-9.9-999", headers=ADMIN).status == 404


def _new_item(item_id: str, **changes: Any) -> dict[str, Any]:
    item = {
        "id": item_id,
        "task": "4.2",
        "type": "single",
        "selectCount": 1,
        "status": "pretest",
        "b": 0.3,
        "stem": f"Which AWS tool lets a finance team set a monthly cost threshold and be alerted ({item_id})?",
        "options": [
            {"id": "a", "text": "AWS Budgets", "explanation": "Correct. Budgets alert on thresholds."},
            {"id": "b", "text": "AWS Artifact", "explanation": "Incorrect. Artifact holds compliance reports."},
            {"id": "c", "text": "Amazon Inspector", "explanation": "Incorrect. Inspector scans for vulnerabilities."},
            {"id": "d", "text": "AWS Shield", "explanation": "Incorrect. Shield protects against DDoS attacks."},
        ],
        "key": ["a"],
    }
    item.update(changes)
    return item


def test_given_a_batch_with_errors_then_every_error_is_reported_and_nothing_is_imported(admin_api: Api) -> None:
    batch = [
        _new_item("imp-ok-001"),
        _new_item("imp-bad-001", key=["a", "b"]),
        _new_item("imp-bad-002", task="9.9"),
        _new_item("imp-bad-003", options=[]),
    ]
    r = admin_api.put("/admin/items", {"examId": "clf-c02", "items": batch}, headers=ADMIN)
    assert r.status == 422 and r.body["error"]["code"] == "invalid_items"
    where = {(d["itemId"], d["field"]) for d in r.body["error"]["details"]}
    assert ("imp-bad-001", "key") in where
    assert ("imp-bad-002", "task") in where
    assert ("imp-bad-003", "options") in where
    assert admin_api.get("/admin/items/imp-ok-001", headers=ADMIN).status == 404  # all or nothing
    ok = admin_api.put("/admin/items", {"examId": "clf-c02", "items": [_new_item("imp-ok-001")]}, headers=ADMIN)
    assert ok.status == 200 and ok.body["created"] == 1 and ok.body["updated"] == 0
    again = admin_api.put(
        "/admin/items", {"examId": "clf-c02", "items": [_new_item("imp-ok-001", b=0.5)]}, headers=ADMIN
    )
    assert again.body["updated"] == 1 and again.body["bankVersion"] > ok.body["bankVersion"]
    got = admin_api.get("/admin/items/imp-ok-001", headers=ADMIN).body
    assert got["b"] == 0.5 and got["version"] == 2


def test_given_a_key_correction_then_it_is_recorded_versioned_and_results_already_given_stay(admin_api: Api) -> None:
    attempt, result, tok = _journey(admin_api)
    item = _all_items(admin_api, task="1.1", status="operational")[0]
    new_key = [o["id"] for o in item["options"] if o["id"] not in item["key"]][:1]
    r = admin_api.call(
        "PATCH", f"/admin/items/{item['id']}", {"key": new_key, "reason": "second source agrees"}, headers=ADMIN
    )
    assert r.status == 200, r.body
    assert r.body["key"] == new_key and r.body["version"] == item["version"] + 1
    entry = r.body["history"][-1]
    assert entry["by"].endswith("demo-admin") and entry["at"] and entry["changes"]["key"]["to"] == new_key
    assert entry["reason"] == "second source agrees"
    later = admin_api.get(f"/attempts/{attempt['attemptId']}", headers=tok).body
    assert later["result"] == result  # nothing already given is re-scored
    bad = admin_api.call("PATCH", f"/admin/items/{item['id']}", {"key": ["a", "b"]}, headers=ADMIN)
    assert bad.status == 422 and bad.body["error"]["details"][0]["field"] == "key"
    same = admin_api.call("PATCH", f"/admin/items/{item['id']}", {"key": new_key}, headers=ADMIN)
    assert same.status == 422 and same.body["error"]["code"] == "no_change"


def test_given_items_retired_then_the_next_form_no_longer_serves_them(admin_api: Api) -> None:
    ops = _all_items(admin_api, domain="cloud-concepts", status="operational")
    keep = ops[:12]
    for item in ops[12:]:
        r = admin_api.call("PATCH", f"/admin/items/{item['id']}", {"status": "retired"}, headers=ADMIN)
        assert r.status == 200
    kept_stems = {i["stem"] for i in keep}
    retired_stems = {i["stem"] for i in ops[12:]}
    a = admin_api.post("/attempts", {"examId": "clf-c02"}).body
    review_tok = {"X-Attempt-Token": a["attemptToken"]}
    admin_api.post(f"/attempts/{a['attemptId']}/submit", headers=review_tok)
    review = admin_api.get(f"/attempts/{a['attemptId']}/review", headers=review_tok).body
    scored_cc = [q["stem"] for q in review["questions"] if q["scored"] and q["domainId"] == "cloud-concepts"]
    assert len(scored_cc) == 12 and set(scored_cc) == kept_stems
    assert not retired_stems & {q["stem"] for q in review["questions"]}
    for item in ops[12:]:  # put them back for the other tests
        admin_api.call("PATCH", f"/admin/items/{item['id']}", {"status": "operational"}, headers=ADMIN)


def test_given_problem_reports_then_they_reach_the_admin_api_once_each_and_are_capped(admin_api: Api) -> None:
    a = admin_api.post("/attempts", {"examId": "clf-c02"}).body
    tok = {"X-Attempt-Token": a["attemptToken"]}
    qs = [q["questionId"] for q in a["questions"]]
    path = f"/attempts/{a['attemptId']}/questions/{{}}/report"
    first = admin_api.post(path.format(qs[0]), {"reason": "wrong_key", "comment": "B is also right"}, headers=tok)
    assert first.status == 201 and first.body["status"] == "open"
    assert admin_api.post(path.format(qs[0]), {"reason": "typo"}, headers=tok).status == 409
    assert admin_api.post(path.format(qs[1]), {"reason": "unclear"}, headers=tok).status == 201
    assert admin_api.post(path.format(qs[2]), {"reason": "outdated"}, headers=tok).status == 201
    capped = admin_api.post(path.format(qs[3]), {"reason": "other"}, headers=tok)
    assert capped.status == 429 and capped.body["error"]["code"] == "too_many_reports"
    assert admin_api.post(path.format(qs[4]), {"reason": "bogus"}, headers=tok).status == 422
    assert admin_api.post(path.format("q0000000000"), {"reason": "typo"}, headers=tok).status == 404
    assert admin_api.post(path.format(qs[4]), {"reason": "typo"}, headers={"X-Attempt-Token": "x"}).status == 403
    long = admin_api.post(path.format(qs[4]), {"reason": "typo", "comment": "x" * 501}, headers=tok)
    assert long.status == 422
    ranked = admin_api.get("/admin/reports/items?limit=200", headers=ADMIN).body["items"]
    reported = [s for s in ranked if s["stats"]["openReports"] >= 1]
    assert len(reported) >= 3
    detail = admin_api.get(f"/admin/items/{reported[0]['itemId']}", headers=ADMIN).body
    assert any(r["attemptId"] == a["attemptId"] for r in detail["reports"])


def test_given_submitted_attempts_then_item_statistics_arrive_from_the_stream(admin_api: Api) -> None:
    a = admin_api.post("/attempts", {"examId": "clf-c02"}).body
    tok = {"X-Attempt-Token": a["attemptToken"]}
    q = a["questions"][0]["questionId"]
    admin_api.post(f"/attempts/{a['attemptId']}/questions/{q}/report", {"reason": "typo"}, headers=tok)
    answers = [{"questionId": x["questionId"], "selected": ["a", "b", "c"][: x["selectCount"]]} for x in a["questions"]]
    admin_api.post(f"/attempts/{a['attemptId']}/submit", {"responses": answers}, headers=tok)
    for _ in range(2):
        _journey(admin_api)
    ranked = admin_api.get("/admin/reports/items?limit=200", headers=ADMIN).body["items"]
    item_id = next(  # the item behind this attempt's report (others were reported from unsubmitted attempts)
        s["itemId"]
        for s in ranked
        if any(
            r["attemptId"] == a["attemptId"]
            for r in admin_api.get(f"/admin/items/{s['itemId']}", headers=ADMIN).body["reports"]
        )
    )
    deadline = time.monotonic() + 20
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = admin_api.get(f"/admin/items/{item_id}/stats", headers=ADMIN).body
        if stats["timesServed"] >= 1:
            break
        time.sleep(0.3)
    assert stats["timesServed"] >= 1
    assert 0 < stats["exposureRate"] <= 1
    assert stats["pValue"] is not None and 0 <= stats["pValue"] <= 1
    picks = sum(o["share"] for o in stats["options"])  # each answer picks selectCount options at most
    select_count = admin_api.get(f"/admin/items/{item_id}", headers=ADMIN).body["selectCount"]
    slack = 5e-5 * (len(stats["options"]) + 1)  # shares and the blank rate are each rounded to 4 places
    assert (1 - stats["blankRate"]) - slack <= picks <= select_count * (1 - stats["blankRate"]) + slack
    assert stats["openReports"] >= 1
    assert admin_api.get("/admin/items/nope-item/stats", headers=ADMIN).status == 404


def test_given_a_service_name_then_the_report_lists_exactly_the_items_naming_it(admin_api: Api) -> None:
    import yaml

    from tests.conftest import EXAM_DIR

    naming = {
        i["id"]
        for f in (EXAM_DIR / "items").glob("*.yaml")
        for i in yaml.safe_load(f.read_text())["items"]
        if "Amazon RDS" in i.get("services", [])
    }
    assert naming  # the shipped bank names the service somewhere
    r = admin_api.get("/admin/reports/items?service=amazon%20rds&limit=200", headers=ADMIN)
    assert r.status == 200 and r.body["service"] == "amazon rds"
    assert {s["itemId"] for s in r.body["items"]} == naming
    detail = admin_api.get(f"/admin/items/{sorted(naming)[0]}", headers=ADMIN).body
    assert "Amazon RDS" in detail["services"] and detail["lastVerified"]
    nobody = admin_api.get("/admin/reports/items?service=Amazon%20Nothing", headers=ADMIN)
    assert nobody.status == 200 and nobody.body["items"] == []
    for bad in ("service=x", "service=" + "x" * 81):
        refused = admin_api.get(f"/admin/reports/items?{bad}", headers=ADMIN)
        assert refused.status == 422 and refused.body["error"]["code"], refused.body
