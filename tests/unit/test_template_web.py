"""The deployed web app in the template, as data: a private bucket read only by CloudFront (origin access
control, TLS only), HTTPS with the same CSP `make run` sends, and a Cognito app client that signs in with
the authorization code grant (the app adds PKCE) and comes back only to the app's own URL."""

from __future__ import annotations

import re
from typing import Any

from infra.local import server
from infra.local.gateway import Template
from tests.conftest import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE.resources
OUTPUTS: dict[str, Any] = TEMPLATE.doc["Outputs"]
APP_URL = {"Fn::Sub": "https://${WebDistribution.DomainName}/"}


def _props(name: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[name]["Properties"]
    return props


def _distribution() -> dict[str, Any]:
    config: dict[str, Any] = _props("WebDistribution")["DistributionConfig"]
    return config


def _directives(csp: str) -> dict[str, str]:
    return {d.split()[0]: " ".join(d.split()[1:]) for d in (p.strip() for p in csp.split(";")) if d}


def test_the_web_bucket_blocks_every_public_access_and_is_encrypted() -> None:
    assert RESOURCES["WebBucket"]["Type"] == "AWS::S3::Bucket"
    props = _props("WebBucket")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs at all
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert "WebsiteConfiguration" not in props  # not an S3 website endpoint: CloudFront reads it through its API


def test_the_bucket_policy_refuses_plain_http_and_lets_only_this_distribution_read() -> None:
    policy = _props("WebBucketPolicy")
    assert policy["Bucket"] == {"Ref": "WebBucket"}
    statements = policy["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1 and deny[0]["Principal"] == "*" and deny[0]["Action"] == "s3:*"
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["WebBucket", "Arn"]} in deny[0]["Resource"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allow) == 1, "only CloudFront may read"
    (grant,) = allow
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"} and grant["Action"] == "s3:GetObject"
    source = grant["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${WebDistribution}")  # this distribution, not any in the account


def test_cloudfront_reads_the_bucket_through_origin_access_control_not_a_legacy_identity() -> None:
    oac = _props("WebOriginAccessControl")["OriginAccessControlConfig"]
    assert RESOURCES["WebOriginAccessControl"]["Type"] == "AWS::CloudFront::OriginAccessControl"
    assert oac["OriginAccessControlOriginType"] == "s3"
    assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")
    (origin,) = _distribution()["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["WebBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert not TEMPLATE.resources_of("AWS::CloudFront::CloudFrontOriginAccessIdentity")


def test_cloudfront_serves_index_html_over_https_only_with_the_response_headers_policy() -> None:
    dist = _distribution()
    assert dist["Enabled"] is True and dist["DefaultRootObject"] == "index.html"
    behavior = dist["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")  # nothing served over HTTP
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "WebResponseHeadersPolicy"}
    assert "CacheBehaviors" not in dist  # one behaviour: every path gets the headers


def test_the_deployed_csp_is_the_one_make_run_sends_plus_connect_src_for_the_api_and_the_hosted_ui() -> None:
    headers = _props("WebResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    deployed = _directives(csp["ContentSecurityPolicy"]["Fn::Sub"])
    local = _directives(server.WEB_CSP)
    assert {k: v for k, v in deployed.items() if k != "connect-src"} == local
    assert deployed["script-src"] == "'self'" and "unsafe-inline" not in csp["ContentSecurityPolicy"]["Fn::Sub"]
    connect = deployed["connect-src"].split()
    assert connect[0] == "'self'"  # /config.json
    assert "https://${ExamApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}" in connect
    assert "https://${CandidatePoolDomain}.auth.${AWS::Region}.amazoncognito.com" in connect
    assert headers["ContentTypeOptions"]["Override"] is True  # nosniff, as make run sends
    assert headers["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_the_web_app_url_output_is_the_distribution_over_https() -> None:
    assert OUTPUTS["WebAppUrl"]["Value"] == APP_URL
    for name in ("WebBucketName", "WebDistributionId", "CandidateSignInUrl", "ApiUrl", "CandidatePoolClientId"):
        assert name in OUTPUTS, name  # what infra.web.publish reads
    assert OUTPUTS["CandidateSignInUrl"]["Value"] == {
        "Fn::Sub": "https://${CandidatePoolDomain}.auth.${AWS::Region}.amazoncognito.com"
    }


def test_the_hosted_ui_domain_prefix_comes_from_a_parameter_with_a_per_account_default() -> None:
    domain = _props("CandidatePoolDomain")
    assert RESOURCES["CandidatePoolDomain"]["Type"] == "AWS::Cognito::UserPoolDomain"
    assert domain["UserPoolId"] == {"Ref": "CandidatePool"}
    assert domain["Domain"] == {
        "Fn::If": [
            "CognitoDomainPrefixGiven",
            {"Ref": "CognitoDomainPrefix"},
            {"Fn::Sub": "${AWS::StackName}-${AWS::AccountId}"},
        ]
    }
    param = TEMPLATE.doc["Parameters"]["CognitoDomainPrefix"]
    assert param["Default"] == ""
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("exam-scoring-prod")
    assert not pattern.fullmatch("Exam_Scoring") and not pattern.fullmatch("-x")


def test_the_app_client_signs_in_with_the_code_grant_only_and_returns_only_to_the_web_app() -> None:
    client = _props("CandidatePoolClient")
    assert client["GenerateSecret"] is False  # a public client: the browser cannot keep a secret, PKCE instead
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # no implicit grant, no client credentials
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email"}
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["CallbackURLs"] == [APP_URL]
    assert client["LogoutURLs"] == [APP_URL]
    assert client["EnableTokenRevocation"] is True  # sign-out revokes the refresh token


def test_the_api_authorizer_has_no_scopes_so_the_app_sends_the_id_token() -> None:
    """A Cognito authorizer without AuthorizationScopes accepts ID tokens (and refuses access tokens)."""
    authorizer = _props("ExamApi")["Auth"]["Authorizers"]["CognitoAuthorizer"]
    assert "AuthorizationScopes" not in authorizer
    auth_js = (ROOT / "web" / "js" / "auth.js").read_text()
    assert "setToken(t.id_token)" in auth_js and "localStorage" not in auth_js.replace("never localStorage", "")


def test_the_web_app_key_is_metered_in_the_partner_usage_plan() -> None:
    assert _props("WebAppKeyInPlan") == {
        "KeyId": {"Ref": "WebAppKey"},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": "PartnerUsagePlan"},
    }
    assert OUTPUTS["WebAppKeyId"]["Value"] == {"Ref": "WebAppKey"}
