"""The functions' structured logger (Powertools), importable without the HTTP edge (stream consumers)."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger

logger = Logger(service="exam-scoring-api")


class _NoRouteArguments(logging.Filter):
    """Powertools' debug log (``POWERTOOLS_DEBUG``) prints every route's arguments: request bodies (keys and
    explanations in admin imports and corrections) and header parameters (an ``Idempotency-Key``, which
    replays a start and returns its attempt token). Keep the line, drop the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Calling API Route Handler"):
            record.msg, record.args = "Calling API Route Handler (arguments not logged)", ()
        return True


logging.getLogger("aws_lambda_powertools.event_handler.api_gateway").addFilter(_NoRouteArguments())
