"""Publish the web app to a deployed stack: upload web/ to its bucket, write /config.json, invalidate CloudFront.

    python -m infra.web.publish --stack exam-scoring [--region us-east-1] [--dry-run]

The bucket holds the same layout ``make run`` serves (infra/local/server.py): ``index.html`` at the root
(CloudFront's default root object) and every other file of web/ under ``app/``. ``config.json`` tells the
app where the API is and how to sign in (the Cognito hosted UI, authorization code with PKCE); it is
written from the stack's outputs, so nothing about a stack is baked into the files in git. Objects in
the bucket that web/ no longer has are deleted, then ``/*`` is invalidated so the new files show at once.
config.json also carries the app's own key for the free diagnostic (``diagnosticKey``: the ``WebAppKey``
in the partners' usage plan, read with apigateway:GET).
Run it after every ``sam deploy`` that changes web/ or the stack's API, pool or domain.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "web"
# The types the local server sends (infra/local/server.py WEB_TYPES), and a few an app may add.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# The files are not fingerprinted, so every one is revalidated (ETag) on use, as make run serves them.
CACHE_CONTROL = "no-cache"
CONFIG_KEY = "config.json"
REQUIRED_OUTPUTS = {
    "WebBucketName",
    "WebDistributionId",
    "WebAppUrl",
    "ApiUrl",
    "CandidateSignInUrl",
    "CandidatePoolClientId",
}
SCOPES = ["openid", "email"]  # the app client's AllowedOAuthScopes (template.yaml)


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def config_from_outputs(outputs: dict[str, str], diagnostic_key: str | None = None) -> dict[str, Any]:
    """What the app reads from /config.json: the API's base URL, the hosted UI's settings, the diagnostic key."""
    app_url = outputs["WebAppUrl"]
    config: dict[str, Any] = {
        "apiUrl": outputs["ApiUrl"].rstrip("/"),
        "cognito": {
            "domain": outputs["CandidateSignInUrl"].rstrip("/"),
            "clientId": outputs["CandidatePoolClientId"],
            "redirectUri": app_url,  # exactly the app client's callback and sign-out URL
            "logoutUri": app_url,
            "scopes": SCOPES,
        },
    }
    if diagnostic_key:
        config["diagnosticKey"] = diagnostic_key
    return config


def web_files(web_dir: Path = WEB_DIR) -> Iterator[tuple[str, Path, str]]:
    """(key, file, content type) for every file of web/ the app serves; anything else is skipped, with a note."""
    for path in sorted(web_dir.rglob("*")):
        if not path.is_file():
            continue
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None:
            print(f"  skipped {path.relative_to(web_dir)} (no content type for {path.suffix or 'no suffix'})")
            continue
        rel = path.relative_to(web_dir).as_posix()
        yield ("index.html" if rel == "index.html" else f"app/{rel}"), path, content_type


def publish(
    s3: Any,
    bucket: str,
    config: dict[str, Any],
    *,
    web_dir: Path = WEB_DIR,
    cloudfront: Any = None,
    distribution_id: str | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Upload the app and its config; delete what web/ no longer has; invalidate. Returns the keys written.

    The assets go first, then config.json, then index.html, so a visitor mid-publish never loads a page
    whose modules are not there yet.
    """
    files = sorted(web_files(web_dir), key=lambda f: f[0] == "index.html")
    written: list[str] = []
    for key, path, content_type in files:
        if key == "index.html":
            written.append(_put(s3, bucket, CONFIG_KEY, _config_body(config), "application/json", dry_run))
        written.append(_put(s3, bucket, key, path.read_bytes(), content_type, dry_run))
    if CONFIG_KEY not in written:  # no index.html: still write the config
        written.append(_put(s3, bucket, CONFIG_KEY, _config_body(config), "application/json", dry_run))
    keep = set(written)
    stale = [k for k in _keys(s3, bucket) if k not in keep]
    for key in stale:
        print(f"  {'would delete' if dry_run else 'deleted'} {key}")
    if stale and not dry_run:
        for start in range(0, len(stale), 1000):
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1000]], "Quiet": True}
            )
    if cloudfront is not None and distribution_id and not dry_run:
        cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": f"publish-{time.time_ns()}",
            },
        )
        print(f"  invalidated /* on distribution {distribution_id}")
    return written


def _config_body(config: dict[str, Any]) -> bytes:
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def _put(s3: Any, bucket: str, key: str, body: bytes, content_type: str, dry_run: bool) -> str:
    if not dry_run:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=CACHE_CONTROL)
    print(f"  {'would upload' if dry_run else 'uploaded'} {key} ({content_type}, {len(body)} bytes)")
    return key


def _keys(s3: Any, bucket: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be uploaded and deleted; change nothing")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    missing = sorted(REQUIRED_OUTPUTS - outputs.keys())
    if missing:
        print(f"stack {args.stack} lacks the outputs {missing}: deploy the current template first", file=sys.stderr)
        return 2
    diagnostic_key = None
    if "WebAppKeyId" in outputs:
        got = session.client("apigateway").get_api_key(apiKey=outputs["WebAppKeyId"], includeValue=True)
        diagnostic_key = got["value"]
    else:
        print("  the stack has no WebAppKeyId output: the app's free diagnostic will say it is unavailable")
    config = config_from_outputs(outputs, diagnostic_key)
    print(f"publishing web/ to s3://{outputs['WebBucketName']} for {outputs['WebAppUrl']}")
    publish(
        session.client("s3"),
        outputs["WebBucketName"],
        config,
        web_dir=WEB_DIR,
        cloudfront=session.client("cloudfront"),
        distribution_id=outputs["WebDistributionId"],
        dry_run=args.dry_run,
    )
    print(f"open {outputs['WebAppUrl']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
