"""The served OpenAPI document as a client generator reads it: security schemes per operation, operation ids.

The document is the one ``make run`` serves at ``/openapi.json`` (``infra.local.gateway.openapi_document``:
every function's resolver merged by Powertools, plus the attempt-token header and the links), built here
in-process from ``template.yaml`` with no server and no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exam_core.http import ADMIN, ATTEMPT_TOKEN, CANDIDATE, PARTNER_KEY, TOKEN_HEADER

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
