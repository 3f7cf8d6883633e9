"""The embeddable diagnostic: the web component's script and a demo page. No AWS calls, no keys."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

STATIC = Path(__file__).resolve().parent / "static"
SAFE_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"

app = APIGatewayRestResolver()


@lru_cache(maxsize=4)
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _api_base() -> str:
    """The API's base URL as the browser sees it (host and, when deployed, the stage)."""
    event = app.current_event
    host = event.headers.get("Host", "127.0.0.1")
    if not SAFE_HOST.fullmatch(host):  # the Host header is the client's: never reflect anything else into HTML
        host = "127.0.0.1"
    proto = event.headers.get("X-Forwarded-Proto", "https" if "amazonaws.com" in host else "http")
    if proto not in ("http", "https"):
        proto = "https"
    stage = event.request_context.stage
    prefix = f"/{stage}" if "amazonaws.com" in host and stage else ""
    return f"{proto}://{host}{prefix}"


@app.get(
    "/embed/diagnostic.js",
    summary="The embeddable diagnostic (a web component)",
    responses={
        200: {"description": "JavaScript", "content": {"application/javascript": {"schema": {"type": "string"}}}}
    },
    tags=["embed"],
    operation_id="getEmbedScript",
)
def script() -> Response[str]:
    return Response(
        status_code=200,
        content_type="application/javascript; charset=utf-8",
        body=_read("diagnostic.js"),
        headers={"Cache-Control": SCRIPT_CACHE, "Access-Control-Allow-Origin": "*"},
    )


@app.get(
    "/embed/demo",
    summary="A demo page embedding the diagnostic",
    responses={200: {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
    tags=["embed"],
    operation_id="getEmbedDemo",
)
def demo() -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=_read("demo.html").replace("{{API_BASE}}", _api_base()),
        headers={"Cache-Control": "no-cache"},
    )


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
