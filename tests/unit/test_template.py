"""The SAM template as data: who may call which route, and what each function may do to which table."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.gateway import Template
from tests.conftest import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
FUNCTIONS = TEMPLATE.resources_of("AWS::Serverless::Function")
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _routes() -> list[Any]:
    return TEMPLATE.routes


def test_every_admin_route_needs_iam() -> None:
    admin = [r for r in _routes() if r.path.startswith("/admin")]
    assert admin and all(r.authorizer == "AWS_IAM" for r in admin), [(r.path, r.authorizer) for r in admin]


def test_every_partner_route_needs_an_api_key() -> None:
    keyed = [r for r in _routes() if r.path.startswith(("/diagnostics", "/partner"))]
    assert keyed and all(r.api_key_required for r in keyed)
    assert all(not r.api_key_required for r in _routes() if not r.path.startswith(("/diagnostics", "/partner")))


def test_every_candidate_route_needs_the_cognito_authorizer() -> None:
    me = [r for r in _routes() if r.path.startswith("/me")]
    assert me and all(r.authorizer == "CognitoAuthorizer" for r in me)


def test_no_other_route_is_open_except_the_anonymous_exam_and_embed_routes() -> None:
    open_routes = {(r.method, r.path) for r in _routes() if not r.authorizer and not r.api_key_required}
    assert open_routes == {
        ("GET", "/exams"),
        ("POST", "/attempts"),
        ("GET", "/attempts/{attemptId}"),
        ("PUT", "/attempts/{attemptId}/responses"),
        ("POST", "/attempts/{attemptId}/submit"),
        ("GET", "/attempts/{attemptId}/review"),
        ("POST", "/attempts/{attemptId}/questions/{questionId}/report"),
        ("GET", "/embed/diagnostic.js"),
        ("GET", "/embed/demo"),
    }  # the attempt routes are guarded by the attempt token in the function


def _statements(function: str) -> list[dict[str, Any]]:
    out = []
    for policy in FUNCTIONS[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            out += policy["Statement"]
    return out


def _templates(function: str) -> set[str]:
    return {next(iter(p)) for p in FUNCTIONS[function]["Properties"].get("Policies", []) if "Statement" not in p}


def _resource_names(statement: dict[str, Any]) -> str:
    return str(statement["Resource"])


IDEMPOTENCY_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
STARTERS = {"ExamApiFunction", "DiagnosticApiFunction", "CandidateApiFunction"}  # Idempotency-Key routes


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_no_function_may_delete_or_use_wildcard_actions(function: str) -> None:
    """Except on the idempotency table, whose records Powertools deletes when a start fails."""
    for st in _statements(function):
        actions = set(st["Action"])
        assert not any(a.endswith("*") for a in actions)
        if "dynamodb:DeleteItem" in actions:
            assert st["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}, (function, st)
    assert "DynamoDBCrudPolicy" not in _templates(function)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_only_the_start_routes_functions_reach_the_idempotency_table_with_only_what_powertools_needs(
    function: str,
) -> None:
    on_table = [st for st in _statements(function) if "IdempotencyTable" in _resource_names(st)]
    if function not in STARTERS:
        assert on_table == []
        return
    assert [set(st["Action"]) for st in on_table] == [IDEMPOTENCY_ACTIONS]
    variables = FUNCTIONS[function]["Properties"]["Environment"]["Variables"]
    assert variables["IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}


def test_functions_that_only_read_the_bank_write_only_their_own_key_prefixes() -> None:
    for function, prefixes in {
        "ExamApiFunction": ["REPORTS#*"],
        "ItemStatsFunction": ["STATS#*", "STATSDONE#*"],
    }.items():
        for st in _statements(function):
            if "ItemsTable" in _resource_names(st) and WRITE_ACTIONS & set(st["Action"]):
                assert st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == prefixes


def test_read_only_functions_get_read_only_access() -> None:
    assert _templates("ItemStatsFunction") >= {"DynamoDBReadPolicy"}
    for function in ("ExamApiFunction", "DiagnosticApiFunction", "CandidateApiFunction"):
        assert "DynamoDBReadPolicy" in _templates(function)  # the bank: read only (reports excepted above)
    assert "Policies" not in FUNCTIONS["EmbedFunction"]["Properties"]  # static content: no AWS access at all


def test_tables_keep_candidates_data() -> None:
    for name, res in TEMPLATE.resources_of("AWS::DynamoDB::Table").items():
        assert res["DeletionPolicy"] == "Retain" and res["UpdateReplacePolicy"] == "Retain", name
        props = res["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["BillingMode"] == "PAY_PER_REQUEST" and props["SSESpecification"]["SSEEnabled"] is True
