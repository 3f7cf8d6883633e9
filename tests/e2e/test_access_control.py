"""Object-level authorization (OWASP API1): every route that takes an id, against every kind of intruder.

For each route whose path has an id, each case sends one request with someone else's credentials to
a real object (in progress or submitted) and the same request to a random id that no object has. The
intruder must be refused (403 on token, key and IAM routes, 404 on candidate routes) and the two
answers must be byte-identical, status, headers (but Date) and body, so the refusal says nothing about
whether the object exists. Every refused write is followed by the owner's read: nothing changed.

``test_every_id_route_in_the_template_is_in_the_matrix`` fails when template.yaml gains a route with
an id that this matrix does not cover. Missing, empty and garbled tokens and malformed ids are in
test_bad_inputs.py; here the intruder holds valid credentials of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.e2e.conftest import Api, Reply, bank_by_stem

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
KEY = {"X-Api-Key": "demo-partner-key"}
OTHER_KEY = {"X-Api-Key": "second-partner-key"}
ADMIN = {"Authorization": "Bearer demo-admin-token"}
OWNER, THIEF = "acl-owner", "acl-thief"


def who(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer dev:{name}"}


def tok(token: str) -> dict[str, str]:
    return {"X-Attempt-Token": token}


# ---------------------------------------------------------------- the objects

ATTEMPT_VICTIMS = ("anon-open", "anon-done", "mine-open", "mine-done")
PRACTICE_VICTIM = "mine-practice"  # an in-progress practice set: the one kind the study-mode check answers
DIAGNOSTIC_VICTIMS = ("diag-open", "diag-done")


@dataclass
class Obj:
    """A real attempt and how its owner reads it (to prove it exists and that refused writes changed nothing)."""

    created: dict[str, Any]
    read_path: str
    read_headers: dict[str, str]
    snapshot: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.created["attemptId"])

    @property
    def token(self) -> str:
        return str(self.created["attemptToken"])

    @property
    def question(self) -> str:
        return str(self.created["questions"][0]["questionId"])


@dataclass
class World:
    api: Api
    objs: dict[str, Obj]
    item_id: str
    calibration_id: str
    item_of_question: dict[str, str]  # victim question id -> bank item id (to look for reports)
    item_snapshot: dict[str, Any]


def _created(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply.raw[:300]
    body: dict[str, Any] = reply.body
    return body


def _answer(created: dict[str, Any]) -> dict[str, Any]:
    q = created["questions"][0]
    return {"responses": [{"questionId": q["questionId"], "selected": ["a"]}]}


def _owner_view(api: Api, obj: Obj) -> dict[str, Any]:
    reply = api.get(obj.read_path, headers=obj.read_headers)
    assert reply.status == 200, reply.raw[:300]
    body: dict[str, Any] = reply.body
    return {k: body.get(k) for k in ("status", "responses", "result", "answeredCount", "flaggedCount")}


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    objs: dict[str, Obj] = {}
    for state in ("open", "done"):
        a = _created(api.post("/attempts", {"examId": EXAM, "mode": "full"}))
        objs[f"anon-{state}"] = Obj(a, f"/attempts/{a['attemptId']}", tok(a["attemptToken"]))
        m = _created(api.post("/me/attempts", {"examId": EXAM, "mode": "full"}, headers=who(OWNER)))
        objs[f"mine-{state}"] = Obj(m, f"/me/attempts/{m['attemptId']}", who(OWNER))
        d = _created(api.post("/diagnostics", {"examId": EXAM}, headers=KEY))
        objs[f"diag-{state}"] = Obj(d, f"/diagnostics/{d['attemptId']}", {**KEY, **tok(d["attemptToken"])})
    p = _created(
        api.post("/me/attempts", {"mode": "domain", "domainId": "cloud-concepts", "size": 3}, headers=who(OWNER))
    )
    objs[PRACTICE_VICTIM] = Obj(p, f"/me/attempts/{p['attemptId']}", who(OWNER))
    # the intruders' own objects: their tokens are valid, for other attempts
    other = _created(api.post("/attempts", {"examId": EXAM, "mode": "full"}))
    objs["intruder-attempt"] = Obj(other, f"/attempts/{other['attemptId']}", tok(other["attemptToken"]))
    od = _created(api.post("/diagnostics", {"examId": EXAM}, headers=KEY))
    objs["intruder-diagnostic"] = Obj(od, f"/diagnostics/{od['attemptId']}", {**KEY, **tok(od["attemptToken"])})

    for name in ("anon-open", "anon-done", "mine-open", "mine-done", "diag-open", "diag-done"):
        obj = objs[name]
        write = obj.read_path + ("/submit" if name.startswith("diag") else "/responses")
        if name.startswith("diag") and name.endswith("open"):
            continue  # an open diagnostic has no saved answers: they are sent with the submission
        reply = api.call("POST" if name.startswith("diag") else "PUT", write, _answer(obj.created), obj.read_headers)
        assert reply.status == 200, reply.raw[:300]
        if name.endswith("done") and not name.startswith("diag"):
            assert api.post(obj.read_path + "/submit", headers=obj.read_headers).status == 200
    for obj in objs.values():
        obj.snapshot = _owner_view(api, obj)
    assert objs["anon-done"].snapshot["status"] == objs["diag-done"].snapshot["status"] == "submitted"
    assert objs["mine-open"].snapshot["status"] == "in_progress" and objs["mine-open"].snapshot["answeredCount"] == 1

    bank = bank_by_stem()
    item_of_question = {}
    for obj in objs.values():
        q = obj.created["questions"][0]
        item_of_question[q["questionId"]] = bank[" ".join(q["stem"].split())]["id"]
    item_id = sorted(bank.values(), key=lambda i: i["id"])[0]["id"]
    # A real run (none applied here): queued at once (202) and stored, then run in the background
    calibration = api.post("/admin/calibrations", headers=ADMIN)
    assert calibration.status == 202, calibration.raw[:300]
    item = api.get(f"/admin/items/{item_id}", headers=ADMIN)
    assert item.status == 200, item.raw[:300]
    return World(api, objs, item_id, calibration.body["calibrationId"], item_of_question, item.body)


# ---------------------------------------------------------------- the routes and the intruders

TOKEN, PARTNER, CANDIDATE, CLAIM, IAM = "attempt token", "partner key + token", "candidate", "claim", "iam"

# Every (method, template path) with an id, and which way it is guarded.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/attempts/{attemptId}"): TOKEN,
    ("PUT", "/attempts/{attemptId}/responses"): TOKEN,
    ("POST", "/attempts/{attemptId}/submit"): TOKEN,
    ("GET", "/attempts/{attemptId}/review"): TOKEN,
    ("POST", "/attempts/{attemptId}/questions/{questionId}/report"): TOKEN,
    ("GET", "/diagnostics/{attemptId}"): PARTNER,
    ("POST", "/diagnostics/{attemptId}/submit"): PARTNER,
    ("POST", "/diagnostics/{attemptId}/next"): PARTNER,
    ("GET", "/diagnostics/{attemptId}/review"): PARTNER,
    ("GET", "/me/attempts/{attemptId}"): CANDIDATE,
    ("PUT", "/me/attempts/{attemptId}/responses"): CANDIDATE,
    ("POST", "/me/attempts/{attemptId}/submit"): CANDIDATE,
    ("GET", "/me/attempts/{attemptId}/review"): CANDIDATE,
    ("POST", "/me/attempts/{attemptId}/check"): CANDIDATE,
    ("POST", "/me/diagnostics/{attemptId}/claim"): CLAIM,
    ("GET", "/admin/items/{itemId}"): IAM,
    ("PATCH", "/admin/items/{itemId}"): IAM,
    ("GET", "/admin/items/{itemId}/stats"): IAM,
    ("GET", "/admin/calibrations/{calibrationId}"): IAM,
}

# What the refusal is, per guard: (status, error code or API Gateway's message).
REFUSAL = {
    TOKEN: (403, "attempt_forbidden"),
    PARTNER: (403, "attempt_forbidden"),
    CANDIDATE: (404, "attempt_not_found"),
    CLAIM: (403, "attempt_forbidden"),
    IAM: (403, "Missing Authentication Token"),
}

Headers = Callable[[World, Obj], dict[str, str]]

# Per guard: intruder -> (victims it tries, the headers it sends). Each holds credentials of its own.
INTRUDERS: dict[str, dict[str, tuple[tuple[str, ...], Headers]]] = {
    TOKEN: {
        "another attempt's token": (ATTEMPT_VICTIMS, lambda w, v: tok(w.objs["intruder-attempt"].token)),
        "a diagnostic's own token and key, on the exam route": (
            DIAGNOSTIC_VICTIMS,
            lambda w, v: {**KEY, **tok(v.token)},
        ),
    },
    PARTNER: {
        "another partner's key with the right token": (DIAGNOSTIC_VICTIMS, lambda w, v: {**OTHER_KEY, **tok(v.token)}),
        "the right key with another diagnostic's token": (
            DIAGNOSTIC_VICTIMS,
            lambda w, v: {**KEY, **tok(w.objs["intruder-diagnostic"].token)},
        ),
        "a full attempt's own token, on the diagnostic route": (
            ("anon-open", "anon-done"),
            lambda w, v: {**KEY, **tok(v.token)},
        ),
    },
    CANDIDATE: {
        "another candidate": (("mine-open", "mine-done", PRACTICE_VICTIM), lambda w, v: who(THIEF)),
        "another candidate holding the attempt's token": (
            ("mine-open", "mine-done", PRACTICE_VICTIM),
            lambda w, v: {**who(THIEF), **tok(v.token)},
        ),
        "a candidate with an anonymous attempt's own token": (
            ("anon-open", "anon-done"),
            lambda w, v: {**who(THIEF), **tok(v.token)},
        ),
    },
    CLAIM: {
        "another diagnostic's token": (
            DIAGNOSTIC_VICTIMS,
            lambda w, v: {**who(THIEF), **tok(w.objs["intruder-diagnostic"].token)},
        ),
        "a full attempt's own token": (("anon-open", "mine-done"), lambda w, v: {**who(THIEF), **tok(v.token)}),
    },
    IAM: {
        "a signed-in candidate": (("admin",), lambda w, v: who(THIEF)),
        "a partner key": (("admin",), lambda w, v: KEY),
        "an attempt token": (("admin",), lambda w, v: tok(w.objs["intruder-attempt"].token)),
        "a partner key and a candidate named like the admin": (("admin",), lambda w, v: {**KEY, **who("demo-admin")}),
    },
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    intruder: str
    victim: str

    @property
    def guard(self) -> str:
        return ROUTES[(self.method, self.path)]

    def __str__(self) -> str:
        return f"{self.method} {self.path} | {self.intruder} | {self.victim}"


CASES = [
    Case(method, path, intruder, victim)
    for (method, path), guard in ROUTES.items()
    for intruder, (victims, _) in INTRUDERS[guard].items()
    for victim in victims
]


def _random_ids() -> dict[str, str]:
    h = uuid.uuid4().hex
    return {"attemptId": h, "itemId": f"clf-9.9-{h[:6]}", "calibrationId": f"20260101T000000Z-{h[:6]}"}


def _body(case: Case, victim: Obj | None) -> Any:
    if case.path.endswith("/responses") or case.path.endswith("/submit"):
        assert victim is not None
        return _answer(victim.created)
    if case.path.endswith("/report"):
        return {"reason": "wrong_key", "comment": "an intruder's report"}
    if case.path.endswith("/check"):
        assert victim is not None
        return {"questionId": victim.question, "selected": ["a"]}
    if case.method == "PATCH":
        return {"examId": EXAM, "status": "retired", "reason": "an intruder's change"}
    return None


def _without_date(reply: Reply) -> dict[str, str]:
    return {k.lower(): v for k, v in reply.headers.items() if k.lower() != "date"}


def _assert_refused(reply: Reply, guard: str) -> None:
    status, code = REFUSAL[guard]
    assert reply.status == status, (reply.status, reply.raw[:300])
    if guard == IAM:
        assert reply.body == {"message": code}, reply.raw[:300]
    else:
        assert reply.body["error"]["code"] == code, reply.raw[:300]
        assert set(reply.body["error"]) == {"code", "message", "details"}
        assert b"explanation" not in reply.raw and b'"key"' not in reply.raw


def _assert_untouched(world: World, case: Case, victim: Obj | None) -> None:
    api = world.api
    if victim is not None:
        assert _owner_view(api, victim) == victim.snapshot, "a refused request changed the victim"
        if case.path.endswith("/report"):
            item = api.get(f"/admin/items/{world.item_of_question[victim.question]}", headers=ADMIN).body
            assert all(r.get("attemptId") != victim.id for r in item["reports"]), item["reports"]
        if case.guard == CLAIM:
            assert api.get("/me/attempts", headers=who(THIEF)).body["attempts"] == []
    if case.method == "PATCH":
        assert api.get(f"/admin/items/{world.item_id}", headers=ADMIN).body == world.item_snapshot


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_intruder_is_refused_exactly_as_for_an_object_that_does_not_exist(world: World, case: Case) -> None:
    victim = world.objs.get(case.victim)
    headers = INTRUDERS[case.guard][case.intruder][1](world, victim or Obj({}, "", {}))
    question = victim.question if victim else ""
    real_ids = {
        "attemptId": victim.id if victim else "",
        "itemId": world.item_id,
        "calibrationId": world.calibration_id,
    }
    real = case.path.format(**real_ids, questionId=question)
    fake = case.path.format(**_random_ids(), questionId=question)
    body = _body(case, victim)

    at_real = world.api.call(case.method, real, body, headers=headers)
    at_nothing = world.api.call(case.method, fake, body, headers=headers)

    _assert_refused(at_real, case.guard)
    assert (at_real.status, at_real.raw) == (at_nothing.status, at_nothing.raw)
    assert _without_date(at_real) == _without_date(at_nothing)
    if case.method != "GET":
        _assert_untouched(world, case, victim)


def test_the_owners_reach_every_victim_so_the_refusals_above_are_not_vacuous(world: World) -> None:
    api = world.api
    for name in ATTEMPT_VICTIMS + DIAGNOSTIC_VICTIMS:
        obj = world.objs[name]
        assert api.get(obj.read_path, headers=obj.read_headers).status == 200
        if name.endswith("done"):
            assert api.get(obj.read_path + "/review", headers=obj.read_headers).status == 200
    for path in (f"/admin/items/{world.item_id}", f"/admin/calibrations/{world.calibration_id}"):
        assert api.get(path, headers=ADMIN).status == 200
    assert api.get(f"/admin/items/{_random_ids()['itemId']}", headers=ADMIN).status == 404


def test_the_owner_checks_an_answer_of_their_practice_set_but_not_of_their_full_attempt(world: World) -> None:
    """Positive control for the check route's rows: the owner is answered where the intruders were refused."""
    for name, status in ((PRACTICE_VICTIM, 200), ("mine-open", 409), ("mine-done", 409)):
        obj = world.objs[name]
        body = {"questionId": obj.question, "selected": ["a"]}
        reply = world.api.post(obj.read_path + "/check", body, headers=obj.read_headers)
        assert reply.status == status, (name, reply.raw[:300])


