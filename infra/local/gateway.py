"""A small local stand-in for API Gateway that serves ``template.yaml`` (SAM's own needs Docker).

It reads each function's ``Api`` events (path, method, API key requirement, authorizer), the API's
CORS and gateway responses, builds the same REST proxy events (payload 1.0) and calls the
handlers in-process. It is a development server, not a second API Gateway: it covers what this
template uses and says so (``UnsupportedTemplate``) when it meets something it does not.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cfnlint.decode import cfn_yaml

from infra.local.openapi_links import add_token_header_and_links


class UnsupportedTemplate(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Route:
    function: str  # logical id
    method: str  # upper case
    path: str  # template path, e.g. /attempts/{attemptId}
    api_key_required: bool
    authorizer: str | None  # None, "AWS_IAM" or the name of a Cognito authorizer
    pattern: re.Pattern[str] = field(compare=False)

    def match(self, path: str) -> dict[str, str] | None:
        m = self.pattern.fullmatch(path)
        return m.groupdict() if m else None


@dataclass(slots=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory: int
    module: ModuleType | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class MethodThrottle:
    """One ``MethodSettings`` entry's throttle: ``path`` is a template path or ``/*``, ``method`` ``*`` or
    upper case; ``None`` where the entry does not set that limit."""

    path: str
    method: str
    rate: float | None
    burst: float | None


# What API Gateway answers for these gateway response types when the template does not customise them.
DEFAULT_GATEWAY_RESPONSES = {
    "THROTTLED": (429, '{"message":"Too Many Requests"}'),
    "QUOTA_EXCEEDED": (429, '{"message":"Limit Exceeded"}'),
    "REQUEST_TOO_LARGE": (413, '{"message":"Request Too Long"}'),
}


@dataclass(slots=True)
class ApiConfig:
    stage: str = "v1"
    cors_headers: dict[str, str] = field(default_factory=dict)
    gateway_headers: dict[str, str] = field(default_factory=dict)
    missing_route: tuple[int, str] | None = None
    responses: dict[str, tuple[int, dict[str, str], str]] = field(default_factory=dict)
    throttles: list[MethodThrottle] = field(default_factory=list)

    def response(self, kind: str) -> tuple[int, dict[str, str], str]:
        """Status, headers and body of a gateway response type: the template's, or API Gateway's default
        (a customised type replaces DEFAULT_4XX; an uncustomised one inherits its headers)."""
        status, body = DEFAULT_GATEWAY_RESPONSES[kind]
        return self.responses.get(kind, (status, self.gateway_headers, body))

    def throttle_for(self, method: str, path: str) -> tuple[float, float]:
        """Rate and burst of one route: its own method setting, else the stage's ``/*`` ``*`` one, else
        API Gateway's account defaults (10,000 per second, burst 5,000)."""

        def pick(limit: str, default: float) -> float:
            for want in ((path, method), (path, "*"), ("/*", method), ("/*", "*")):
                for t in self.throttles:
                    value = getattr(t, limit)
                    if (t.path, t.method) == want and value is not None:
                        return float(value)
            return default

        return pick("rate", 10_000.0), pick("burst", 5_000.0)


