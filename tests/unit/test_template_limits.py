"""The template's rate limits as data: method throttles on the anonymous write routes, the optional WAF,
and the gateway responses that keep throttled and oversize requests in the API's JSON error shape.
Also the local gateway's reading of them (its token bucket), which the e2e throttle test relies on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.gateway import Template, TokenBucket
from tests.conftest import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
API = next(iter(TEMPLATE.resources_of("AWS::Serverless::Api").values()))["Properties"]
PARAMETERS = TEMPLATE.doc["Parameters"]
ANONYMOUS_WRITES = {
    ("POST", "/attempts"): ("AttemptStartRateLimit", "AttemptStartBurstLimit"),
    ("POST", "/attempts/{attemptId}/questions/{questionId}/report"): ("ReportRateLimit", "ReportBurstLimit"),
}


def _setting(path: str, method: str) -> dict[str, Any]:
    encoded = path if path == "/*" else "/" + path.replace("/", "~1")
    found = [s for s in API["MethodSettings"] if s["ResourcePath"] == encoded and s["HttpMethod"] == method]
    assert len(found) == 1, (path, method, API["MethodSettings"])
    return found[0]


@pytest.mark.parametrize(("method", "path"), sorted(ANONYMOUS_WRITES))
def test_anonymous_write_routes_have_their_own_throttle_from_parameters(method: str, path: str) -> None:
    assert (method, path) in {(r.method, r.path) for r in TEMPLATE.routes}  # the setting names a real route
    setting = _setting(path, method)
    rate_param, burst_param = ANONYMOUS_WRITES[(method, path)]
    assert setting["ThrottlingRateLimit"] == {"Ref": rate_param}
    assert setting["ThrottlingBurstLimit"] == {"Ref": burst_param}
    stage_rate = float(PARAMETERS["ApiThrottleRateLimit"]["Default"])
    rate, burst = float(PARAMETERS[rate_param]["Default"]), float(PARAMETERS[burst_param]["Default"])
    assert 0 < rate < stage_rate and rate <= burst  # tighter than the stage, and a burst of at least one second
    assert PARAMETERS[rate_param]["Type"] == PARAMETERS[burst_param]["Type"] == "Number"


def test_the_stage_throttle_still_covers_every_other_route() -> None:
    setting = _setting("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}


def test_the_local_gateway_reads_the_same_throttles() -> None:
    for (method, path), (rate_param, burst_param) in ANONYMOUS_WRITES.items():
        expected = (float(PARAMETERS[rate_param]["Default"]), float(PARAMETERS[burst_param]["Default"]))
        assert TEMPLATE.api.throttle_for(method, path) == expected
    stage = (
        float(PARAMETERS["ApiThrottleRateLimit"]["Default"]),
        float(PARAMETERS["ApiThrottleBurstLimit"]["Default"]),
    )
    assert TEMPLATE.api.throttle_for("POST", "/me/attempts") == stage
    assert TEMPLATE.api.throttle_for("POST", "/diagnostics") == stage
    overridden = Template(ROOT / "template.yaml", {"AttemptStartRateLimit": "0.5", "AttemptStartBurstLimit": "3"})
    assert overridden.api.throttle_for("POST", "/attempts") == (0.5, 3.0)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("THROTTLED", 429, "too_many_requests"),
    ("QUOTA_EXCEEDED", 429, "quota_exceeded"),
    ("REQUEST_TOO_LARGE", 413, "payload_too_large"),
])  # fmt: skip
def test_gateway_refusals_use_the_api_error_body_with_cors(kind: str, status: int, code: str) -> None:
    got_status, headers, body = TEMPLATE.api.response(kind)
    assert got_status == status
    assert headers.get("Access-Control-Allow-Origin") == "*"
    parsed = json.loads(body)
    assert parsed["error"]["code"] == code and parsed["error"]["message"] and parsed["error"]["details"] == []


def test_throttled_answers_say_when_to_retry() -> None:
    assert TEMPLATE.api.response("THROTTLED")[1].get("Retry-After") == "1"


# ---------------------------------------------------------------- WAF

WAF = TEMPLATE.resources_of("AWS::WAFv2::WebACL")
ASSOCIATIONS = TEMPLATE.resources_of("AWS::WAFv2::WebACLAssociation")


def test_waf_is_optional_and_off_by_default() -> None:
    assert PARAMETERS["EnableWaf"]["Default"] == "false"
    assert set(PARAMETERS["EnableWaf"]["AllowedValues"]) == {"true", "false"}
    assert TEMPLATE.doc["Conditions"]["WafEnabled"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    assert len(WAF) == 1 and len(ASSOCIATIONS) == 1
    for resource in (*WAF.values(), *ASSOCIATIONS.values()):
        assert resource["Condition"] == "WafEnabled"


def test_the_web_acl_is_regional_and_attached_to_the_api_stage() -> None:
    (acl_id, acl), association = next(iter(WAF.items())), next(iter(ASSOCIATIONS.values()))["Properties"]
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = json.dumps(association["ResourceArn"])
    assert ":apigateway:" in arn and "/restapis/${ExamApi}/stages/" in arn and '{"Ref": "ExamApi.Stage"}' in arn


def _rules() -> dict[str, dict[str, Any]]:
    acl = next(iter(WAF.values()))["Properties"]
    return {r["Name"]: r for r in acl["Rules"]}


def test_rate_rules_count_per_ip_with_limits_from_parameters() -> None:
    rules = _rules()
    rated = {
        name: r["Statement"]["RateBasedStatement"]
        for name, r in rules.items()
        if "RateBasedStatement" in r["Statement"]
    }
    assert {"requests-per-ip", "attempt-starts-per-ip"} <= set(rated)
    for name, statement in rated.items():
        assert statement["AggregateKeyType"] == "IP", name
        limit = statement["Limit"]["Ref"]
        assert PARAMETERS[limit]["Type"] == "Number" and int(PARAMETERS[limit]["Default"]) >= 10
        assert rules[name]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert "ScopeDownStatement" not in rated["requests-per-ip"]  # every route
    scope = json.dumps(rated["attempt-starts-per-ip"]["ScopeDownStatement"])
    assert '"POST"' in scope and '"/attempts"' in scope and '"/me/"' in scope  # anonymous starts, not /me


def test_waf_blocks_answer_with_the_api_error_body() -> None:
    acl = next(iter(WAF.values()))["Properties"]
    bodies = acl["CustomResponseBodies"]
    for rule in _rules().values():
        custom = rule["Action"]["Block"]["CustomResponse"]
        body = bodies[custom["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        assert set(json.loads(body["Content"])["error"]) == {"code", "message", "details"}


def test_waf_refuses_bodies_over_the_functions_limit_except_on_admin_routes() -> None:
    from exam_core.settings import Settings

    rule = _rules()["body-too-large"]
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 413
    size, not_admin = rule["Statement"]["AndStatement"]["Statements"]
    constraint = size["SizeConstraintStatement"]
    assert constraint["ComparisonOperator"] == "GT" and constraint["Size"] == Settings().max_body_bytes
    assert constraint["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"  # bigger than WAF inspects: refused
    acl = next(iter(WAF.values()))["Properties"]
    assert acl["AssociationConfig"]["RequestBody"]["API_GATEWAY"]["DefaultSizeInspectionLimit"] == "KB_64"
    assert "/admin/" in json.dumps(not_admin["NotStatement"])


# ---------------------------------------------------------------- the local token bucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.25  # half a token
    assert bucket.take() is False
    clock.now += 0.25  # one whole token
    assert bucket.take() is True and bucket.take() is False
    clock.now += 60  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
