"""The calibration job: on a schedule (EventBridge) and on demand through the admin API (IAM).

``POST /admin/calibrations`` only queues a run (202); the run itself executes in an asynchronous invocation
of this same function (``exam_core.invoker``: deployed, Lambda's event queue; locally, a thread), so it
has the function's timeout, not API Gateway's 29 s.

numpy is this function's own dependency (requirements.txt beside this file), not the layer's, so the
request-path functions never carry it.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.calibration_job import CalibrationJob
from exam_core.errors import DomainError, InvalidInput
from exam_core.http import ADMIN, build_resolver, caller, documented, handle, requires
from exam_core.invoker import Invoker, make_invoker
from exam_core.log import logger
from exam_core.models.api import CalibrationOut, ExamId, StartCalibration
from exam_core.runtime import store
from exam_core.settings import get_settings

app = build_resolver()


@lru_cache(maxsize=1)
def job() -> CalibrationJob:
    return CalibrationJob(store(), get_settings(), time.time)


RUN_EVENT = "calibrationRun"  # the asynchronous invocation's event: {"calibrationRun": {examId, calibrationId, ...}}


def run_queued(event: dict[str, Any]) -> Any:
    """What the asynchronous invocation runs (deployed: lambda_handler; locally: the invoker's thread)."""
    run = event[RUN_EVENT]
    return job().execute(run["examId"], run["calibrationId"])


@lru_cache(maxsize=1)
def invoker() -> Invoker:
    return make_invoker(run_queued, get_settings())


def _choose(name: str, query: Any, body: Any, default: Any) -> Any:
    if query is not None and body is not None and query != body:
        raise InvalidInput(f"{name} differs between the query and the body", code="conflicting_parameters")
    return next((v for v in (body, query) if v is not None), default)


@app.post(
    "/admin/calibrations",
    summary="Start a calibration of the pretest items (202: queued); dryRun=true reports what would change and "
    "changes nothing. Poll the Location (GET /admin/calibrations/{calibrationId}) for the status and report",
    responses=documented(CalibrationOut, 400, 403, 404, 503, status=202, description="The run, queued", auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="runCalibration",
)
def run_calibration(
    examId: Annotated[ExamId | None, Query(description="Default clf-c02")] = None,
    dryRun: Annotated[bool | None, Query(description="Report only; change nothing")] = None,
    request: Annotated[StartCalibration | None, Body()] = None,
) -> Any:
    exam_id = _choose("examId", examId, request.exam_id if request else None, "clf-c02")
    dry_run = _choose("dryRun", dryRun, request.dry_run if request else None, False)
    record = job().queue(exam_id, dry_run=dry_run, who=caller(app))
    try:
        invoker()({RUN_EVENT: {k: record[k] for k in ("examId", "calibrationId", "dryRun", "by")}})
    except DomainError as exc:  # not queued (503): the run is recorded failed rather than left queued
        job().fail(record, exc)
        raise
    location = f"/admin/calibrations/{record['calibrationId']}?examId={exam_id}"
    return Response(
        status_code=202, content_type=content_types.APPLICATION_JSON, body=record, headers={"Location": location}
    )


@app.get(
    "/admin/calibrations/<calibrationId>",
    summary="A calibration run: queued, running, done (with the report) or failed (with the reason)",
    responses=documented(CalibrationOut, 403, 404, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="getCalibration",
)
def get_calibration(
    calibrationId: Annotated[str, Path(pattern=r"^[0-9TZ]{16}-[0-9a-f]{6}$")],
    examId: Annotated[ExamId, Query()] = "clf-c02",
) -> Any:
    return job().get(examId, calibrationId)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if RUN_EVENT in event:  # the asynchronous invocation POST /admin/calibrations queued
        return run_queued(event)
    if event.get("source") == "aws.events":  # the schedule: calibrate every exam loaded, for real
        return [job().run(e, dry_run=False, who="schedule")["calibrationId"] for e in store().exam_ids()]
    return handle(app, event, context)
