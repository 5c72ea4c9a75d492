"""Template reading: short tags, intrinsics, Globals, and SAM's environment precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.cfn_template import (
    Resolver,
    TemplateError,
    effective_environment,
    function_config,
    function_environment,
    load_template,
)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template() -> dict:  # type: ignore[type-arg]
    return load_template(DATA / "template.yaml")


def test_short_tags_become_intrinsic_functions(template: dict) -> None:  # type: ignore[type-arg]
    variables = template["Resources"]["EchoFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["QUEUE_ARN"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert variables["MODE"] == {"Fn::If": ["DevWithoutSecret", "plain", "secret"]}
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]


def test_function_config_applies_globals_and_resolves_everything(template: dict) -> None:  # type: ignore[type-arg]
    config = function_config(template, "EchoFunction", DATA)
    assert (config.handler, config.runtime, config.timeout_s, config.memory_mb) == (
        "handlers.echo",
        "python3.12",
        2,
        256,
    )
    assert config.code_dir == DATA / "fn"
    assert config.layer_dirs == (DATA / "layer" / "python",)
    assert config.environment == {
        "GREETING": "hello",
        "SHARED": "from-function",
        "REGION_TEXT": "us-east-1-dev-${Literal}",
        "JOINED": "a/y",
        "MODE": "plain",
        "QUEUE_ARN": "arn:aws:local:us-east-1:123456789012:Queue/Arn",
        "TOPIC_NAME": "hello.events",
        "UNSET": "",
    }


def test_parameter_overrides_flow_through_conditions(template: dict) -> None:  # type: ignore[type-arg]
    config = function_config(template, "EchoFunction", DATA, {"Secret": "arn:secret", "Greeting": "hi"})
    assert config.environment["MODE"] == "secret"
    assert config.environment["OPTIONAL"] == "arn:secret"
    assert config.environment["TOPIC_NAME"] == "hi.events"


def test_function_timeout_overrides_globals(template: dict) -> None:  # type: ignore[type-arg]
    assert function_config(template, "SlowFunction", DATA).timeout_s == 1


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Fn::Or": [False, {"Fn::Equals": ["a", "a"]}]}, True),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::Select": [0, {"Fn::GetAZs": ""}]}, "us-east-1a"),
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Fn::Sub": "${AWS::Partition}:${Queue.Arn}"}, "aws:arn:aws:local:us-east-1:123456789012:Queue/Arn"),
        ([1, {"Ref": "AWS::NoValue"}, 2], [1, 2]),
    ],
)
def test_intrinsics(template: dict, node: object, expected: object) -> None:  # type: ignore[type-arg]
    assert Resolver(template, region="us-east-1").resolve(node) == expected


def test_unknown_references_and_functions_are_errors(template: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(TemplateError, match="Missing"):
        Resolver(template).resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="not a function"):
        function_config(template, "Queue", DATA)


def test_environment_precedence_template_then_file_then_caller() -> None:
    declared = {"A": "template", "B": "template", "C": "template", "D": "template"}
    env_vars = {"Parameters": {"B": "file-global", "D": "file-global"}, "Fn": {"C": "file", "Z": "undeclared"}}
    caller = {"D": "caller", "Z": "caller-undeclared"}
    result = effective_environment(declared, "Fn", env_vars, caller)
    assert result == {"A": "template", "B": "file-global", "C": "file", "D": "caller"}


def test_the_project_template_resolves_for_both_functions() -> None:
    template = load_template(ROOT / "template.yaml")
    rss = function_environment(template, "RssProducerFunction")
    poly = function_environment(template, "PolymarketProducerFunction")
    assert rss["KAFKA_TOPIC"] == "rss.items" and poly["KAFKA_TOPIC"] == "polymarket.prices"
    assert rss["KAFKA_BOOTSTRAP_SERVERS"] == poly["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    config = function_config(template, "RssProducerFunction", ROOT)
    assert config.layer_dirs == (ROOT / "layers" / "common" / "python",)  # the deps layer has no python/ source
