"""``make run``: an embedded DynamoDB (moto's server, in-process), the tables from template.yaml,
the item bank, and the whole API served on http://127.0.0.1:3000 (``PORT`` overrides)."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.local import faults, moto_speedups
from infra.local.gateway import Gateway, Reply, Template, create_tables, openapi_document
from infra.local.streams import StreamPump

ROOT = Path(__file__).resolve().parents[2]
BANK_DIR = ROOT / "infra" / "bank"
# API Gateway's own limit (10 MB): larger bodies get its REQUEST_TOO_LARGE response. Smaller ones reach the
# functions, which refuse anything over MAX_BODY_BYTES (settings; 64 KiB, 2 MiB on admin routes) with 413.
MAX_BODY_BYTES = 10 * 1024 * 1024

DEMO_PARTNER_KEYS = "demo-partner-key=demo-partner"
DEMO_ADMIN_TOKENS = "demo-admin-token=demo-admin"


def _pairs(text: str) -> dict[str, str]:
    """``key=id,key2=id2`` into a dict (keys and ids from settings variables)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "exam-local-gateway/1"
    gateway: Gateway

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("LOCAL_ACCESS_LOG"):
            super().log_message(format, *args)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is never read
            self._send(self.gateway.gateway_response("REQUEST_TOO_LARGE"))
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        reply = self.gateway.handle(
            self.command,
            split.path,
            parse_qs(split.query, keep_blank_values=True),
            headers,
            body,
            self.client_address[0],
        )
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) reaches the gateway too, which answers as API
        # Gateway does (no such route), instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


class _Server(ThreadingHTTPServer):
    # http.server queues 5 connections by default; a mobile client fleet (or `make load`) opening dozens
    # at once got connection resets. API Gateway accepts them all.
    request_queue_size = 128


@dataclass
class LocalStack:
    """Everything ``make run`` starts, in one process; also what the end-to-end tests start."""

    dynamodb_endpoint: str
    api_url: str
    httpd: ThreadingHTTPServer
    gateway: Gateway
    moto: Any | None
    pump: StreamPump
    faults: faults.FaultInjector | None = None

    def stop(self) -> None:
        self.pump.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.moto is not None:
            self.moto.stop()


def start_dynamodb() -> tuple[Any, str]:
    """moto's server in-process, one request at a time.

    moto's in-memory backend is not safe under concurrent requests (a stream read deep-copying an item
    while another request updates it raises "dictionary changed size during iteration"), so the WSGI
    app is wrapped in a lock. Requests take a few milliseconds; serialising them costs nothing here.
    """
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    lock = threading.Lock()

    class SerialMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def serial(environ: Any, start_response: Any) -> Any:
                with lock:
                    return list(app(environ, start_response))

            self._server = make_server(self._ip_address, self._port, serial, True)
            self._server_ready_event.set()
            self._server.serve_forever()

    moto_speedups.install()
    moto_speedups.install_partition_query()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = SerialMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def start(
    port: int = 3000,
    host: str = "127.0.0.1",
    endpoint_url: str | None = None,
    env_overrides: dict[str, str] | None = None,
    load_bank: bool = True,
) -> LocalStack:
    """Start DynamoDB (unless ``endpoint_url`` names one), create tables, load the bank, serve the API."""
    moto = None
    if endpoint_url is None:
        moto, endpoint_url = start_dynamodb()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # Business metrics (exam_core.metrics) are EMF lines on stdout; quiet locally like the logs.
    # POWERTOOLS_METRICS_DISABLED=false make run prints them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # The embedded DynamoDB serialises every request; under load a call can wait well over the deployed
    # 1 s read timeout. Locally a slow answer is not a fault (LOCAL_DYNAMODB_FAULT_RATE injects those).
    os.environ.setdefault("DYNAMODB_READ_TIMEOUT", "10")
    # No Lambda service here: a function's asynchronous invoke of itself (the calibration run that
    # POST /admin/calibrations queues) runs on a background thread instead (exam_core.invoker). The thread
    # calls the job directly, never a resolver, so it needs no turn of the gateway's one-invocation lock.
    os.environ.setdefault("LOCAL_ASYNC", "thread")
    env = {**os.environ, **(env_overrides or {})}
    template = Template(ROOT / "template.yaml", _pairs(env.get("LOCAL_PARAMETER_OVERRIDES", "")))

    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint_url)
    names = create_tables(template, client)
    os.environ.update(template.environment(names))
    os.environ.update(env_overrides or {})

    from exam_core import runtime
    from exam_core.bank_files import load_exam_dir
    from exam_core.settings import get_settings
    from exam_core.store import DynamoStore

    from infra.bank.load import exam_dirs

    runtime.reset()
    settings = get_settings()
    if load_bank:  # every exam folder (exam.yaml + items/): the exams served are the ones loaded
        store = DynamoStore(settings.items_table, settings.attempts_table, client)
        for exam_dir in exam_dirs(BANK_DIR):
            load_exam_dir(store, exam_dir)

    gateway = Gateway(
        template,
        api_keys=_pairs(os.environ.get("LOCAL_PARTNER_KEYS", DEMO_PARTNER_KEYS)),
        admin_tokens=_pairs(os.environ.get("LOCAL_ADMIN_TOKENS", DEMO_ADMIN_TOKENS)),
        throttle=os.environ.get("LOCAL_THROTTLE", "").lower() in ("1", "true", "on", "yes"),
    )
    gateway.load_all()
    injector = _inject_faults(gateway)
    pump = StreamPump(gateway, endpoint_url, names)
    pump.start()
    _Handler.gateway = gateway
    httpd = _Server((host, port), _Handler)
    httpd.daemon_threads = True
    api_url = f"http://{host}:{httpd.server_address[1]}"
    _add_docs(gateway, api_url)
    _add_web(gateway)
    threading.Thread(target=httpd.serve_forever, name="local-api", daemon=True).start()
    return LocalStack(endpoint_url, api_url, httpd, gateway, moto, pump, injector)


