"""The served OpenAPI document as a client generator reads it: security schemes per operation, operation ids.

The document is the one ``make run`` serves at ``/openapi.json`` (``infra.local.gateway.openapi_document``:
every function's resolver merged by Powertools, plus the attempt-token header and the links), built here
in-process from ``template.yaml`` with no server and no network.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from exam_core.bank import parse_items
from exam_core.http import ADMIN, ATTEMPT_TOKEN, CANDIDATE, PARTNER_KEY, TOKEN_HEADER
from exam_core.models import api as api_models
from exam_core.models import study as study_models
from exam_core.models.api import ImportRequest
from exam_core.models.bank import Blueprint
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from infra.local.gateway import Gateway, Template, openapi_document

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def doc(template: Template) -> dict[str, Any]:
    return openapi_document(Gateway(template, api_keys={}), "http://127.0.0.1:3000")


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, /path) -> operation, for every operation the document declares."""
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def reads_attempt_token(op: dict[str, Any]) -> bool:
    return any(p.get("in") == "header" and p.get("name") == TOKEN_HEADER for p in op.get("parameters", []))


def template_schemes(template: Template, api_key_required: bool, authorizer: str | None) -> set[str]:
    """The security schemes API Gateway enforces on a route, read from its event's Auth in template.yaml."""
    schemes = {PARTNER_KEY} if api_key_required else set()
    if authorizer == "AWS_IAM":
        schemes.add(ADMIN)
    elif authorizer is not None:
        api = next(iter(template.resources_of("AWS::Serverless::Api").values()))
        cognito = api["Properties"]["Auth"]["Authorizers"][authorizer]
        assert "UserPoolArn" in cognito, f"{authorizer} is not a Cognito user pool authorizer"
        schemes.add(CANDIDATE)
    return schemes


def test_each_operation_requires_exactly_the_auth_the_template_gives_its_route(
    template: Template, doc: dict[str, Any]
) -> None:
    # Given every route of template.yaml and the served document
    ops = operations(doc)
    assert {(r.method, r.path) for r in template.routes} == set(ops), "the document and the template list other routes"
    for route in template.routes:
        op = ops[(route.method, route.path)]
        # When the operation's security is read as one requirement (every scheme named is needed at once)
        requirements = op.get("security", [])
        assert len(requirements) <= 1, f"{route.method} {route.path}: alternatives are not how this API works"
        declared = set(requirements[0]) if requirements else set()
        # Then it names the template's auth (API key, Cognito, IAM) plus the attempt token where the route reads it
        expected = template_schemes(template, route.api_key_required, route.authorizer)
        if reads_attempt_token(op):
            expected.add(ATTEMPT_TOKEN)
        assert declared == expected, f"{route.method} {route.path}"
        assert all(scopes == [] for scopes in requirements[0].values()) if requirements else True


