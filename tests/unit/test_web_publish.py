"""infra.web.publish against moto's S3 and CloudFront: the app's files, their types, and config.json from outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.web import publish as pub

OUTPUTS = {
    "WebAppUrl": "https://d111111abcdef8.cloudfront.net/",
    "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
    "CandidateSignInUrl": "https://exam-scoring-123456789012.auth.us-east-1.amazoncognito.com",
    "CandidatePoolClientId": "3n4b5urk1ft4fl3mg5e62d9ado",
    "WebBucketName": "web-bucket",
    "WebDistributionId": "E2QWRUHEXAMPLE",
    "WebAppKeyId": "key-id-1",
}


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="web-bucket")
        yield client


def _objects(s3: Any) -> dict[str, dict[str, Any]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="web-bucket").get("Contents", [])]
    return {k: s3.get_object(Bucket="web-bucket", Key=k) for k in keys}


def test_given_stack_outputs_when_the_config_is_built_then_it_names_the_api_and_the_hosted_ui() -> None:
    config = pub.config_from_outputs(OUTPUTS)
    assert config == {
        "apiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        "cognito": {
            "domain": "https://exam-scoring-123456789012.auth.us-east-1.amazoncognito.com",
            "clientId": "3n4b5urk1ft4fl3mg5e62d9ado",
            "redirectUri": "https://d111111abcdef8.cloudfront.net/",
            "logoutUri": "https://d111111abcdef8.cloudfront.net/",
            "scopes": ["openid", "email"],
        },
    }


def test_given_the_repo_web_folder_when_published_then_every_file_is_uploaded_with_its_type_and_the_local_layout(
    s3: Any,
) -> None:
    pub.publish(s3, "web-bucket", pub.config_from_outputs(OUTPUTS))
    objects = _objects(s3)
    expected = {
        ("index.html" if p.name == "index.html" and p.parent == pub.WEB_DIR else f"app/{p.relative_to(pub.WEB_DIR)}")
        for p in pub.WEB_DIR.rglob("*")
        if p.is_file() and p.suffix in pub.CONTENT_TYPES
    }
    assert set(objects) == expected | {"config.json"}
    assert {"index.html", "app/app.css", "app/js/main.js", "app/js/api.js", "app/js/auth.js"} <= set(objects)
    for key, obj in objects.items():
        assert obj["CacheControl"] == "no-cache", key
        if key.endswith(".js"):
            assert obj["ContentType"] == "text/javascript; charset=utf-8", key
        elif key.endswith(".css"):
            assert obj["ContentType"] == "text/css", key
        elif key.endswith(".html"):
            assert obj["ContentType"] == "text/html; charset=utf-8", key
    index = (pub.WEB_DIR / "index.html").read_bytes()
    assert objects["index.html"]["Body"].read() == index
    assert (pub.WEB_DIR / "js/main.js").read_bytes() == objects["app/js/main.js"]["Body"].read()


def test_given_a_diagnostic_key_when_the_config_is_built_then_the_app_gets_it() -> None:
    assert pub.config_from_outputs(OUTPUTS, "k-1")["diagnosticKey"] == "k-1"
    assert "diagnosticKey" not in pub.config_from_outputs(OUTPUTS)


def test_given_outputs_when_published_then_config_json_is_json_from_those_outputs(s3: Any) -> None:
    pub.publish(s3, "web-bucket", pub.config_from_outputs(OUTPUTS))
    obj = s3.get_object(Bucket="web-bucket", Key="config.json")
    assert obj["ContentType"] == "application/json"
    assert json.loads(obj["Body"].read()) == pub.config_from_outputs(OUTPUTS)


def test_given_a_file_gone_from_web_when_published_again_then_it_is_deleted_and_unknown_types_are_skipped(
    s3: Any, tmp_path: Path
) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "js" / "old.js").write_text("export {};")
    (tmp_path / "notes.md").write_text("not served")
    pub.publish(s3, "web-bucket", {"apiUrl": ""}, web_dir=tmp_path)
    assert set(_objects(s3)) == {"index.html", "app/js/old.js", "config.json"}
    (tmp_path / "js" / "old.js").unlink()
    (tmp_path / "js" / "new.js").write_text("export {};")
    pub.publish(s3, "web-bucket", {"apiUrl": ""}, web_dir=tmp_path)
    assert set(_objects(s3)) == {"index.html", "app/js/new.js", "config.json"}


def test_given_a_dry_run_when_published_then_nothing_changes(s3: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    written = pub.publish(s3, "web-bucket", {"apiUrl": ""}, web_dir=tmp_path, dry_run=True)
    assert written == ["config.json", "index.html"]
    assert _objects(s3) == {}


def test_given_a_stack_when_main_runs_then_it_publishes_its_outputs_and_web_app_key_and_invalidates(
    s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    monkeypatch.setattr(pub, "WEB_DIR", tmp_path)
    monkeypatch.setattr(pub, "stack_outputs", lambda _cfn, stack: OUTPUTS if stack == "exam-scoring" else {})
    invalidations: list[dict[str, Any]] = []

    class CloudFront:
        def create_invalidation(self, **kwargs: Any) -> None:
            invalidations.append(kwargs)

    class ApiGateway:
        def get_api_key(self, apiKey: str, includeValue: bool) -> dict[str, str]:
            assert apiKey == "key-id-1" and includeValue
            return {"id": apiKey, "value": "the-stack-web-app-key"}

    real_client = boto3.session.Session.client

    def client(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        fakes = {"cloudfront": CloudFront, "apigateway": ApiGateway}
        return fakes[name]() if name in fakes else real_client(self, name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", client)
    assert pub.main(["--stack", "exam-scoring", "--region", "us-east-1"]) == 0
    config = json.loads(s3.get_object(Bucket="web-bucket", Key="config.json")["Body"].read())
    assert config["apiUrl"] == OUTPUTS["ApiUrl"]
    assert config["diagnosticKey"] == "the-stack-web-app-key"  # the WebAppKey's value, read by its id
    assert [i["DistributionId"] for i in invalidations] == ["E2QWRUHEXAMPLE"]
    assert invalidations[0]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


def test_given_a_stack_without_the_web_outputs_when_main_runs_then_it_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pub, "stack_outputs", lambda _cfn, _stack: {"ApiUrl": OUTPUTS["ApiUrl"]})
    with mock_aws():
        assert pub.main(["--stack", "old", "--region", "us-east-1"]) == 2
    assert "WebAppUrl" in capsys.readouterr().err
