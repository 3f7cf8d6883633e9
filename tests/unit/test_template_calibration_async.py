"""The template's side of asynchronous calibration runs: the calibration function may invoke itself and
nothing else, no other function may invoke any function, and its asynchronous invokes are not retried."""

from __future__ import annotations

from typing import Any

from exam_core.calibration_job import MAX_QUEUED_SECONDS, MAX_RUN_SECONDS

from infra.local.gateway import Template
from tests.conftest import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
FUNCTIONS = TEMPLATE.resources_of("AWS::Serverless::Function")
OWN_NAME = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-CalibrationFunction-*"
)


def _statements(function: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in FUNCTIONS[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            out += policy["Statement"]
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _lambda_statements(function: str) -> list[dict[str, Any]]:
    return [st for st in _statements(function) if any(a.lower().startswith("lambda:") for a in _actions(st))]


def test_given_the_calibration_function_then_it_may_invoke_only_itself() -> None:
    statements = _lambda_statements("CalibrationFunction")
    assert len(statements) == 1, statements
    (st,) = statements
    assert st["Effect"] == "Allow" and _actions(st) == ["lambda:InvokeFunction"]
    # SAM names the function <stack>-<logical id>-<suffix>; its own role cannot !GetAtt it (a cycle)
    assert st["Resource"] == {"Fn::Sub": OWN_NAME}
    assert "CalibrationFunction" in FUNCTIONS and "FunctionName" not in FUNCTIONS["CalibrationFunction"]["Properties"]


def test_given_every_other_function_then_none_may_invoke_a_function() -> None:
    for function in FUNCTIONS:
        if function != "CalibrationFunction":
            assert _lambda_statements(function) == [], function
            templates = {
                next(iter(p)) for p in FUNCTIONS[function]["Properties"].get("Policies", []) if "Statement" not in p
            }
            assert not templates & {"LambdaInvokePolicy", "AWSLambdaRole"}, function


def test_given_the_calibration_functions_async_invokes_then_they_are_not_retried_and_wait_at_most_six_hours() -> None:
    config = FUNCTIONS["CalibrationFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0  # a failed run is recorded failed; a retry must not run it twice
    assert config["MaximumEventAgeInSeconds"] == 6 * 3600  # exam_core.calibration_job.MAX_QUEUED_SECONDS assumes it
    assert config["MaximumEventAgeInSeconds"] + MAX_RUN_SECONDS == MAX_QUEUED_SECONDS
    assert FUNCTIONS["CalibrationFunction"]["Properties"]["Timeout"] <= MAX_RUN_SECONDS
