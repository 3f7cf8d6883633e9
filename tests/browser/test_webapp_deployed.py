"""The web app as deployed, in a real browser: served from "CloudFront" with the template's own response
headers (its CSP with connect-src), /config.json as infra.web.publish writes it, and sign-in through a fake
Cognito hosted UI (authorization code with PKCE). Playwright answers for the three HTTPS origins, so no
network and no AWS: the app's origin (the bucket's layout), the hosted UI (which checks the PKCE verifier
against the challenge, as Cognito does) and the API (forwarded to a local server, with the ID token turned
into the local `dev:` token, as the Cognito authorizer turns a valid ID token into claims)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from infra.local.gateway import Template
from infra.web import publish
from tests.browser.test_embed import CHROMIUM, LAUNCH_ARGS
from tests.e2e.conftest import ROOT, start_server

try:
    from playwright.sync_api import Page, Route, expect, sync_playwright
except ImportError:
    pytest.skip("playwright is not installed in this environment", allow_module_level=True)

if not CHROMIUM.exists():
    pytest.skip("no Chromium at /usr/bin/chromium", allow_module_level=True)

APP = "https://d111111abcdef8.cloudfront.net"
API_ORIGIN = "https://abc123.execute-api.us-east-1.amazonaws.com"
HOSTED_UI = "https://exam-scoring-123456789012.auth.us-east-1.amazoncognito.com"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"
OUTPUTS = {
    "WebAppUrl": f"{APP}/",
    "ApiUrl": f"{API_ORIGIN}/v1",
    "CandidateSignInUrl": HOSTED_UI,
    "CandidatePoolClientId": CLIENT_ID,
}


def deployed_headers() -> dict[str, str]:
    """The response headers policy of template.yaml, with the stack's names filled in."""
    policy = Template(ROOT / "template.yaml").resources["WebResponseHeadersPolicy"]["Properties"]
    security = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    for name, value in {
        "${ExamApi}": "abc123",
        "${AWS::Region}": "us-east-1",
        "${AWS::URLSuffix}": "amazonaws.com",
        "${CandidatePoolDomain}": "exam-scoring-123456789012",
    }.items():
        csp = csp.replace(name, value)
    assert "${" not in csp
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
        "Strict-Transport-Security": f"max-age={security['StrictTransportSecurity']['AccessControlMaxAgeSec']}",
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(sub: str, email: str) -> str:
    """A JWT-shaped ID token (the fake authorizer below trusts what this fake hosted UI issued)."""
    header = _b64(json.dumps({"alg": "none", "kid": "test"}).encode())
    claims = {"sub": sub, "email": email, "token_use": "id", "aud": CLIENT_ID, "exp": 4102444800}
    return f"{header}.{_b64(json.dumps(claims).encode())}.sig"


@dataclass
class HostedUi:
    """What the fake Cognito saw and issued."""

    authorize: list[dict[str, str]] = field(default_factory=list)
    token_forms: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    api_auth: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _form(text: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(text or "").items()}


def _json(route: Route, status: int, body: Any) -> None:
    route.fulfill(
        status=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Access-Control-Allow-Origin": APP},
    )


