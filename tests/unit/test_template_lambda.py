"""The Lambda settings of template.yaml as data, resolved the way CloudFormation resolves them.

Each function's properties (Globals merged in) are evaluated for concrete parameter values with the
template's own Conditions (``Ref``, ``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Fn::If``,
``AWS::NoValue``), so the tests check what a deploy with those ``--parameter-overrides`` would get:
architecture, timeouts against the DynamoDB client's worst-case retry budget and API Gateway's 29 s,
reserved concurrency (parameterised, nothing reserved by default, never 0), and SnapStart (only when
``EnableSnapStart`` is true, only on published versions behind an alias, only on python3.12+).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.gateway import Template
from tests.conftest import ROOT
from tests.unit.test_retry_budget import API_GATEWAY_LIMIT_SECONDS, worst_case_seconds

TEMPLATE = Template(ROOT / "template.yaml")
DOC = TEMPLATE.doc
PARAMETERS: dict[str, dict[str, Any]] = DOC["Parameters"]
FUNCTIONS = TEMPLATE.resources_of("AWS::Serverless::Function")
ROUTE_FUNCTIONS = sorted({r.function for r in TEMPLATE.routes})
# The calibration job also answers two IAM routes, but its scheduled run needs minutes: an on-demand run
# longer than 29 s gets API Gateway's 504 while the job finishes and stores its report.
LONG_JOBS = {"CalibrationFunction"}
API_CONCURRENCY = {"ExamApiFunction", "DiagnosticApiFunction", "CandidateApiFunction"}
BACKGROUND_CONCURRENCY = {"ItemStatsFunction", "CalibrationFunction"}
SNAPSTART_FUNCTIONS = API_CONCURRENCY

_NO_VALUE = object()


def _defaults() -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in PARAMETERS.items()}


class Resolver:
    """Conditions and intrinsics of this template for one set of parameter values."""

    def __init__(self, **overrides: str) -> None:
        unknown = set(overrides) - set(PARAMETERS)
        assert not unknown, f"not template parameters: {unknown}"
        self.values = {**_defaults(), **overrides}

    def condition(self, name: str) -> bool:
        return bool(self.value(DOC["Conditions"][name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return _NO_VALUE
                return self.values.get(arg, node)  # a resource: left as is
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
        if isinstance(node, dict):
            out = {k: self.value(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not _NO_VALUE]
        return node

    def function(self, logical_id: str) -> dict[str, Any]:
        """The function's properties as deployed: Globals, then its own, then resolved."""
        merged = {**DOC["Globals"]["Function"], **FUNCTIONS[logical_id]["Properties"]}
        resolved: dict[str, Any] = self.value(merged)
        return resolved


def _combinations() -> Iterator[Resolver]:
    """Defaults, and every EnableSnapStart value with and without reserved concurrency."""
    for snap in PARAMETERS["EnableSnapStart"]["AllowedValues"]:
        for reserved in ("none", "7"):
            yield Resolver(
                EnableSnapStart=str(snap), ApiReservedConcurrency=reserved, BackgroundReservedConcurrency=reserved
            )


# ---------------------------------------------------------------- architecture and runtime


def test_every_function_and_the_layer_are_arm64() -> None:
    for resolver in _combinations():
        for name in FUNCTIONS:
            assert resolver.function(name)["Architectures"] == ["arm64"], name
    layer = next(iter(TEMPLATE.resources_of("AWS::Serverless::LayerVersion").values()))
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"


# ---------------------------------------------------------------- timeouts


@pytest.fixture(scope="module")
def retry_budget() -> Iterator[float]:
    from exam_core.settings import get_settings
    from exam_core.store import make_client

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never called: only the client's config is read
        for key, value in (
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "u"),
            ("AWS_SECRET_ACCESS_KEY", "u"),
        ):
            mp.setenv(key, value)
        get_settings.cache_clear()
        yield worst_case_seconds(make_client())
    get_settings.cache_clear()


def test_the_retry_budget_is_a_real_bound(retry_budget: float) -> None:
    assert 0 < retry_budget < API_GATEWAY_LIMIT_SECONDS / 2, retry_budget


@pytest.mark.parametrize("function", [f for f in ROUTE_FUNCTIONS if f not in LONG_JOBS])
def test_api_function_timeouts_fit_two_worst_case_calls_and_stay_below_api_gateway(
    function: str, retry_budget: float
) -> None:
    timeout = Resolver().function(function)["Timeout"]
    assert isinstance(timeout, int)
    # A route makes at most two DynamoDB calls in a row (read, conditional write), each up to the budget.
    assert 2 * retry_budget <= timeout < API_GATEWAY_LIMIT_SECONDS, (function, timeout, retry_budget)
    assert TEMPLATE.functions[function].timeout == timeout  # the local server enforces the same deadline


def test_only_the_calibration_job_serves_a_route_past_api_gateways_limit() -> None:
    past = {f for f in ROUTE_FUNCTIONS if Resolver().function(f)["Timeout"] >= API_GATEWAY_LIMIT_SECONDS}
    assert past == LONG_JOBS
    assert set(ROUTE_FUNCTIONS) - LONG_JOBS, "no request-path function left to check"