def test_the_routes_open_to_anyone_declare_no_security(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    for key in [("GET", "/exams"), ("POST", "/attempts"), ("GET", "/embed/diagnostic.js"), ("GET", "/embed/demo")]:
        assert "security" not in ops[key], key
    # and the document sets no global requirement that would apply to them
    assert not doc.get("security")


def test_the_security_schemes_are_declared_as_api_gateway_declares_them(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == {PARTNER_KEY, ATTEMPT_TOKEN, CANDIDATE, ADMIN}
    assert {k: schemes[PARTNER_KEY][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    assert {k: schemes[ATTEMPT_TOKEN][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Attempt-Token",
    }
    assert schemes[CANDIDATE]["type"] == "http"
    assert schemes[CANDIDATE]["scheme"] == "bearer"
    assert "https://cognito-idp." in schemes[CANDIDATE]["description"]
    # AWS SigV4 the way API Gateway's own OpenAPI export declares AWS_IAM
    assert {k: schemes[ADMIN][k] for k in ("type", "in", "name", "x-amazon-apigateway-authtype")} == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
    for scheme in schemes.values():
        assert scheme["description"]


# The published operation ids: generated clients name their functions after them, so they never change.
# A new route adds a line; renaming or removing one breaks every client built from an earlier document.
STABLE_OPERATION_IDS = {
    ("GET", "/exams"): "listExams",
    ("POST", "/attempts"): "startAttempt",
    ("GET", "/attempts/{attemptId}"): "getAttempt",
    ("PUT", "/attempts/{attemptId}/responses"): "saveResponses",
    ("POST", "/attempts/{attemptId}/submit"): "submitAttempt",
    ("GET", "/attempts/{attemptId}/review"): "reviewAttempt",
    ("POST", "/attempts/{attemptId}/questions/{questionId}/report"): "reportProblem",
    ("POST", "/diagnostics"): "startDiagnostic",
    ("GET", "/diagnostics/{attemptId}"): "getDiagnostic",
    ("POST", "/diagnostics/{attemptId}/submit"): "submitDiagnostic",
    ("POST", "/diagnostics/{attemptId}/next"): "nextDiagnosticStage",
    ("GET", "/diagnostics/{attemptId}/review"): "reviewDiagnostic",
    ("GET", "/partner/summary"): "getPartnerSummary",
    ("POST", "/me/attempts"): "startMyAttempt",
    ("GET", "/me/attempts"): "listMyAttempts",
    ("GET", "/me/attempts/{attemptId}"): "getMyAttempt",
    ("PUT", "/me/attempts/{attemptId}/responses"): "saveMyResponses",
    ("POST", "/me/attempts/{attemptId}/submit"): "submitMyAttempt",
    ("GET", "/me/attempts/{attemptId}/review"): "reviewMyAttempt",
    ("POST", "/me/attempts/{attemptId}/check"): "checkMyAnswer",
    ("GET", "/me/progress"): "getMyProgress",
    ("GET", "/me/readiness"): "getMyReadiness",
    ("POST", "/me/diagnostics/{attemptId}/claim"): "claimDiagnostic",
    ("GET", "/admin/items"): "listItems",
    ("PUT", "/admin/items"): "importItems",
    ("GET", "/admin/items/{itemId}"): "getItem",
    ("PATCH", "/admin/items/{itemId}"): "updateItem",
    ("GET", "/admin/items/{itemId}/stats"): "getItemStats",
    ("GET", "/admin/reports/items"): "listSuspectItems",
    ("POST", "/admin/calibrations"): "runCalibration",
    ("GET", "/admin/calibrations/{calibrationId}"): "getCalibration",
    ("GET", "/embed/diagnostic.js"): "getEmbedScript",
    ("GET", "/embed/demo"): "getEmbedDemo",
}
CAMEL_CASE = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$|^[a-z][a-z0-9]*$")


def test_every_operation_has_an_explicit_camel_case_id_and_no_two_share_one(doc: dict[str, Any]) -> None:
    ids = {key: op.get("operationId", "") for key, op in operations(doc).items()}
    # Powertools' generated ids are the function name, the path and the method joined by underscores
    not_camel = {key: op_id for key, op_id in ids.items() if not CAMEL_CASE.match(op_id)}
    assert not_camel == {}, "set operation_id= on the route"
    counts = Counter(ids.values())
    assert [op_id for op_id, n in counts.items() if n > 1] == []


def test_published_operation_ids_never_change(doc: dict[str, Any]) -> None:
    ids = {key: op["operationId"] for key, op in operations(doc).items()}
    assert {key: ids.get(key) for key in STABLE_OPERATION_IDS} == STABLE_OPERATION_IDS
    new = set(ids) - set(STABLE_OPERATION_IDS)
    assert new == set(), f"add the new routes' ids to STABLE_OPERATION_IDS: {sorted(new)}"


def test_links_name_operations_by_their_stable_ids(doc: dict[str, Any]) -> None:
    known = set(STABLE_OPERATION_IDS.values())
    targets = [
        link["operationId"]
        for op in operations(doc).values()
        for response in op.get("responses", {}).values()
        for link in response.get("links", {}).values()
    ]
    assert targets
    assert set(targets) <= known


def _body_schema_names(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, /path) -> the component schema of the operation's JSON request body."""
    out = {}
    for key, op in operations(doc).items():
        body = op.get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        refs = [s["$ref"] for s in [schema, *schema.get("anyOf", [])] if "$ref" in s]  # optional bodies: X | null
        assert len(refs) == 1, f"{key}: the body is not one named model"
        out[key] = refs[0].rsplit("/", 1)[-1]
    return out


def _model(name: str) -> type[BaseModel]:
    for module in (api_models, study_models):
        model = getattr(module, name, None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model
    raise AssertionError(f"no request model named {name}")


def test_every_request_body_has_an_example_valid_against_its_schema_and_its_model(doc: dict[str, Any]) -> None:
    bodies = _body_schema_names(doc)
    assert len(bodies) >= 10  # every route that reads a body
    for key, name in bodies.items():
        # Given the body's schema as published
        schema = doc["components"]["schemas"][name]
        examples = schema.get("examples")
        assert examples, f"{key}: {name} has no example"
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})
        for example in examples:
            # Then each example passes the published JSON schema and the model the handler validates with
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], f"{key}: {name} example {example} breaks the schema"
            _model(name).model_validate_json(json.dumps(example))


def test_the_import_example_is_an_item_the_bank_would_accept(blueprint: Blueprint) -> None:
    (example,) = ImportRequest.model_json_schema(by_alias=True)["examples"]
    items = parse_items(blueprint, example["items"])
    assert [item.id for item in items] == ["clf-3.6-901"]
    services = set(yaml.safe_load((ROOT / "infra/bank/clf-c02/services.yaml").read_text())["services"])
    assert set(items[0].services) <= services


def test_the_fuzz_accepts_api_gateways_403_for_a_missing_signature_and_nothing_else() -> None:
    from types import SimpleNamespace

    from tests.fuzz.hooks import is_api_gateway_missing_signature

    missing = SimpleNamespace(header_name="Authorization")
    admin = SimpleNamespace(operation=SimpleNamespace(path="/admin/items"))
    candidate = SimpleNamespace(operation=SimpleNamespace(path="/me/attempts"))
    gateway = b'{"message":"Missing Authentication Token"}'
    assert is_api_gateway_missing_signature(missing, admin, 403, gateway)
    assert not is_api_gateway_missing_signature(missing, candidate, 403, gateway)  # Cognito answers 401
    assert not is_api_gateway_missing_signature(missing, admin, 200, b"{}")
    assert not is_api_gateway_missing_signature(missing, admin, 403, b'{"error":{"code":"x"}}')
    assert not is_api_gateway_missing_signature(SimpleNamespace(header_name="X-Api-Key"), admin, 403, gateway)
    assert not is_api_gateway_missing_signature(SimpleNamespace(), admin, 403, gateway)  # another check's failure
