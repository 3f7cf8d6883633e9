"""The calibration job: on a schedule (EventBridge) and on demand through the admin API (IAM).

numpy is this function's own dependency (requirements.txt beside this file), not the layer's, so the
request-path functions never carry it.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.calibration_job import CalibrationJob
from exam_core.http import ADMIN, build_resolver, caller, documented, handle, requires
from exam_core.log import logger
from exam_core.models.api import CalibrationOut, ExamId
from exam_core.runtime import store
from exam_core.settings import get_settings

app = build_resolver()


@lru_cache(maxsize=1)
def job() -> CalibrationJob:
    return CalibrationJob(store(), get_settings(), time.time)


@app.post(
    "/admin/calibrations",
    summary="Calibrate pretest items now; dryRun=true shows what would change without changing anything",
    responses=documented(CalibrationOut, 403, 404, 503, status=201, description="The calibration report", auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="runCalibration",
)
def run_calibration(
    examId: Annotated[ExamId, Query()] = "clf-c02",
    dryRun: Annotated[bool, Query(description="Report only; change nothing")] = False,
) -> Any:
    doc = job().run(examId, dry_run=dryRun, who=caller(app))
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=doc)


@app.get(
    "/admin/calibrations/<calibrationId>",
    summary="A stored calibration report",
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
    if event.get("source") == "aws.events":  # the schedule: calibrate every exam loaded, for real
        return [job().run(e, dry_run=False, who="schedule")["calibrationId"] for e in store().exam_ids()]
    return handle(app, event, context)