def fake_hosted_ui(ui: HostedUi) -> Any:
    def handle(route: Route) -> None:
        url = urlsplit(route.request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/oauth2/authorize":
            ui.authorize.append(query)
            code = secrets.token_urlsafe(12)
            ui.codes[code] = query
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/oauth2/token":
            form = _form(route.request.post_data)
            ui.token_forms.append(form)
            asked = ui.codes.pop(form.get("code", ""), None)  # a code works once
            verifier = form.get("code_verifier", "")
            ok = (
                asked is not None
                and form.get("grant_type") == "authorization_code"
                and form.get("client_id") == asked["client_id"] == CLIENT_ID
                and form.get("redirect_uri") == asked["redirect_uri"]
                and asked.get("code_challenge_method") == "S256"
                and _b64(hashlib.sha256(verifier.encode()).digest()) == asked["code_challenge"]
            )
            if not ok:
                _json(route, 400, {"error": "invalid_grant"})
                return
            token = id_token("cand-hosted-1", "hosted@example.test")
            ui.issued.add(token)
            _json(
                route,
                200,
                {
                    "id_token": token,
                    "access_token": "opaque-access",
                    "refresh_token": "refresh-1",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                },
            )
        elif url.path == "/oauth2/revoke":
            ui.revoked.append(_form(route.request.post_data).get("token", ""))
            _json(route, 200, {})
        elif url.path == "/logout":
            ui.logouts.append(query)
            route.fulfill(status=302, headers={"Location": query["logout_uri"]})
        else:
            route.fulfill(status=404, body="not found")

    return handle


def fake_cloudfront(files: dict[str, tuple[bytes, str]]) -> Any:
    headers = deployed_headers()

    def handle(route: Route) -> None:
        path = urlsplit(route.request.url).path
        key = "index.html" if path == "/" else path.lstrip("/")  # DefaultRootObject
        if key not in files:
            route.fulfill(status=403, body="AccessDenied")  # what S3 answers through OAC for a missing key
            return
        body, content_type = files[key]
        route.fulfill(status=200, body=body, headers={**headers, "Content-Type": content_type})

    return handle


def fake_api_gateway(ui: HostedUi, local: str) -> Any:
    """The stage, forwarded to the local server; the authorizer accepts only ID tokens the hosted UI issued."""

    def handle(route: Route) -> None:
        request = route.request
        cors = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "Content-Type,Authorization,X-Api-Key,X-Attempt-Token,Idempotency-Key",
            "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        path = urlsplit(request.url).path.removeprefix("/v1")
        query = urlsplit(request.url).query
        headers = dict(request.headers)
        auth = headers.pop("authorization", "")
        if path.startswith("/me"):
            token = auth.removeprefix("Bearer ")
            ui.api_auth.append(token)
            if token not in ui.issued:
                ui.refused.append(path)
                route.fulfill(status=401, body='{"message":"Unauthorized"}', headers=cors)
                return
            payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            headers["authorization"] = f"Bearer dev:{payload['sub']}"
        response = route.fetch(url=f"{local}{path}{'?' + query if query else ''}", headers=headers)
        route.fulfill(response=response, headers={**response.headers, **cors})

    return handle


def app_files() -> dict[str, tuple[bytes, str]]:
    """The bucket's objects, as infra.web.publish writes them."""
    files = {key: (path.read_bytes(), ctype) for key, path, ctype in publish.web_files()}
    files["config.json"] = (json.dumps(publish.config_from_outputs(OUTPUTS)).encode(), "application/json")
    return files


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    proc, base, _lines = start_server()
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_deployed_sign_in_is_the_code_flow_with_pkce_and_the_app_calls_the_api_with_the_id_token(
    local_api: str,
) -> None:
    ui = HostedUi()
    errors: list[str] = []
    csp_violations: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            context.set_default_timeout(10_000)
            context.route(f"{APP}/**", fake_cloudfront(app_files()))
            context.route(f"{HOSTED_UI}/**", fake_hosted_ui(ui))
            context.route(f"{API_ORIGIN}/**", fake_api_gateway(ui, local_api))
            page: Page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)

            page.goto(f"{APP}/#/")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            expect(page.get_by_test_id("candidate-id")).to_have_count(0)  # no dev sign-in when deployed
            page.get_by_test_id("sign-in").click()
            expect(page.get_by_test_id("start-full")).to_be_visible(timeout=15_000)

            (asked,) = ui.authorize
            assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
            assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == f"{APP}/"
            assert asked["scope"] == "openid email" and len(asked["state"]) >= 32
            assert len(ui.token_forms) == 1 and ui.issued, ui.token_forms  # the verifier matched the challenge
            assert "code=" not in page.url and "state=" not in page.url  # taken out of the address bar
            expect(page.get_by_text("Signed in as hosted@example.test")).to_be_visible()
            assert page.evaluate("() => localStorage.length") == 0
            stored = page.evaluate("() => Object.keys(sessionStorage).sort()")
            assert stored == ["exam-app:refresh-token", "exam-app:token"], stored
            assert ui.api_auth and set(ui.api_auth) <= ui.issued and not ui.refused  # the ID token, every call

            page.get_by_test_id("start-full").click()  # a write through the cross-origin API, CSP allowing it
            expect(page.get_by_test_id("question-stem")).to_be_visible(timeout=15_000)

            page.get_by_test_id("sign-out").click()
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=15_000)
            assert ui.revoked == ["refresh-1"]
            assert ui.logouts == [{"client_id": CLIENT_ID, "logout_uri": f"{APP}/"}]
            assert page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('exam-app:'))") == []
        finally:
            browser.close()
    assert errors == [] and csp_violations == [], (errors, csp_violations)


def test_a_callback_with_a_state_this_tab_did_not_send_is_refused_and_no_code_is_exchanged(local_api: str) -> None:
    ui = HostedUi()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(10_000)
            context.route(f"{APP}/**", fake_cloudfront(app_files()))
            context.route(f"{HOSTED_UI}/**", fake_hosted_ui(ui))
            context.route(f"{API_ORIGIN}/**", fake_api_gateway(ui, local_api))
            page = context.new_page()
            page.goto(f"{APP}/?code=stolen-code&state=forged")  # a link someone else made
            expect(page.get_by_role("alert")).to_contain_text("did not match")
            assert ui.token_forms == [] and "code=" not in page.url
            expect(page.get_by_test_id("sign-in")).to_be_visible()
        finally:
            browser.close()
