"""Integration fixtures: tables created from template.yaml inside moto's ``mock_aws``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from exam_core.store import DynamoStore
from moto import mock_aws

from infra.local.gateway import Template, create_tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dynamodb() -> Iterator[object]:
    saved = os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(Template(ROOT / "template.yaml"), client)
        yield client
    if saved is not None:
        os.environ["AWS_ENDPOINT_URL"] = saved


@pytest.fixture
def store(dynamodb: object) -> DynamoStore:
    return DynamoStore("ItemsTable", "AttemptsTable", dynamodb)  # type: ignore[arg-type]
