"""The DynamoDB client's retries are bounded, and their worst case fits the function and API Gateway limits.

The budget is computed from the client the functions really use (``exam_core.store.make_client``):
every attempt waits out the connect and the read timeout, and every retry sleeps the longest backoff
botocore's standard mode can choose (the throttling scale, jitter at its maximum). The same client is
then driven through injected faults (``infra.local.faults``, no network) to check that botocore makes
exactly the configured number of attempts and never sleeps longer than that bound.
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff, RetryContext

from infra.local.faults import FaultInjector
from infra.local.gateway import Template
from tests.conftest import ROOT

API_GATEWAY_LIMIT_SECONDS = 29  # REST API integration timeout


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from exam_core.settings import get_settings
    from exam_core.store import make_client

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached: every attempt is faulted
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")
    # The deployed defaults (the local server raises the read timeout for its embedded DynamoDB).
    monkeypatch.delenv("DYNAMODB_READ_TIMEOUT", raising=False)
    monkeypatch.delenv("DYNAMODB_CONNECT_TIMEOUT", raising=False)
    get_settings.cache_clear()
    yield make_client()
    get_settings.cache_clear()


class _Always:
    """A throttling detector that says yes: throttles get the longest backoff scale."""

    def is_throttling_error_from_context(self, _context: Any) -> bool:
        return True


def _max_attempts(client: Any) -> int:
    retries = client.meta.config.retries
    assert retries["mode"] == "standard", retries
    return int(retries["total_max_attempts"])


def _max_delay(retry_number: int) -> float:
    """The longest sleep before retry ``retry_number`` (1-based), as botocore's standard backoff computes it."""
    backoff = ExponentialBackoff(service_name="dynamodb", random=lambda: 1.0, throttling_detector=_Always())
    return float(backoff.delay_amount(RetryContext(attempt_number=retry_number)))


def worst_case_seconds(client: Any) -> float:
    config = client.meta.config
    attempts = _max_attempts(client)
    backoff = sum(_max_delay(n) for n in range(1, attempts))
    return attempts * (float(config.connect_timeout) + float(config.read_timeout)) + backoff


def _api_function_timeouts() -> dict[str, int]:
    template = Template(ROOT / "template.yaml")
    served = {r.function for r in template.routes}
    return {name: template.functions[name].timeout for name in sorted(served)}


def test_client_retries_are_bounded_with_timeouts(client: Any) -> None:
    config = client.meta.config
    assert 1 < _max_attempts(client) <= 5
    assert config.connect_timeout is not None and config.read_timeout is not None
    assert config.connect_timeout > 0 and config.read_timeout > 0


def test_worst_case_retry_budget_fits_every_api_function_and_api_gateway(client: Any) -> None:
    budget = worst_case_seconds(client)
    timeouts = _api_function_timeouts()
    assert timeouts, "no function serves an API route"
    tightest = min(timeouts.values())
    config = client.meta.config
    explain = (
        f"{_max_attempts(client)} attempts x ({config.connect_timeout} s connect + {config.read_timeout} s read)"
        f" + {budget - _max_attempts(client) * (config.connect_timeout + config.read_timeout):.1f} s backoff"
        f" = {budget:.1f} s; API function timeouts {timeouts}"
    )
    # A route makes at most two DynamoDB calls in a row on its success path (read, conditional write).
    assert 2 * budget < tightest, explain
    assert 2 * budget < API_GATEWAY_LIMIT_SECONDS, explain


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("provisioned_throughput", ClientError),
        ("throttling", ClientError),
        ("internal", ClientError),
        ("read_timeout", ReadTimeoutError),
        ("connect_timeout", ConnectTimeoutError),
    ],
)
def test_botocore_makes_exactly_the_configured_attempts_and_sleeps_within_the_bound(
    client: Any, monkeypatch: pytest.MonkeyPatch, kind: str, raised: type[Exception]
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append, time=time.time))
    injector = FaultInjector(1.0, kinds=(kind,))
    injector.install(client)
    with pytest.raises(raised):
        client.get_item(TableName="attempts", Key={"pk": {"S": "a"}, "sk": {"S": "META"}})
    attempts = _max_attempts(client)
    assert injector.attempts == injector.injected == attempts
    assert len(sleeps) == attempts - 1
    assert all(0 <= s <= _max_delay(n) for n, s in enumerate(sleeps, start=1)), sleeps
    assert sum(sleeps) <= worst_case_seconds(client) - attempts * (
        client.meta.config.connect_timeout + client.meta.config.read_timeout
    )
