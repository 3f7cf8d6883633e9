"""Run a job after the response: deployed, an asynchronous invoke of the running function; locally, a thread.

A route that starts a long job (``POST /admin/calibrations``) stores the job's record, hands its event
to an invoker and answers 202. The choice of invoker is made here, once, from the settings:

- deployed (the default): Lambda's ``Invoke`` with ``InvocationType=Event`` on the function itself
  (``AWS_LAMBDA_FUNCTION_NAME``, which Lambda sets in every function, so the template needs no reference
  from the function to itself). Lambda queues the event and answers 202 at once; a fresh invocation runs
  the job with the function's own timeout, not API Gateway's 29 s.
- ``LOCAL_ASYNC=thread`` (set by the local server, which has no Lambda service): the same handler runs the
  same event on a background thread of the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

from exam_core.errors import Throttled
from exam_core.log import logger
from exam_core.settings import Settings

Handler = Callable[[dict[str, Any]], Any]


class Invoker(Protocol):
    def __call__(self, event: dict[str, Any]) -> None: ...


class LambdaInvoker:
    """Queue ``event`` for an asynchronous invocation of ``function_name`` (deployed)."""

    def __init__(self, function_name: str, client: Any | None = None) -> None:
        self.function_name = function_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Queuing an event takes milliseconds; bounded retries keep the request well inside its timeout.
            config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3)
            self._client = boto3.client("lambda", config=config)
        return self._client

    def __call__(self, event: dict[str, Any]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            out = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(event, separators=(",", ":")).encode(),
            )
        except (BotoCoreError, ClientError) as exc:
            logger.exception("asynchronous invoke failed", extra={"function": self.function_name})
            raise Throttled("the job could not be queued; try again shortly", code="job_not_queued") from exc
        if out.get("StatusCode") != 202:  # Lambda answers 202 once the event is queued
            raise Throttled("the job could not be queued; try again shortly", code="job_not_queued")


class ThreadInvoker:
    """Run ``handler(event)`` on a background thread (the local server's stand-in for Lambda's event queue)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __call__(self, event: dict[str, Any]) -> None:
        threading.Thread(target=self._run, args=(event,), name="local-async-invoke", daemon=True).start()

    def _run(self, event: dict[str, Any]) -> None:
        try:
            self.handler(event)
        except Exception:  # as Lambda would: the invocation failed; the handler records what it can
            logger.exception("asynchronous job failed")


def make_invoker(handler: Handler, settings: Settings) -> Invoker:
    """The invoker for this runtime: a thread when the settings say so (``LOCAL_ASYNC=thread``), else Lambda."""
    if settings.local_async == "thread":
        return ThreadInvoker(handler)
    if not settings.aws_lambda_function_name:
        raise RuntimeError("AWS_LAMBDA_FUNCTION_NAME is not set: outside Lambda, set LOCAL_ASYNC=thread")
    return LambdaInvoker(settings.aws_lambda_function_name)
