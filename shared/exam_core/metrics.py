"""Business metrics as CloudWatch embedded metric format (EMF) lines, through Powertools Metrics.

One line per event, written to stdout (the function's log stream); CloudWatch turns each into a metric in
the ``ExamScoring`` namespace with no API call and no extra latency beyond the print. Powertools'
``EphemeralMetrics`` is used rather than ``Metrics`` because each event carries its own dimensions (exam
and mode, partner, route and reason) and ``Metrics`` shares one metric set across every instance in the
process; an ephemeral set per event keeps them apart without a ``log_metrics`` decorator on each handler.

Cold start: Powertools' package init already loads its metrics module along with the event handler and
the logger, so this adds no import (tests/unit/test_metrics.py checks it); the first event's line costs
its serialisation and print, well under a millisecond. The import below is inside the function only so
the stream consumer and the calibration job pay nothing if Powertools ever stops doing that.
Set ``POWERTOOLS_METRICS_DISABLED=true`` to silence them (``make run`` does by
default; the local server's log level is WARNING for the same reason).
"""

from __future__ import annotations

NAMESPACE = "ExamScoring"


def _emit(name: str, dimensions: dict[str, str], value: float = 1.0) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics  # first event only; then sys.modules

    # Powertools adds a "service" dimension of its own (POWERTOOLS_SERVICE_NAME) to every line.
    metrics = EphemeralMetrics(namespace=NAMESPACE)
    for key, dim in dimensions.items():
        metrics.add_dimension(name=key, value=dim or "none")
    metrics.add_metric(name=name, unit="Count", value=value)
    metrics.flush_metrics()


def attempt_started(exam_id: str, mode: str, partner_id: str | None) -> None:
    """A new attempt was stored (idempotent replays of a start are not new attempts and are not counted)."""
    _emit("AttemptsStarted", {"exam": exam_id, "mode": mode})
    if partner_id is not None:
        _emit("DiagnosticsStarted", {"exam": exam_id, "partner": partner_id})


def attempt_submitted(exam_id: str, mode: str, *, passed: bool | None, timed_out: bool) -> None:
    """A result was stored (submitted, or settled when the time ran out); ``passed`` is None for practice."""
    _emit("AttemptsSubmitted", {"exam": exam_id, "mode": mode, "ending": "timeout" if timed_out else "submit"})
    if passed:
        _emit("Passes", {"exam": exam_id, "mode": mode})


def save_refused(reason: str) -> None:
    """A save was refused, by the error code the client got (attempt_expired, attempt_submitted, ...)."""
    _emit("SavesRefused", {"reason": reason})


def unavailable(route: str) -> None:
    """The API answered 503 (DynamoDB throttled or unavailable after retries, or a circuit open)."""
    _emit("ServiceUnavailable", {"route": route})