def test_the_stream_consumer_has_room_for_a_batch_of_retried_writes(retry_budget: float) -> None:
    timeout = Resolver().function("ItemStatsFunction")["Timeout"]
    assert timeout > 2 * retry_budget and timeout <= 900, timeout


# ---------------------------------------------------------------- reserved concurrency


@pytest.mark.parametrize("parameter", ["ApiReservedConcurrency", "BackgroundReservedConcurrency"])
def test_reserved_concurrency_parameters_default_to_nothing_and_refuse_zero(parameter: str) -> None:
    spec = PARAMETERS[parameter]
    assert spec["Type"] == "String" and spec["Default"] == "none"
    pattern = spec["AllowedPattern"]
    for ok in ("none", "1", "10", "250", "99999"):
        assert re.fullmatch(pattern, ok), ok
    for refused in ("0", "00", "-1", "01", "1.5", "", "None", "abc", " 5", "100000"):
        assert not re.fullmatch(pattern, refused), refused


def test_by_default_no_function_reserves_concurrency() -> None:
    resolver = Resolver()
    assert not resolver.condition("ApiConcurrencyReserved")
    assert not resolver.condition("BackgroundConcurrencyReserved")
    for name in FUNCTIONS:
        assert "ReservedConcurrentExecutions" not in resolver.function(name), name


def test_reserved_concurrency_comes_only_from_its_parameter() -> None:
    for name in FUNCTIONS:
        raw = FUNCTIONS[name]["Properties"].get("ReservedConcurrentExecutions")
        assert raw is None or ("Fn::If" in raw and raw["Fn::If"][2] == {"Ref": "AWS::NoValue"}), (name, raw)
    assert "ReservedConcurrentExecutions" not in DOC["Globals"]["Function"]


@pytest.mark.parametrize(
    ("api", "background"), [("25", "none"), ("none", "1"), ("40", "2")], ids=["api-only", "background-only", "both"]
)
def test_each_group_gets_its_own_reserved_concurrency(api: str, background: str) -> None:
    resolver = Resolver(ApiReservedConcurrency=api, BackgroundReservedConcurrency=background)
    got = {name: resolver.function(name).get("ReservedConcurrentExecutions") for name in FUNCTIONS}
    want: dict[str, str | None] = dict.fromkeys(FUNCTIONS)
    for name in API_CONCURRENCY:
        want[name] = None if api == "none" else api
    for name in BACKGROUND_CONCURRENCY:
        want[name] = None if background == "none" else background
    assert got == want


# ---------------------------------------------------------------- SnapStart


def test_snapstart_is_an_option_off_by_default() -> None:
    spec = PARAMETERS["EnableSnapStart"]
    assert spec["Default"] == "false" and sorted(spec["AllowedValues"]) == ["false", "true"]
    assert "SnapStart" not in DOC["Globals"]["Function"]
    for name in FUNCTIONS:
        assert "SnapStart" not in Resolver().function(name), name


def test_snapstart_is_on_only_when_the_parameter_is_true() -> None:
    for resolver in _combinations():
        on = resolver.values["EnableSnapStart"] == "true"
        for name in FUNCTIONS:
            snap = resolver.function(name).get("SnapStart")
            if on and name in SNAPSTART_FUNCTIONS:
                assert snap == {"ApplyOn": "PublishedVersions"}, name
            else:
                assert snap is None, (name, resolver.values["EnableSnapStart"], snap)


def test_snapstart_functions_are_invoked_through_a_published_alias() -> None:
    layer = next(iter(TEMPLATE.resources_of("AWS::Serverless::LayerVersion").values()))
    for name in FUNCTIONS:
        props = Resolver(EnableSnapStart="true").function(name)
        if "SnapStart" not in props:
            continue
        # SAM cannot make AutoPublishAlias conditional: the alias must be a plain name, always there.
        assert isinstance(props.get("AutoPublishAlias"), str) and re.fullmatch(
            r"[A-Za-z0-9_-]+", props["AutoPublishAlias"]
        )
        assert "AutoPublishAlias" in FUNCTIONS[name]["Properties"], name
        # A new version (and snapshot) whenever any property changes, and when the shared layer does:
        # otherwise a layer-only deploy would leave the alias on the old exam_core code.
        assert props.get("AutoPublishAliasAllProperties") is True, name
        assert layer["Properties"].get("PublishLambdaVersion") is True
        assert props.get("VersionDeletionPolicy") == "Delete", name  # replaced versions do not pile up
        assert "ProvisionedConcurrencyConfig" not in props, name  # SnapStart excludes provisioned concurrency


def test_snapstart_can_only_be_on_with_python_3_12_or_later() -> None:
    for resolver in _combinations():
        for name in FUNCTIONS:
            props = resolver.function(name)
            if "SnapStart" not in props:
                continue
            match = re.fullmatch(r"python3\.(\d+)", props["Runtime"])
            assert match and int(match.group(1)) >= 12, (name, props["Runtime"])
            storage = props.get("EphemeralStorage", {}).get("Size", 512)
            assert storage <= 512, name  # SnapStart supports at most 512 MB of /tmp


def test_the_local_server_reads_the_functions_the_same_way() -> None:
    for name in FUNCTIONS:
        props = Resolver().function(name)
        local = TEMPLATE.functions[name]
        assert (local.timeout, local.memory) == (props["Timeout"], props["MemorySize"]), name
