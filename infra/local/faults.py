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
    """Fails a share ``rate`` of DynamoDB HTTP attempts before they are sent, and counts them."""

    def __init__(self, rate: float, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{ENV_RATE} must be between 0 and 1, not {rate}")
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"{ENV_KINDS} takes some of {', '.join(KINDS)}; got {', '.join(kinds) or 'nothing'}")
        self.rate = rate
        self.seed = seed
        self.kinds = kinds
        # chooses simulated faults: nothing here is secret
        self._random = random.Random(seed)  # noqa: S311  # nosec B311
        self._lock = threading.Lock()
        self.attempts = 0  # HTTP attempts the client made (retries included)
        self.by_kind: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()

    @property
    def injected(self) -> int:
        return sum(self.by_kind.values())

    def install(self, client: Any) -> None:
        """Hook into one botocore DynamoDB client (its own event system: other clients are untouched)."""
        client.meta.events.register("before-send.dynamodb", self.before_send, unique_id="local-fault-injection")

    def _draw(self, operation: str) -> str | None:
        with self._lock:
            self.attempts += 1
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.by_kind[kind] += 1
            self.by_operation[operation] += 1
            return kind

    def before_send(self, request: Any, event_name: str = "", **_: Any) -> Any:
        """botocore ``before-send`` handler: ``None`` lets the request go; a response or an exception replaces it."""
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        kind = self._draw(event_name.rsplit(".", 1)[-1])
        if kind is None:
            return None
        if kind == "read_timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind == "connect_timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
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
                "byKind": dict(sorted(self.by_kind.items())),
                "byOperation": dict(sorted(self.by_operation.items())),
            }


def from_env(environ: Mapping[str, str]) -> FaultInjector | None:
    """The injector the environment asks for, or ``None`` when ``LOCAL_DYNAMODB_FAULT_RATE`` is unset or 0."""
    rate = float(environ.get(ENV_RATE) or 0)
    if rate == 0:
        return None
    kinds = tuple(k.strip() for k in environ.get(ENV_KINDS, ",".join(KINDS)).split(",") if k.strip())
    return FaultInjector(rate, int(environ.get(ENV_SEED) or 0), kinds)
