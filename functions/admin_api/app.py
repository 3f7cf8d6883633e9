"""Operators: the item bank, item statistics and reports (AWS_IAM in the template; a bearer token locally)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.http import ADMIN, build_resolver, caller, documented, handle, requires
from exam_core.log import logger
from exam_core.models.api import (
    AdminItemDetail,
    AdminItemPage,
    ExamId,
    ImportRequest,
    ImportResult,
    ItemPatch,
    ItemStats,
    SuspectList,
)
from exam_core.runtime import admin_service

app = build_resolver()

ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{3,64}$", description="The item's id.")]
ExamQuery = Annotated[ExamId, Query(description="Exam id")]


@app.get(
    "/admin/items",
    summary="List items with filters",
    responses=documented(AdminItemPage, 403, 404, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="listItems",
)
def list_items(
    examId: ExamQuery = "clf-c02",
    domain: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["operational", "pretest", "retired"] | None, Query()] = None,
    task: Annotated[str | None, Query(pattern=r"^\d+\.\d+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    nextToken: Annotated[str | None, Query(max_length=64)] = None,
) -> AdminItemPage:
    return admin_service().list_items(
        examId, domain=domain, status=status, task=task, limit=limit, next_token=nextToken
    )


@app.put(
    "/admin/items",
    summary="Import a batch of items (validated like the files; all or nothing)",
    responses=documented(ImportResult, 400, 403, 404, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="importItems",
)
def import_items(request: Annotated[ImportRequest, Body()]) -> ImportResult:
    return admin_service().import_items(request.exam_id, [dict(i) for i in request.items], caller(app))


@app.get(
    "/admin/items/<itemId>",
    summary="One item with key, explanations, history and problem reports",
    responses=documented(AdminItemDetail, 403, 404, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="getItem",
)
def get_item(itemId: ItemId, examId: ExamQuery = "clf-c02") -> AdminItemDetail:
    return admin_service().get_item(examId, itemId)


@app.patch(
    "/admin/items/<itemId>",
    summary="Retire, promote or send back to pretest; correct the key or difficulty (recorded, versioned)",
    responses=documented(AdminItemDetail, 400, 403, 404, 409, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="updateItem",
)
def patch_item(itemId: ItemId, request: Annotated[ItemPatch, Body()]) -> AdminItemDetail:
    return admin_service().patch_item(request.exam_id, itemId, request, caller(app))


@app.get(
    "/admin/items/<itemId>/stats",
    summary="Item statistics: exposure, p-value, point-biserial, option choices, open reports",
    responses=documented(ItemStats, 403, 404, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="getItemStats",
)
def item_stats(itemId: ItemId, examId: ExamQuery = "clf-c02") -> ItemStats:
    return admin_service().stats(examId, itemId)


@app.get(
    "/admin/reports/items",
    summary="Items ranked by suspicion (statistics and problem reports); with service=, the items naming that service",
    responses=documented(SuspectList, 403, 404, 422, 503, auth="iam"),
    tags=["admin"],
    security=requires(ADMIN),
    operation_id="listSuspectItems",
)
def suspect_items(
    examId: ExamQuery = "clf-c02",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    service: Annotated[str | None, Query(min_length=2, max_length=80)] = None,
) -> SuspectList:
    return admin_service().suspects(examId, limit, service)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