def _inject_faults(gateway: Gateway) -> faults.FaultInjector | None:
    """``LOCAL_DYNAMODB_FAULT_RATE``: fail that share of the functions' DynamoDB calls (see faults.py)."""
    injector = faults.from_env(os.environ)
    if injector is None:
        return None
    from exam_core import runtime

    injector.install(runtime.store().client)  # the one client every function's store uses
    headers = {"Content-Type": "application/json"}
    gateway.extra_routes[("GET", "/_local/faults")] = lambda: Reply(
        200, headers, json.dumps(injector.snapshot()).encode()
    )
    return injector


WEB_DIR = ROOT / "web"
WEB_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'self'"
)


def _add_web(gateway: Gateway) -> None:
    """The candidates' web app (web/): GET / and its assets under /app/, with a CSP that allows no inline script."""
    for path in WEB_DIR.rglob("*"):
        if path.suffix not in WEB_TYPES:
            continue
        headers = {
            "Content-Type": WEB_TYPES[path.suffix],
            "Content-Security-Policy": WEB_CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        body = path.read_bytes()
        url = "/" if path.name == "index.html" else "/app/" + path.relative_to(WEB_DIR).as_posix()
        gateway.extra_routes[("GET", url)] = functools.partial(Reply, 200, headers, body)


def _add_docs(gateway: Gateway, api_url: str) -> None:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    doc = openapi_document(gateway, api_url)
    spec = json.dumps(doc)
    swagger_dir = Path(sys.modules["aws_lambda_powertools"].__file__ or "").parent / "event_handler/openapi/swagger_ui"
    html = generate_swagger_html(
        spec.replace("</", "<\\/"),
        (swagger_dir / "swagger-ui-bundle.min.js").read_text(),
        f"<style>{(swagger_dir / 'swagger-ui.min.css').read_text()}</style>",
        "",
        None,
    )
    json_headers = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}
    gateway.extra_routes[("GET", "/openapi.json")] = lambda: Reply(200, json_headers, spec.encode())
    gateway.extra_routes[("GET", "/swagger")] = lambda: Reply(200, {"Content-Type": "text/html"}, html.encode())


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    stack = start(port=port, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    routes = sorted({(r.path, r.method) for r in stack.gateway.template.routes})
    # The first line carries the DynamoDB endpoint (the e2e and load harnesses read it from there).
    print(f"Exam scoring API on {stack.api_url}  (DynamoDB: {stack.dynamodb_endpoint})")
    print(f"Web app: {stack.api_url}/  (dev sign-in: any candidate id)")
    for path, method in routes:
        print(f"  {method:<7} {stack.api_url}{path}")
    print(f"  OpenAPI {stack.api_url}/openapi.json")
    print(f"  Swagger {stack.api_url}/swagger")
    print("Partner API key (X-Api-Key): demo-partner-key   Admin token (Authorization: Bearer): demo-admin-token")
    print("Candidate sign-in (Authorization: Bearer): dev:<candidateId>   Embed demo: " + stack.api_url + "/embed/demo")
    if stack.faults is not None:
        f = stack.faults
        kinds = ", ".join(f.kinds)
        print(
            f"Injecting DynamoDB faults: rate {f.rate}, seed {f.seed}, kinds {kinds}, lost responses {f.lost};"
            " counts: GET /_local/faults"
        )
    print("Press Ctrl+C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stack.stop()


if __name__ == "__main__":
    main()
