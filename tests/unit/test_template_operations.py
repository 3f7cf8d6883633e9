"""The template's operations, checked as data: alarms, the dead-letter queue, gradual deploys, the dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.local.gateway import Template
from tests.conftest import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE.resources
FUNCTIONS = TEMPLATE.resources_of("AWS::Serverless::Function")
ALARMS = TEMPLATE.resources_of("AWS::CloudWatch::Alarm")


def _api_functions() -> list[str]:
    """Functions that only serve API routes (the calibration job also runs on a schedule: not a canary's)."""
    out = []
    for name, res in FUNCTIONS.items():
        events = res["Properties"].get("Events", {}).values()
        if events and all(e["Type"] == "Api" for e in events):
            out.append(name)
    return sorted(out)


def _alarm_on(function: str, metric: str) -> str | None:
    for name, res in ALARMS.items():
        p = res["Properties"]
        dims = p.get("Dimensions", [])
        on_function = {"Name": "FunctionName", "Value": {"Ref": function}} in dims
        if p.get("Namespace") == "AWS/Lambda" and p.get("MetricName") == metric and on_function:
            return name
    return None


def test_the_api_functions_are_the_five_that_serve_candidates_partners_and_admins() -> None:
    assert _api_functions() == [
        "AdminApiFunction",
        "CandidateApiFunction",
        "DiagnosticApiFunction",
        "EmbedFunction",
        "ExamApiFunction",
    ]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_its_error_and_throttle_alarm(function: str, metric: str) -> None:
    assert _alarm_on(function, metric), f"no {metric} alarm on {function}"


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears() -> None:
    for name, res in ALARMS.items():
        p = res["Properties"]
        assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert p["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert p.get("TreatMissingData") == "notBreaching", name  # quiet while nobody uses the stack


def test_the_alarm_topic_takes_an_email_only_when_one_is_given() -> None:
    sub = RESOURCES["AlarmEmailSubscription"]
    assert sub["Condition"] == "AlarmEmailGiven"
    assert sub["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert TEMPLATE.doc["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_service_level_alarms_exist() -> None:
    metrics = {
        (res["Properties"].get("Namespace"), res["Properties"].get("MetricName")): name for name, res in ALARMS.items()
    }
    assert ("AWS/Lambda", "IteratorAge") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    latency = ALARMS["ExamApiLatencyAlarm"]["Properties"]
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ExamApiFunction"}}]
    rate = ALARMS["Api5xxRateAlarm"]["Properties"]["Metrics"]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in rate if "MetricStat" in m} == {"5XXError", "Count"}
    for name, metric in (
        ("DynamoDbThrottlesAlarm", "ThrottledRequests"),
        ("DynamoDbSystemErrorsAlarm", "SystemErrors"),
    ):
        (query,) = ALARMS[name]["Properties"]["Metrics"]
        sql = query["Expression"]["Fn::Sub"]
        assert f"SUM({metric})" in sql
        for table in TEMPLATE.resources_of("AWS::DynamoDB::Table"):
            assert f"'${{{table}}}'" in sql, f"{name} does not watch {table}"


def test_the_stream_consumer_keeps_the_batches_it_gives_up_on_in_an_encrypted_queue_for_14_days() -> None:
    (event,) = FUNCTIONS["ItemStatsFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "DynamoDB"
    on_failure = event["Properties"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}}
    queue = RESOURCES["StreamFailureQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86_400
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["DeletionPolicy"] == "Retain"
    assert event["Properties"]["MaximumRetryAttempts"] >= 1


@pytest.mark.parametrize("function", _api_functions())
def test_every_api_function_deploys_gradually_and_rolls_back_on_its_alarms(function: str) -> None:
    props = FUNCTIONS[function]["Properties"]
    assert props["AutoPublishAlias"] == "live"  # CodeDeploy shifts the alias
    preference = props["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert {"Ref": _alarm_on(function, "Errors")} in preference["Alarms"]
    assert {"Ref": "Api5xxRateAlarm"} in preference["Alarms"]


def test_the_default_deployment_is_a_canary() -> None:
    param = TEMPLATE.doc["Parameters"]["DeploymentType"]
    assert param["Default"].startswith("Canary")
    assert "AllAtOnce" in param["AllowedValues"]


def _dashboard() -> dict[str, Any]:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # Every ${...} is a CloudFormation substitution: a resource, a parameter or a pseudo parameter.
    for ref in re.findall(r"\$\{([^}]+)\}", body):
        name = ref.split(".")[0]
        assert name in RESOURCES or name in TEMPLATE.doc["Parameters"] or name.startswith("AWS::"), ref
    return dict(json.loads(re.sub(r"\$\{[^}]+\}", "x", body)))


def test_the_dashboard_shows_every_alarm_and_every_business_metric() -> None:
    widgets = _dashboard()["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    shown = {a.removeprefix("${").removesuffix(".Arn}") for a in _raw_alarm_arns()}
    assert shown == set(ALARMS)
    assert len(alarm_widget["properties"]["alarms"]) == len(ALARMS)
    text = json.dumps(widgets)
    for metric in ("AttemptsStarted", "AttemptsSubmitted", "Passes", "DiagnosticsStarted", "SavesRefused"):
        assert f'MetricName=\\\\"{metric}\\\\"' in text or f'MetricName=\\"{metric}\\"' in text, metric
    assert "ServiceUnavailable" in text


def _raw_alarm_arns() -> list[str]:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return re.findall(r"\$\{[A-Za-z0-9]+Alarm\.Arn\}", body)


def test_the_business_metrics_the_code_emits_are_the_ones_the_dashboard_searches() -> None:
    source = (ROOT / "shared" / "exam_core" / "metrics.py").read_text()
    emitted = set(re.findall(r'_emit\(\s*"([A-Za-z]+)"', source))
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    searched = set(re.findall(r'MetricName=\\"([A-Za-z]+)\\"', body)) - {"ThrottledRequests", "SystemErrors"}
    assert emitted == searched
