"""web/js/auth.js without a browser: Node runs the PKCE helpers and the hosted-UI sign-in against fakes.

The module is imported as it ships (an ES module, no build), with sessionStorage, location, history and
fetch replaced by small fakes; each scenario runs in a fresh Node process. Skipped when Node is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (the browser suite covers sign-in)")

HARNESS = r"""
const store = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
globalThis.localStorage = new Proxy({}, { get() { throw new Error("localStorage used"); } });
const assigned = [];
globalThis.location = {
  hash: "#/exam/a1/3", search: "", pathname: "/",
  assign: (url) => assigned.push(url),
};
const replaced = [];
globalThis.history = { replaceState: (_s, _t, url) => replaced.push(url) };
const requests = [];
let configStatus = 200;
const CONFIG = {
  apiUrl: "https://api.example.test/v1",
  cognito: { domain: "https://pool.auth.us-east-1.amazoncognito.com/", clientId: "client-1",
             redirectUri: "https://app.example.test/", logoutUri: "https://app.example.test/",
             scopes: ["openid", "email"] },
};
const jwt = (claims) => ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "sig"].join(".");
globalThis.fetch = async (url, init = {}) => {
  requests.push({ url: String(url), method: init.method || "GET", body: init.body ? String(init.body) : "" });
  const json = (status, body) => ({ ok: status < 400, status, json: async () => body, headers: new Map() });
  if (url === "/config.json") return json(configStatus, configStatus === 200 ? CONFIG : { error: {} });
  if (String(url).endsWith("/oauth2/token")) {
    return json(200, { id_token: jwt({ email: "cand@example.test", exp: Date.now() / 1000 + 3600 }),
                       access_token: "access", refresh_token: "refresh-1", expires_in: 3600 });
  }
  return json(200, {});
};