class TokenBucket:
    """API Gateway's throttle: ``burst`` tokens, refilled at ``rate`` per second; a request takes one."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.last = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def _path_regex(path: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(out)


def _unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


class Template:
    def __init__(self, path: Path, parameters: dict[str, str] | None = None) -> None:
        self.path = path
        self.parameters = dict(parameters or {})  # like ``sam deploy --parameter-overrides``
        self.root = path.parent
        self.doc: dict[str, Any] = cfn_yaml.loads(path.read_text(encoding="utf-8"))
        self.resources: dict[str, Any] = self.doc.get("Resources", {})
        self.globals: dict[str, Any] = self.doc.get("Globals", {}).get("Function", {})
        self.functions: dict[str, Function] = {}
        self.routes: list[Route] = []
        self.api = ApiConfig()
        self._read()

    def resources_of(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_name}

    def parameter_default(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        return self.doc.get("Parameters", {}).get(name, {}).get("Default")

    def _number(self, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, dict) and "Ref" in value:
            value = self.parameter_default(value["Ref"])
        return float(value)

    def _throttles(self, settings: list[dict[str, Any]]) -> list[MethodThrottle]:
        out = []
        for entry in settings:
            rate, burst = entry.get("ThrottlingRateLimit"), entry.get("ThrottlingBurstLimit")
            if rate is None and burst is None:
                continue
            raw = str(entry.get("ResourcePath", "/*"))  # "/~1attempts~1{attemptId}": "~1" is an encoded "/"
            path = raw if raw == "/*" else raw[1:].replace("~1", "/") or "/"
            out.append(
                MethodThrottle(path, str(entry.get("HttpMethod", "*")).upper(), self._number(rate), self._number(burst))
            )
        return out

    def _read(self) -> None:
        apis = self.resources_of("AWS::Serverless::Api")
        if len(apis) != 1:
            raise UnsupportedTemplate("the local server serves exactly one AWS::Serverless::Api")
        props = next(iter(apis.values()))["Properties"]
        stage = props.get("StageName", "v1")
        self.api.stage = self.parameter_default(stage["Ref"]) if isinstance(stage, dict) else str(stage)
        cors = props.get("Cors", {})
        if cors:
            self.api.cors_headers = {
                "Access-Control-Allow-Origin": _unquote(cors.get("AllowOrigin", "'*'")),
                "Access-Control-Allow-Headers": _unquote(cors.get("AllowHeaders", "'*'")),
                "Access-Control-Allow-Methods": _unquote(cors.get("AllowMethods", "'*'")),
                "Access-Control-Max-Age": _unquote(cors.get("MaxAge", "'600'")),
            }
        responses = props.get("GatewayResponses", {})
        four = responses.get("DEFAULT_4XX", {}).get("ResponseParameters", {}).get("Headers", {})
        self.api.gateway_headers = {k: _unquote(v) for k, v in four.items()}
        missing = responses.get("MISSING_AUTHENTICATION_TOKEN")
        if missing:
            body = missing.get("ResponseTemplates", {}).get("application/json", '{"message":"Not Found"}')
            self.api.missing_route = (int(missing.get("StatusCode", 404)), body)
        for kind, (default_status, default_body) in DEFAULT_GATEWAY_RESPONSES.items():
            custom = responses.get(kind)
            if custom:
                headers = custom.get("ResponseParameters", {}).get("Headers", {})
                body = custom.get("ResponseTemplates", {}).get("application/json", default_body)
                status = int(custom.get("StatusCode", default_status))
                self.api.responses[kind] = (status, {k: _unquote(v) for k, v in headers.items()}, body)
        self.api.throttles = self._throttles(props.get("MethodSettings", []))
        default_auth = props.get("Auth", {})
        for logical_id, res in self.resources_of("AWS::Serverless::Function").items():
            p = res["Properties"]
            fn = Function(
                logical_id=logical_id,
                code_uri=self.root / p["CodeUri"],
                handler=p.get("Handler", self.globals.get("Handler", "app.lambda_handler")),
                timeout=int(p.get("Timeout", self.globals.get("Timeout", 3))),
                memory=int(p.get("MemorySize", self.globals.get("MemorySize", 128))),
            )
            self.functions[logical_id] = fn
            for event in p.get("Events", {}).values():
                if event.get("Type") != "Api":
                    continue
                ep = event["Properties"]
                auth = ep.get("Auth", {})
                key_required = bool(auth.get("ApiKeyRequired", default_auth.get("ApiKeyRequired", False)))
                authorizer = auth.get("Authorizer", default_auth.get("DefaultAuthorizer"))
                if authorizer == "NONE":
                    authorizer = None
                path = ep["Path"]
                self.routes.append(
                    Route(logical_id, ep["Method"].upper(), path, key_required, authorizer, _path_regex(path))
                )

    def tables(self) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.resources_of("AWS::DynamoDB::Table").items()}

    def environment(self, table_names: dict[str, str]) -> dict[str, str]:
        """Globals' environment with ``!Ref`` to tables resolved to local names and other refs to defaults."""
        env: dict[str, str] = {}
        variables = dict(self.globals.get("Environment", {}).get("Variables", {}))
        for fn in self.resources_of("AWS::Serverless::Function").values():
            variables.update(fn["Properties"].get("Environment", {}).get("Variables", {}))
        for key, value in variables.items():
            if isinstance(value, dict) and "Ref" in value:
                ref = value["Ref"]
                resolved = table_names.get(ref, self.parameter_default(ref))
                if resolved is None:
                    continue
                env[key] = str(resolved)
            elif isinstance(value, str | int | float | bool):
                env[key] = str(value)
        return env