# ---------------------------------------------------------------- the matrix covers the template


def _template_id_routes() -> set[tuple[str, str]]:
    doc = cfn_yaml.loads((ROOT / "template.yaml").read_text(encoding="utf-8"))
    out = set()
    for resource in doc["Resources"].values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            if event.get("Type") == "Api" and "{" in event["Properties"]["Path"]:
                out.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return out


def test_every_id_route_in_the_template_is_in_the_matrix() -> None:
    in_template = _template_id_routes()
    assert len(in_template) >= 17
    missing = in_template - set(ROUTES)
    assert not missing, f"routes with ids that test_access_control.py does not cover: {sorted(missing)}"
    stale = set(ROUTES) - in_template
    assert not stale, f"routes in the matrix that the template no longer has: {sorted(stale)}"
    covered = {(c.method, c.path) for c in CASES}
    assert covered == set(ROUTES)
    for path in (p for _, p in ROUTES):
        assert set(re.findall(r"\{(\w+)\}", path)) <= {"attemptId", "questionId", "itemId", "calibrationId"}, path


# ---------------------------------------------------------------- Idempotency-Key: an id chosen by the client


@pytest.mark.parametrize(
    ("route", "owner", "intruder"),
    [
        ("/diagnostics", KEY, OTHER_KEY),
        ("/me/attempts", who(OWNER), who(THIEF)),
    ],
    ids=["another partner", "another candidate"],
)
def test_another_callers_idempotency_key_starts_a_new_attempt_and_never_replays_the_owners(
    api: Api, route: str, owner: dict[str, str], intruder: dict[str, str]
) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"examId": EXAM}
    first = _created(api.post(route, body, headers={**owner, **key}))
    stolen = _created(api.post(route, body, headers={**intruder, **key}))
    assert stolen["attemptId"] != first["attemptId"] and stolen["attemptToken"] != first["attemptToken"]
    replay = _created(api.post(route, body, headers={**owner, **key}))
    assert (replay["attemptId"], replay["attemptToken"]) == (first["attemptId"], first["attemptToken"])
    again = _created(api.post(route, body, headers={**intruder, **key}))
    assert (again["attemptId"], again["attemptToken"]) == (stolen["attemptId"], stolen["attemptToken"])
