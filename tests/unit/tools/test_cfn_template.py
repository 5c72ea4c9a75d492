"""Template reading: short tags, every intrinsic, Globals, and SAM's environment precedence."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tools.local.cfn_template import (
    Resolver,
    TemplateError,
    default_region,
    effective_environment,
    function_config,
    function_environment,
    load_template,
    loads,
)

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[3]


def template(text: str) -> dict[str, Any]:
    return loads(textwrap.dedent(text))  # type: ignore[no-any-return]


BASE = template(
    """
    Parameters:
      Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
      Greeting: {Type: String, Default: hello}
      Subnets: {Type: CommaDelimitedList, Default: "a,b"}
      Count: {Type: Number, Default: 5}
      Flag: {Type: String, Default: true}
    Mappings:
      Sizes:
        dev: {Memory: 256}
      Accounts:
        123456789012: {Name: local}
    Conditions:
      IsDev: !Equals [!Ref Stage, dev]
      IsProd: !Equals [!Ref Stage, prod]
      NotProd: !Not [!Condition IsProd]
      DevAndNotProd: !And [!Condition IsDev, !Condition NotProd]
      DevOrProd: !Or [!Condition IsDev, !Condition IsProd]
    Resources:
      Queue: {Type: AWS::SQS::Queue}
      Table: {Type: AWS::DynamoDB::Table}
      Fn: {Type: AWS::Serverless::Function}
    """
)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("!Ref Stage", {"Ref": "Stage"}),
        ("!Condition IsDev", {"Condition": "IsDev"}),
        ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
        ("!If [IsDev, !GetAtt Queue.Arn, x]", {"Fn::If": ["IsDev", {"Fn::GetAtt": ["Queue", "Arn"]}, "x"]}),
    ],
)
def test_every_short_tag_loads_as_its_long_form(yaml_text: str, expected: object) -> None:
    assert loads(f"value: {yaml_text}")["value"] == expected


FUNCTION_TAGS = (
    "Sub If Equals Not And Or Join Select Split FindInMap Base64 GetAZs ImportValue Length ToJsonString Cidr"
)
NODES = [("'${A}-x'", "${A}-x"), ("[a, 1]", ["a", 1]), ("{A: !Ref Stage}", {"A": {"Ref": "Stage"}})]


@pytest.mark.parametrize("tag", FUNCTION_TAGS.split())
@pytest.mark.parametrize(("yaml_text", "expected"), NODES)
def test_each_function_tag_takes_a_scalar_a_list_or_a_map(tag: str, yaml_text: str, expected: object) -> None:
    assert loads(f"value: !{tag} {yaml_text}")["value"] == {f"Fn::{tag}": expected}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "Greeting"}, "hello"),
        ({"Ref": "Count"}, "5"),
        ({"Ref": "Flag"}, "true"),
        ({"Ref": "Subnets"}, ["a", "b"]),
        ({"Ref": "Queue"}, "Queue"),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Ref": "AWS::StackName"}, "local"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:Queue"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, "arn:aws:lambda:eu-west-1:123456789012:Fn"),
        (
            {"Fn::GetAtt": ["Table", {"Fn::Join": ["", ["Stream", "Arn"]]}]},
            "arn:aws:dynamodb:eu-west-1:123456789012:Table",
        ),
        ({"Fn::GetAtt": ["Queue", "QueueName"]}, "Queue"),
        ({"Fn::GetAtt": ["Queue", "QueueUrl"]}, "Queue.QueueUrl"),
        (
            {"Fn::Sub": "${AWS::Region}/${Greeting}/${Queue}/${Queue.Arn}/${!Literal}"},
            "eu-west-1/hello/Queue/arn:aws:sqs:eu-west-1:123456789012:Queue/${Literal}",
        ),
        ({"Fn::Sub": ["${Name}-${AWS::AccountId}", {"Name": {"Ref": "Greeting"}}]}, "hello-123456789012"),
        ({"Fn::If": ["IsDev", "small", "big"]}, "small"),
        ({"Fn::If": ["IsProd", "small", {"Fn::Join": ["", ["b", "ig"]]}]}, "big"),
        ({"Fn::Equals": [{"Ref": "Count"}, 5]}, True),
        ({"Fn::Equals": [{"Ref": "Flag"}, True]}, True),
        ({"Fn::Equals": ["a", "b"]}, False),
        ({"Fn::Not": [{"Condition": "IsProd"}]}, True),
        ({"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]}, False),
        ({"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]}, True),
        ({"Condition": "DevAndNotProd"}, True),
        ({"Condition": "DevOrProd"}, True),
        ({"Fn::Join": ["-", ["a", {"Ref": "Greeting"}, 1]]}, "a-hello-1"),
        ({"Fn::Join": [",", {"Ref": "Subnets"}]}, "a,b"),
        ({"Fn::Select": [1, {"Ref": "Subnets"}]}, "b"),
        ({"Fn::Select": ["0", {"Fn::Split": [",", "x,y"]}]}, "x"),
        ({"Fn::Split": ["/", "a/b/c"]}, ["a", "b", "c"]),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 256),
        ({"Fn::FindInMap": ["Accounts", {"Ref": "AWS::AccountId"}, "Name"]}, "local"),
        ({"Fn::FindInMap": ["Sizes", "prod", "Memory", {"DefaultValue": 128}]}, 128),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::ImportValue": {"Fn::Sub": "${Stage}-Vpc"}}, "imported:dev-Vpc"),
        ({"Fn::Length": [1, 2, 3]}, 3),
        ({"Fn::ToJsonString": {"a": [{"Ref": "Count"}]}}, '{"a":["5"]}'),
        ({"keep": 1, "drop": {"Ref": "AWS::NoValue"}}, {"keep": 1}),
        ([1, {"Ref": "AWS::NoValue"}, 2], [1, 2]),
        ({"x": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}}, {}),
    ],
)
def test_intrinsics(node: object, expected: object) -> None:
    assert Resolver(BASE, region="eu-west-1").resolve(node) == expected


def test_region_comes_from_aws_region_then_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_region({}) == "us-east-1"
    assert default_region({"AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-west-1"
    assert default_region({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}) == "ap-south-1"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert Resolver(BASE).resolve({"Ref": "AWS::Region"}) == "eu-central-1"


def test_parameter_overrides_replace_defaults_and_flow_through_conditions() -> None:
    resolver = Resolver(BASE, {"Stage": "prod", "Subnets": "x,y,z", "Count": 7}, region="us-east-1")
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert resolver.resolve({"Ref": "Subnets"}) == ["x", "y", "z"]
    assert resolver.resolve({"Ref": "Count"}) == "7"
    with pytest.raises(TemplateError, match="Stage='qa' is not one of"):
        Resolver(BASE, {"Stage": "qa"})


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Ref": "Missing"}, "Missing: no such parameter or resource"),
        ({"Ref": "AWS::Nope"}, "no such pseudo parameter"),
        ({"Fn::GetAtt": ["Missing", "Arn"]}, "no such resource"),
        ({"Fn::If": ["Undefined", 1, 2]}, "condition Undefined is not defined"),
        ({"Fn::FindInMap": ["Sizes", "prod", "Memory"]}, "no such entry"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "Fn::Cidr is not supported locally"),
    ],
)
def test_what_cannot_be_resolved_is_a_template_error(node: object, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        Resolver(BASE).resolve(node)


GLOBALS = template(
    """
    Parameters:
      Level: {Type: String, Default: INFO}
      SharedLayerArn: {Type: String, Default: "arn:aws:lambda:us-east-1:123456789012:layer:shared:3"}
    Globals:
      Function:
        Runtime: python3.12
        CodeUri: fn/
        Timeout: 30
        MemorySize: 512
        Layers: [!Ref SharedLayer]
        Environment:
          Variables: {LEVEL: !Ref Level, SHARED: from-globals}
    Resources:
      SharedLayer: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer/}}
      ExtraLayer: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer_extra/}}
      WheelsLayer: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer_without_python/}}
      Own:
        Type: AWS::Serverless::Function
        Properties:
          Handler: handlers.echo
          Timeout: 5
          Layers: [!Ref ExtraLayer, !Ref WheelsLayer, !Ref SharedLayerArn]
          Environment:
            Variables: {SHARED: from-function, OWN: !Sub "${Level}-own", GONE: !Ref AWS::NoValue}
          Events:
            Schedule:
              Type: Schedule
              Properties: {DeadLetterConfig: {Arn: !GetAtt OwnScheduleQueue.Arn}}
      Bare:
        Type: AWS::Serverless::Function
        Properties: {Handler: handlers.echo}
      FromS3:
        Type: AWS::Serverless::Function
        Properties: {Handler: app.handler, CodeUri: s3://bucket/code.zip}
    """
)


def test_globals_merge_the_sam_way() -> None:
    # Given Globals.Function and a function that sets some of the same properties
    # When the function's configuration is read
    config = function_config(GLOBALS, "Own", DATA, region="us-east-1")
    # Then scalars: the function wins; variables: merged, the function wins; layers: Globals' first
    assert (config.handler, config.runtime, config.code_dir) == ("handlers.echo", "python3.12", DATA / "fn")
    assert (config.timeout_s, config.memory_mb) == (5, 512)
    assert config.environment == {"LEVEL": "INFO", "SHARED": "from-function", "OWN": "INFO-own"}
    # the wheels layer has no python/ (contributes nothing); the ARN is skipped and reported
    assert config.layer_dirs == (DATA / "layer" / "python", DATA / "layer_extra" / "python")
    assert config.skipped_layers == ("arn:aws:lambda:us-east-1:123456789012:layer:shared:3",)
    # Events name a resource SAM generates (OwnScheduleQueue): never resolved, so no error


def test_a_function_that_declares_nothing_gets_globals() -> None:
    config = function_config(GLOBALS, "Bare", DATA, {"Level": "DEBUG"}, region="us-east-1")
    assert (config.timeout_s, config.memory_mb, config.layer_dirs) == (30, 512, (DATA / "layer" / "python",))
    assert config.environment == {"LEVEL": "DEBUG", "SHARED": "from-globals"}
    assert function_environment(GLOBALS, "Bare") == {"LEVEL": "INFO", "SHARED": "from-globals"}


def test_sam_defaults_and_what_cannot_run_locally() -> None:
    minimal = template("Resources: {F: {Type: AWS::Serverless::Function, Properties: {Handler: a.b, CodeUri: .}}}")
    config = function_config(minimal, "F", DATA)
    assert (config.timeout_s, config.memory_mb, config.environment) == (3, 128, {})
    with pytest.raises(TemplateError, match="local CodeUri"):
        function_config(GLOBALS, "FromS3", DATA)
    with pytest.raises(TemplateError, match="SharedLayer is not a function of this template; functions: Own, Bare"):
        function_config(GLOBALS, "SharedLayer", DATA)


def test_the_data_template_loads_with_short_tags() -> None:
    loaded = load_template(DATA / "template.yaml")
    variables = loaded["Resources"]["EchoFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["QUEUE_ARN"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert variables["TOPIC_NAME"] == {"Fn::Sub": ["${Name}.events", {"Name": {"Ref": "Greeting"}}]}
    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        load_template(DATA / "env.json")


DECLARED = {"A": "template", "B": "template", "C": "template", "D": "template"}


@pytest.mark.parametrize(
    ("env_vars", "caller", "expected"),
    [
        # each declared variable takes the highest level that sets it (the file's Parameters, then its
        # function entry, then the caller); undeclared ones (Z, PATH) are not added
        (
            {"Parameters": {"B": "file-all", "D": "file-all"}, "Fn": {"C": "file-fn", "Z": "undeclared"}},
            {"D": "caller", "Z": "caller-undeclared", "PATH": "/bin"},
            {"A": "template", "B": "file-all", "C": "file-fn", "D": "caller"},
        ),
        # the function's own entry beats Parameters; other functions' entries are ignored
        ({"Parameters": {"A": "all"}, "Fn": {"A": "mine"}, "Other": {"B": "theirs"}}, {}, {**DECLARED, "A": "mine"}),
        # file values are written as SAM writes them
        ({"Fn": {"A": True, "B": 5, "C": None, "D": ["x"]}}, {}, {"A": "true", "B": "5", "C": "", "D": ""}),
        # a caller variable set to empty still wins
        ({"Fn": {"A": "file"}}, {"A": ""}, {**DECLARED, "A": ""}),
    ],
)
def test_environment_precedence_template_then_file_then_caller(
    env_vars: dict[str, Any], caller: dict[str, str], expected: dict[str, str]
) -> None:
    assert effective_environment(DECLARED, "Fn", env_vars, caller) == expected


@pytest.mark.skipif(not (ROOT / "template.yaml").exists(), reason="the project template is not written yet")
def test_the_project_template_resolves_for_both_functions() -> None:
    project = load_template(ROOT / "template.yaml")
    for function, topic in (("RssProducerFunction", "rss.items"), ("PolymarketProducerFunction", "polymarket.prices")):
        config = function_config(project, function, ROOT, region="us-east-1")
        assert (config.timeout_s, config.memory_mb, config.handler) == (300, 256, "app.lambda_handler")
        assert config.code_dir.is_dir() and all(layer.is_dir() for layer in config.layer_dirs)
        assert config.environment["KAFKA_TOPIC"] == topic
        assert config.environment["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
