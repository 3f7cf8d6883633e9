"""The store contract's one fixture: the same cases run against the in-memory fake and DynamoStore on moto."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("ItemsTable", "AttemptsTable")


@pytest.fixture(scope="module")
def moto_tables() -> Iterator[Any]:
    """The template's tables in moto, created once per module (creating them is most of a case's time)."""
    import boto3
    from moto import mock_aws

    from infra.local.gateway import Template, create_tables

    saved = os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_tables(Template(ROOT / "template.yaml"), client)
            yield client
    finally:
        if saved is not None:
            os.environ["AWS_ENDPOINT_URL"] = saved


def _empty(client: Any) -> None:
    for table in TABLES:
        for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk"):
            for item in page["Items"]:
                client.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.fixture(params=["fake", "dynamo"])
def store(request: pytest.FixtureRequest) -> Any:
    """An empty store: ``tests.fakes.InMemoryStore``, or ``DynamoStore`` on the template's tables in moto."""
    if request.param == "fake":
        from tests.fakes import InMemoryStore

        return InMemoryStore()
    from exam_core.store import DynamoStore

    client = request.getfixturevalue("moto_tables")
    _empty(client)
    return DynamoStore(*TABLES, client)