const auth = await import("./auth.js");
const api = await import("./api.js");
const out = {};
const scenario = process.argv[2];
if (scenario === "rfc7636") {
  out.challenge = await auth.challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  out.verifiers = [auth.randomVerifier(), auth.randomVerifier()];
} else if (scenario === "local") {
  configStatus = 404;
  out.error = await auth.boot();
  out.hosted = auth.hostedSignIn();
  out.config = auth.currentConfig();
  await api.call("GET", "/exams");
  out.requests = requests.map((r) => r.url);
} else if (scenario === "round-trip" || scenario === "wrong-state") {
  await auth.boot();
  out.hosted = auth.hostedSignIn();
  await auth.startSignIn();
  out.authorize = assigned[0];
  const params = new URL(assigned[0]).searchParams;
  const state = scenario === "round-trip" ? params.get("state") : "forged";
  location.search = `?code=the-code&state=${state}`;
  location.hash = "";
  out.error = await auth.boot();  // the page loads again at the callback
  out.replaced = replaced;
  const tokenCall = requests.find((r) => r.url.endsWith("/oauth2/token"));
  out.tokenForm = tokenCall ? Object.fromEntries(new URLSearchParams(tokenCall.body)) : null;
  out.challengeOfSentVerifier = out.tokenForm ? await auth.challengeOf(out.tokenForm.code_verifier) : null;
  out.challenge = params.get("code_challenge");
  out.token = api.token();
  out.name = out.token ? auth.displayName(out.token) : null;
  out.keys = [...store.keys()];
  if (out.token) {
    await api.call("GET", "/me/attempts");
    const me = requests.at(-1);
    out.apiCall = me.url;
    auth.signOutRedirect(auth.refreshToken());
    await new Promise((r) => setTimeout(r, 10));
    out.revoke = requests.at(-1).url;
    out.logout = assigned.at(-1);
  }
}
if (scenario === "refresh") {
  await auth.boot();
  api.setToken(jwt({ email: "cand@example.test", exp: Date.now() / 1000 + 30 }));  // 30 s left
  sessionStorage.setItem("exam-app:refresh-token", "refresh-0");
  const before = api.token();
  await Promise.all([api.call("GET", "/me/attempts"), api.call("GET", "/me/progress")]);
  const refreshes = requests.filter((r) => r.url.endsWith("/oauth2/token"));
  out.refreshForms = refreshes.map((r) => Object.fromEntries(new URLSearchParams(r.body)));
  out.renewed = api.token() !== before;
  out.apiCalls = requests.filter((r) => r.url.includes("/me/")).length;
  const fresh = api.token();
  await api.call("GET", "/me/attempts");
  out.refreshesAfter = requests.filter((r) => r.url.endsWith("/oauth2/token")).length;
  out.sameToken = api.token() === fresh;
}
console.log(JSON.stringify(out));
"""


def _run(tmp_path: Path, scenario: str) -> dict[str, Any]:
    for name in ("auth.js", "api.js"):
        shutil.copy(ROOT / "web" / "js" / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "harness.js").write_text(HARNESS)
    done = subprocess.run(
        [str(NODE), "harness.js", scenario], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_given_the_rfc_7636_example_verifier_when_hashed_then_the_s256_challenge_matches_the_rfc(
    tmp_path: Path,
) -> None:
    out = _run(tmp_path, "rfc7636")
    assert out["challenge"] == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636, appendix B
    a, b = out["verifiers"]
    assert a != b and len(a) == 43 and all(ch.isalnum() or ch in "-_" for ch in a)


def test_given_no_config_json_when_the_app_starts_then_it_keeps_the_dev_sign_in_and_calls_its_own_origin(
    tmp_path: Path,
) -> None:
    out = _run(tmp_path, "local")
    assert out["error"] is None and out["hosted"] is False
    assert out["config"]["apiUrl"] == "" and out["config"]["cognito"] is None
    assert out["requests"] == ["/config.json", "/exams"]


def test_given_the_hosted_ui_when_signing_in_then_code_flow_with_pkce_s256_and_the_id_token_in_session_storage(
    tmp_path: Path,
) -> None:
    out = _run(tmp_path, "round-trip")
    assert out["hosted"] is True and out["error"] is None
    assert out["authorize"].startswith("https://pool.auth.us-east-1.amazoncognito.com/oauth2/authorize?")
    assert "response_type=code&" in out["authorize"] and "code_challenge_method=S256" in out["authorize"]
    assert (
        "scope=openid+email" in out["authorize"]
        and "redirect_uri=https%3A%2F%2Fapp.example.test%2F" in out["authorize"]
    )
    form = out["tokenForm"]
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["client_id"] == "client-1" and form["redirect_uri"] == "https://app.example.test/"
    assert out["challengeOfSentVerifier"] == out["challenge"]  # the verifier sent hashes to the challenge
    assert out["replaced"] == ["/#/exam/a1/3"]  # the code leaves the address bar; back where the candidate was
    assert out["name"] == "cand@example.test"
    assert set(out["keys"]) == {"exam-app:token", "exam-app:refresh-token"}  # sessionStorage; localStorage throws
    assert out["apiCall"] == "https://api.example.test/v1/me/attempts"
    assert out["revoke"] == "https://pool.auth.us-east-1.amazoncognito.com/oauth2/revoke"
    assert out["logout"] == (
        "https://pool.auth.us-east-1.amazoncognito.com/logout?client_id=client-1"
        "&logout_uri=https%3A%2F%2Fapp.example.test%2F"
    )


def test_given_a_callback_whose_state_does_not_match_when_the_app_starts_then_no_code_is_exchanged(
    tmp_path: Path,
) -> None:
    out = _run(tmp_path, "wrong-state")
    assert out["error"] and "did not match" in out["error"]
    assert out["tokenForm"] is None and out["token"] is None


def test_given_an_id_token_about_to_expire_when_the_app_calls_the_api_then_it_is_renewed_once_first(
    tmp_path: Path,
) -> None:
    out = _run(tmp_path, "refresh")
    assert out["refreshForms"] == [
        {"client_id": "client-1", "grant_type": "refresh_token", "refresh_token": "refresh-0"}
    ]
    assert out["renewed"] is True and out["apiCalls"] == 2  # two calls at once share one renewal
    assert out["refreshesAfter"] == 1 and out["sameToken"] is True  # a fresh token is not renewed again