def create_tables(template: Template, client: Any) -> dict[str, str]:
    """Create each DynamoDB table of the template (named by logical id) unless it exists."""
    existing = set(client.list_tables().get("TableNames", []))
    names: dict[str, str] = {}
    for logical_id, props in template.tables().items():
        names[logical_id] = logical_id
        if logical_id in existing:
            continue
        kwargs: dict[str, Any] = {
            "TableName": logical_id,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        client.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=logical_id,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    return names


class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, fn: Function) -> None:
        self.function_name = fn.logical_id
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = fn.memory
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fn.logical_id}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + fn.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(slots=True)
class Identity:
    """Who the gateway let in: the partner behind an API key, or the caller's authorizer claims."""

    api_key: str | None = None
    api_key_id: str | None = None
    claims: dict[str, str] | None = None
    iam_user: str | None = None


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Gateway:
    """Route, authorise and invoke: the parts of API Gateway this template uses."""

    def __init__(
        self,
        template: Template,
        api_keys: dict[str, str],
        candidate_prefix: str = "dev:",
        admin_tokens: dict[str, str] | None = None,
        throttle: bool = False,
    ) -> None:
        self.template = template
        self.throttle = throttle  # emulate the template's MethodSettings throttles (LOCAL_THROTTLE)
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.buckets_lock = threading.Lock()
        self.invoke_lock = threading.Lock()
        self.api_keys = api_keys  # key value -> partner id (the usage plan's key id)
        self.candidate_prefix = candidate_prefix
        self.admin_tokens = admin_tokens or {}
        self.extra_routes: dict[tuple[str, str], Callable[[], Reply]] = {}

    # ------------------------------------------------------------- invoking

    def _module(self, fn: Function) -> ModuleType:
        if fn.module is None:
            module_name, _ = fn.handler.rsplit(".", 1)
            file = fn.code_uri / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"local_fn_{fn.logical_id}", file)
            if spec is None or spec.loader is None:
                raise UnsupportedTemplate(f"cannot load {file}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            fn.module = module
        return fn.module

    def load_all(self) -> None:
        for fn in self.template.functions.values():
            self._module(fn)

    def resolvers(self) -> list[Any]:
        self.load_all()
        return [getattr(fn.module, "app", None) for fn in self.template.functions.values()]

    def _gateway_error(self, status: int, body: str) -> Reply:
        headers = {"Content-Type": "application/json", **self.template.api.gateway_headers}
        return Reply(status, headers, body.encode())

    def gateway_response(self, kind: str) -> Reply:
        """A gateway response type (THROTTLED, REQUEST_TOO_LARGE, ...) as the template defines it."""
        status, headers, body = self.template.api.response(kind)
        return Reply(status, {"Content-Type": "application/json", **headers}, body.encode())

    def _throttled(self, route: Route) -> bool:
        if not self.throttle:
            return False
        key = (route.method, route.path)
        with self.buckets_lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(*self.template.api.throttle_for(*key))
        return not bucket.take()

    def handle(
        self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes, ip: str
    ) -> Reply:
        method = method.upper()
        path = raw_path.rstrip("/") or "/"
        extra = self.extra_routes.get((method, path))
        if extra is not None:
            return extra()
        matches = [(r, r.match(path)) for r in self.template.routes]
        matches = [(r, params) for r, params in matches if params is not None]
        if method == "OPTIONS" and matches:
            return Reply(200, {"Content-Type": "application/json", **self.template.api.cors_headers}, b"{}")
        route_params = next(((r, p) for r, p in matches if r.method in (method, "ANY")), None)
        if route_params is None:
            status, text = self.template.api.missing_route or (403, '{"message":"Missing Authentication Token"}')
            return self._gateway_error(status, text)
        route, found = route_params
        if self._throttled(route):
            return self.gateway_response("THROTTLED")
        params = found or {}
        lower = {k.lower(): v for k, v in headers.items()}
        identity = Identity()
        if route.api_key_required:
            key = lower.get("x-api-key")
            if not key or key not in self.api_keys:
                return self._gateway_error(403, '{"message":"Forbidden"}')
            identity.api_key, identity.api_key_id = key, self.api_keys[key]
        if route.authorizer == "AWS_IAM":
            token = lower.get("authorization", "").removeprefix("Bearer ").strip()
            if token not in self.admin_tokens:
                return self._gateway_error(403, '{"message":"Missing Authentication Token"}')
            identity.iam_user = self.admin_tokens[token]
        elif route.authorizer:
            token = lower.get("authorization", "").removeprefix("Bearer ").strip()
            if not token.startswith(self.candidate_prefix) or len(token) <= len(self.candidate_prefix):
                return self._gateway_error(401, '{"message":"Unauthorized"}')
            sub = token[len(self.candidate_prefix) :]
            identity.claims = {"sub": sub, "cognito:username": sub, "token_use": "id"}  # nosec B105
        event = self.event(route, path, params, query, headers, body, ip, identity)
        fn = self.template.functions[route.function]
        module = self._module(fn)
        handler = getattr(module, fn.handler.rsplit(".", 1)[1])
        try:
            # One invocation at a time in the whole process. A Lambda container runs one request at a time,
            # and here every function shares one interpreter: Powertools keeps the current event in
            # class-level state shared by all resolvers, so two functions running at once could read
            # each other's request.
            with self.invoke_lock:
                out = handler(event, LambdaContext(fn))
        except Exception:  # a crashed invocation: API Gateway answers 502, and so do we
            logging.getLogger("local-gateway").exception("function %s failed", fn.logical_id)
            return self._gateway_error(502, '{"message": "Internal server error"}')
        reply_headers = dict(out.get("headers") or {})
        for k, values in (out.get("multiValueHeaders") or {}).items():
            reply_headers[k] = ", ".join(values)
        text = out.get("body") or ""
        if out.get("isBase64Encoded"):
            import base64

            data = base64.b64decode(text)
        else:
            data = text.encode()
        return Reply(int(out.get("statusCode", 200)), reply_headers, data)

    def event(
        self,
        route: Route,
        path: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        ip: str,
        identity: Identity,
    ) -> dict[str, Any]:
        stage = self.template.api.stage
        authorizer: dict[str, Any] | None = None
        if identity.claims is not None:
            authorizer = {"claims": identity.claims}
        text = body.decode("utf-8", errors="replace") if body else None
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": route.method,
            "headers": dict(headers) or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": dict(query) or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "resourceId": "local",
                "resourcePath": route.path,
                "httpMethod": route.method,
                "path": f"/{stage}{path}",
                "stage": stage,
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "domainName": headers.get("Host", "127.0.0.1"),
                "identity": {
                    "sourceIp": ip,
                    "userAgent": headers.get("User-Agent"),
                    "apiKey": identity.api_key,
                    "apiKeyId": identity.api_key_id,
                    "user": identity.iam_user,
                    "userArn": f"arn:aws:iam::123456789012:user/{identity.iam_user}" if identity.iam_user else None,
                },
                "authorizer": authorizer,
            },
            "body": text,
            "isBase64Encoded": False,
        }


def openapi_document(gateway: Gateway, server_url: str) -> dict[str, Any]:
    """One OpenAPI document for every function, merged by Powertools from each function's resolver."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(
        title="Exam scoring API",
        version="1.0.0",
        description="Practice exams scored on a 100-1000 scale with item response theory.",
    )
    for resolver in gateway.resolvers():
        if resolver is not None:
            merge.add_schema(resolver.get_openapi_schema())
    doc: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    doc["servers"] = [{"url": server_url}]
    return add_token_header_and_links(doc)
