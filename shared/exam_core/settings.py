"""Settings read once from the environment into a pydantic-settings model."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    items_table: str = "exam-items"
    attempts_table: str = "exam-attempts"
    # Idempotency records of the start routes (Idempotency-Key header), and how long a key is remembered.
    idempotency_table: str = "exam-idempotency"
    idempotency_ttl_seconds: int = Field(default=3600, ge=60)
    # DynamoDB client timeouts (seconds). DynamoDB answers in milliseconds; the defaults keep the worst
    # case of three attempts under the functions' Timeout (tests/unit/test_retry_budget.py). The local
    # server raises the read timeout: its embedded DynamoDB serialises requests and can be slow under load.
    dynamodb_connect_timeout: float = Field(default=1.0, gt=0, le=5)
    dynamodb_read_timeout: float = Field(default=1.0, gt=0, le=30)
    # How long a warm function trusts its cached bank before it checks the bank's version again.
    bank_refresh_seconds: float = Field(default=60.0, ge=0)
    # Latency allowance after expiresAt during which saves and submissions are still accepted.
    submit_grace_seconds: int = Field(default=30, ge=0)
    # Total study hours split across domains in a study plan.
    study_hours: float = Field(default=20.0, gt=0)
    # Anonymous diagnostics expire through DynamoDB time-to-live: unsubmitted ones after this many days,
    abandoned_ttl_days: int = Field(default=7, ge=1)
    # and submitted ones (kept for partner summaries) after this many, unless a candidate claims them.
    diagnostic_retention_days: int = Field(default=400, ge=1)
    # Problem reports one attempt may file (one per question): a bound on abuse, not on honest use.
    reports_per_attempt: int = Field(default=20, ge=1)
    # Largest request body a function accepts (413 payload_too_large above it; API Gateway itself allows
    # 10 MB). A full save of 65 answers is about 6 KB; admin routes (IAM) import up to 500 items at once.
    max_body_bytes: int = Field(default=65_536, ge=1024)
    admin_max_body_bytes: int = Field(default=2_097_152, ge=1024)
    # Calibration: a pretest item is promoted with this many responses, fit in range, discrimination.
    calibration_min_responses: int = Field(default=200, ge=1)
    calibration_fit_low: float = Field(default=0.7, gt=0)
    calibration_fit_high: float = Field(default=1.3, gt=0)
    calibration_min_point_biserial: float = 0.15
    # Readiness: the last N full timed attempts all at or above the score, no domain more than the gap
    # (percentage points) below that attempt's overall percent.
    readiness_attempts: int = Field(default=5, ge=1)
    readiness_score: int = 750
    readiness_domain_gap: float = Field(default=15.0, ge=0)
    # A signed-in candidate's full forms avoid items served in this many of their latest full attempts.
    avoid_recent_attempts: int = Field(default=3, ge=0)
    # Longest date range a partner summary may cover.
    partner_summary_max_days: int = Field(default=366, ge=1)
    # Overrides the blueprint's duration (seconds); lets tests and demos run out the clock quickly.
    duration_override_seconds: int | None = Field(default=None, ge=1)
    aws_endpoint_url: str | None = None
    # Asynchronous jobs (exam_core.invoker): Lambda sets the running function's name; the local server, which
    # has no Lambda service, sets LOCAL_ASYNC=thread to run them on a background thread instead.
    aws_lambda_function_name: str | None = None
    local_async: Literal["", "thread"] = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
