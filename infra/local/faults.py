"""DynamoDB fault injection for the local server (``LOCAL_DYNAMODB_FAULT_RATE``), never deployed.

With ``LOCAL_DYNAMODB_FAULT_RATE=0.2`` one in five HTTP attempts the functions' DynamoDB client makes
fails, before anything is sent: a throttle (``ProvisionedThroughputExceededException`` or
``ThrottlingException``, HTTP 400), an ``InternalServerError`` (HTTP 500), or a botocore
``ReadTimeoutError`` / ``ConnectTimeoutError``. The fault is produced by a ``before-send`` hook on the
client, so botocore's own retry logic (standard mode, bounded attempts, backoff, retry quota) sees it
exactly as it would see the real thing, and the store's error mapping decides what the API answers.
Because the request is never sent, a write that was not acknowledged never reaches the table.

``LOCAL_DYNAMODB_FAULT_SEED`` seeds the draws (default 0); ``LOCAL_DYNAMODB_FAULT_KINDS`` narrows the
kinds (comma-separated names from ``KINDS``). The server counts what it injected and serves the counts
at ``GET /_local/faults`` (a local route only; the template has no such route).

``LOCAL_DYNAMODB_FAULT_LOST_RESPONSES`` (0 to 1, default 0) is the share of read timeouts that strike
after the request reached the table, as a real read timeout may: the request is sent, its answer is
thrown away and the client sees the timeout, so a write can be applied although nobody was told.
``TransactWriteItems`` is exempt: botocore gives each call a ``ClientRequestToken``, with which DynamoDB
applies a retried transaction once, and moto does not implement that, so a lost answer there would
show a moto artefact rather than what AWS does.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

ENV_RATE = "LOCAL_DYNAMODB_FAULT_RATE"
ENV_SEED = "LOCAL_DYNAMODB_FAULT_SEED"
ENV_KINDS = "LOCAL_DYNAMODB_FAULT_KINDS"
ENV_LOST = "LOCAL_DYNAMODB_FAULT_LOST_RESPONSES"
_TOKEN_IDEMPOTENT = {"TransactWriteItems"}  # retried with the same ClientRequestToken: applied once by AWS

# kind -> (HTTP status, DynamoDB error type) for faults answered with an error response
_ERRORS: dict[str, tuple[int, str]] = {
    "provisioned_throughput": (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
    "throttling": (400, "com.amazon.coral.availability#ThrottlingException"),
    "internal": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
}
_TIMEOUTS = ("read_timeout", "connect_timeout")
KINDS: tuple[str, ...] = (*_ERRORS, *_TIMEOUTS)


class _Body:
    """The ``raw`` of a botocore ``AWSResponse``: something with ``stream()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class FaultInjector:
    """Fails a share ``rate`` of DynamoDB HTTP attempts (before they are sent, unless ``lost`` says
    otherwise for a read timeout), and counts them."""

    def __init__(self, rate: float, seed: int = 0, kinds: tuple[str, ...] = KINDS, lost: float = 0.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{ENV_RATE} must be between 0 and 1, not {rate}")
        if not 0.0 <= lost <= 1.0:
            raise ValueError(f"{ENV_LOST} must be between 0 and 1, not {lost}")
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"{ENV_KINDS} takes some of {', '.join(KINDS)}; got {', '.join(kinds) or 'nothing'}")
        self.rate = rate
        self.seed = seed
        self.kinds = kinds
        self.lost = lost
        self._session: Any = None  # sends the requests whose answers are lost
        # chooses simulated faults: nothing here is secret
        self._random = random.Random(seed)  # noqa: S311  # nosec B311
        self._lock = threading.Lock()
        self.attempts = 0  # HTTP attempts the client made (retries included)
        self.by_kind: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()
        self.lost_responses = 0  # read timeouts after the request was applied
        self.real_errors: Counter[str] = Counter()  # transport errors nobody injected (a slow, loaded machine)

    @property
    def injected(self) -> int:
        return sum(self.by_kind.values())

    def install(self, client: Any) -> None:
        """Hook into one botocore DynamoDB client (its own event system: other clients are untouched)."""
        client.meta.events.register("before-send.dynamodb", self.before_send, unique_id="local-fault-injection")
        client.meta.events.register("needs-retry.dynamodb", self._observe, unique_id="local-fault-observer")

    def _observe(self, caught_exception: BaseException | None = None, event_name: str = "", **_: Any) -> None:
        """Count failed attempts that were not injected, by operation (never decides about retrying)."""
        if caught_exception is not None and not getattr(caught_exception, "injected", False):
            operation = event_name.rsplit(".", 1)[-1]
            with self._lock:
                self.real_errors[f"{type(caught_exception).__name__} ({operation})"] += 1

    def _draw(self, operation: str) -> str | None:
        with self._lock:
            self.attempts += 1
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.by_kind[kind] += 1
            self.by_operation[operation] += 1
            if kind == "read_timeout" and operation not in _TOKEN_IDEMPOTENT and self._random.random() < self.lost:
                self.lost_responses += 1
                return "lost_response"
            return kind

    def _send_and_forget(self, request: Any) -> None:
        from botocore.httpsession import URLLib3Session

        if self._session is None:
            self._session = URLLib3Session(timeout=10)
        self._session.send(request)  # applied by the table; the answer never reaches the client

    def before_send(self, request: Any, event_name: str = "", **_: Any) -> Any:
        """botocore ``before-send`` handler: ``None`` lets the request go; a response or an exception replaces it."""
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        kind = self._draw(event_name.rsplit(".", 1)[-1])
        if kind is None:
            return None
        if kind in ("lost_response", "read_timeout", "connect_timeout"):
            if kind == "lost_response":
                self._send_and_forget(request)
            exc = (ConnectTimeoutError if kind == "connect_timeout" else ReadTimeoutError)(endpoint_url=request.url)
            setattr(exc, "injected", True)  # noqa: B010  (marks it for _observe)
            raise exc
        status, error_type = _ERRORS[kind]
        body = json.dumps({"__type": error_type, "message": f"injected fault ({kind})"}).encode()
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-RequestId"] = "local-fault"
        return AWSResponse(request.url, status, headers, _Body(body))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rate": self.rate,
                "seed": self.seed,
                "kinds": list(self.kinds),
                "attempts": self.attempts,
                "injected": sum(self.by_kind.values()),
                "lostResponses": self.lost_responses,
                "lostShare": self.lost,
                "realErrors": dict(sorted(self.real_errors.items())),
                "byKind": dict(sorted(self.by_kind.items())),
                "byOperation": dict(sorted(self.by_operation.items())),
            }


def from_env(environ: Mapping[str, str]) -> FaultInjector | None:
    """The injector the environment asks for, or ``None`` when ``LOCAL_DYNAMODB_FAULT_RATE`` is unset or 0."""
    rate = float(environ.get(ENV_RATE) or 0)
    if rate == 0:
        return None
    kinds = tuple(k.strip() for k in environ.get(ENV_KINDS, ",".join(KINDS)).split(",") if k.strip())
    return FaultInjector(rate, int(environ.get(ENV_SEED) or 0), kinds, float(environ.get(ENV_LOST) or 0))
