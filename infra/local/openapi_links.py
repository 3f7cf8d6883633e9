"""The served OpenAPI document's attempt-token header and its links (one call's answer feeds the next).

Powertools documents what each route declares; two things a client needs are not declarations of a
route: the ``X-Attempt-Token`` header the attempt and diagnostic routes read, and how the calls chain
(start an attempt, then read, save, submit and review it with the id and token the start returned).
This adds both to the merged document: the header as a required parameter of every route that reads
it, and OpenAPI ``links`` on the start responses and on save and submit, so tools (Swagger UI,
schemathesis' stateful phase) can follow an attempt from start to review.
"""

from __future__ import annotations

from typing import Any

from exam_core.http import TOKEN_HEADER

# The header is the credential of the attemptToken security scheme (exam_core.http), which every route
# reading it requires; it is also a parameter so links can carry it (``header.X-Attempt-Token``,
# ``$request.header.X-Attempt-Token``). Not required as a parameter: a generated client then sends it
# through its own auth (openapi-python-client's AuthenticatedClient) instead of an argument per call.
_TOKEN_PARAMETER: dict[str, Any] = {
    "name": TOKEN_HEADER,
    "in": "header",
    "required": False,
    "description": "The attemptToken returned when the attempt or diagnostic started (the attemptToken "
    "security scheme; required by every operation that declares it).",
    "schema": {"type": "string", "minLength": 1},
}
_TOKEN_PREFIXES = ("/attempts/{attemptId}", "/diagnostics/{attemptId}", "/me/diagnostics/{attemptId}")

# Ids from a start response's body, or from the request that produced a save or submit answer.
_FROM_START = {"path.attemptId": "$response.body#/attemptId"}
_TOKEN_FROM_START = {f"header.{TOKEN_HEADER}": "$response.body#/attemptToken"}
_FROM_REQUEST = {"path.attemptId": "$request.path.attemptId"}
_TOKEN_FROM_REQUEST = {f"header.{TOKEN_HEADER}": f"$request.header.{TOKEN_HEADER}"}
# A real answer to the first question served, so a chained save or submit gets past validation.
_ANSWER_FIRST = {
    "responses": [
        {
            "questionId": "$response.body#/questions/0/questionId",
            "selected": ["$response.body#/questions/0/options/0/id"],
        }
    ]
}


def _chain(base: str, *, token: bool, report: bool = False) -> list[tuple[str, str, str, str, dict[str, Any] | None]]:
    """(source path, source method, target path, target method, request body) for one attempt family."""
    one = f"{base}/{{attemptId}}"
    steps: list[tuple[str, str, str, str, dict[str, Any] | None]] = [
        (base, "post", one, "get", None),
        (base, "post", f"{one}/submit", "post", None),
        (base, "post", f"{one}/submit", "post", _ANSWER_FIRST),
        (base, "post", f"{one}/review", "get", None),
        (f"{one}/submit", "post", f"{one}/review", "get", None),
        (f"{one}/submit", "post", one, "get", None),
    ]
    if base != "/diagnostics":  # a diagnostic is answered in one submit; full attempts save first
        steps += [
            (base, "post", f"{one}/responses", "put", None),
            (base, "post", f"{one}/responses", "put", _ANSWER_FIRST),
            (f"{one}/responses", "put", f"{one}/submit", "post", None),
            (f"{one}/responses", "put", one, "get", None),
        ]
    if report:
        steps.append((base, "post", f"{one}/questions/{{questionId}}/report", "post", None))
    if token and base == "/diagnostics":
        steps.append((f"{one}/submit", "post", "/me/diagnostics/{attemptId}/claim", "post", None))
    return steps


def add_token_header_and_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the attempt-token header parameter and the attempt links to a merged document, in place."""
    paths: dict[str, dict[str, Any]] = doc.get("paths", {})
    for path, operations in paths.items():
        if not path.startswith(_TOKEN_PREFIXES):
            continue
        for operation in operations.values():
            params = operation.setdefault("parameters", [])
            if not any(p.get("in") == "header" and p.get("name") == TOKEN_HEADER for p in params):
                params.append(dict(_TOKEN_PARAMETER))

    families = (
        ("/attempts", _chain("/attempts", token=True, report=True)),
        ("/diagnostics", _chain("/diagnostics", token=True)),
        ("/me/attempts", _chain("/me/attempts", token=False)),
    )
    for base, steps in families:
        token = base != "/me/attempts"
        for source_path, source_method, target_path, target_method, body in steps:
            source = paths.get(source_path, {}).get(source_method)
            target = paths.get(target_path, {}).get(target_method)
            if source is None or target is None:
                continue
            from_start = source_path == base
            status = "201" if from_start else "200"
            response = source.get("responses", {}).get(status)
            if response is None:
                continue
            parameters = dict(_FROM_START if from_start else _FROM_REQUEST)
            if token and target_path.startswith(_TOKEN_PREFIXES):
                parameters.update(_TOKEN_FROM_START if from_start else _TOKEN_FROM_REQUEST)
            if "{questionId}" in target_path:
                parameters["path.questionId"] = "$response.body#/questions/0/questionId"
            link: dict[str, Any] = {"operationId": target["operationId"], "parameters": parameters}
            name = target["operationId"]
            if body is not None and from_start:
                link["requestBody"] = body
                name += "_answering_first_question"
            link["description"] = f"{target_method.upper()} {target_path} on the attempt this call started or used"
            response.setdefault("links", {})[name] = link
    return doc
