"""template.yaml: linted by both linters, and shaped the way the project promises."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from producer_common import constants
from producer_common.config import KafkaSettings
from producer_common.exceptions import ConfigurationError

from lambda_build import bytecode
from lambda_build.layer import FUNCTION_LAYERS
from tools.docs import configuration
from tools.local.cfn_template import Resolver, function_config, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BIN = Path(sys.executable).parent
FUNCTIONS = ("RssProducerFunction", "PolymarketProducerFunction")
TOPIC_PARAMETERS = {"RssProducerFunction": "RssTopic", "PolymarketProducerFunction": "PolymarketTopic"}
READ_BY = {"RssProducerFunction": "RSS", "PolymarketProducerFunction": "Polymarket"}  # as tools/docs/configuration says
LAYERS = ("KafkaDepsLayer", "CommonLayer", "SchemaRegistryLayer", "RssFetchLayer")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def test_cfn_lint_is_clean() -> None:
    # no rule is ignored, in the template or on the command line
    done = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(not (BIN / "sam").exists(), reason=f"no sam executable at {BIN / 'sam'}")
def test_sam_validate_lint_is_clean() -> None:
    done = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint", "--template-file", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": str(BIN), "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(Path.home())},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_on_the_python_its_bytecode_is_built_for(template: dict[str, Any], function: str) -> None:
    # Given the function as `make invoke` and `sam local` read it (Globals applied)
    runtime = function_config(template, function, ROOT).runtime
    # Then Lambda runs it on the interpreter the build compiles the shipped bytecode for: another
    # would ignore every .pyc and compile every module from source on every cold start
    assert runtime == "python{}.{}".format(*bytecode.VERSION)
    # and its layers are for that interpreter and the architecture it runs on (how each is built is
    # proven by building it: tests/template/test_build.py, test_arm64_layers.py)
    for layer in LAYERS:
        properties = template["Resources"][layer]["Properties"]
        assert properties["CompatibleRuntimes"] == [runtime]
        assert properties["CompatibleArchitectures"] == template["Globals"]["Function"]["Architectures"]


def test_every_function_gets_the_libraries_and_the_registry_layer_only_with_a_registry(
    template: dict[str, Any],
) -> None:
    function = template["Globals"]["Function"]
    registry_layer = {"Fn::If": ["HasSchemaRegistry", {"Ref": "SchemaRegistryLayer"}, {"Ref": "AWS::NoValue"}]}
    assert function["Layers"] == [{"Ref": "KafkaDepsLayer"}, {"Ref": "CommonLayer"}, registry_layer]


def test_only_the_rss_function_adds_a_layer_its_http_client(template: dict[str, Any]) -> None:
    # Given the layers every function gets (without a registry) and each function's own, which SAM appends
    shared = [layer["Ref"] for layer in template["Globals"]["Function"]["Layers"] if "Ref" in layer]
    for function in FUNCTIONS:
        own = [layer["Ref"] for layer in template["Resources"][function]["Properties"].get("Layers", [])]
        # Then only the RSS function adds one, pycurl's
        assert own == (["RssFetchLayer"] if function == "RssProducerFunction" else []), function
        # and the build test and the benchmarks stack the same ones for it
        assert FUNCTION_LAYERS[function] == (*shared, *own), function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_schedule_sends_the_event_the_handlers_take(template: dict[str, Any], function: str) -> None:
    # Given the function's one event: EventBridge Scheduler (not a legacy rule), in the stack's time zone
    ((name, schedule),) = template["Resources"][function]["Properties"]["Events"].items()
    assert (name, schedule["Type"]) == ("Schedule", "ScheduleV2")
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    # and its Input with Scheduler's context attributes filled in as Scheduler fills them
    pattern = schedule["Properties"]["Input"]["Fn::Sub"]
    attributes = {
        "<aws.scheduler.execution-id>": "d2b8c5a1-5f0e-4a53-9c3e-6e1f2f0f7d11",
        "<aws.scheduler.scheduled-time>": "2026-12-04T19:00:00Z",
        "<aws.scheduler.schedule-arn>": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s",
    }
    text = pattern.replace("${AWS::AccountId}", "123456789012").replace("${AWS::Region}", "us-east-1")
    for name, value in attributes.items():
        text = text.replace(name, value)
    event = json.loads(text)
    # Then it has events/schedule.json's keys and types, with an empty detail (the configuration applies)
    reference = json.loads((ROOT / "events" / "schedule.json").read_text())
    assert {key: type(value) for key, value in event.items()} == {key: type(v) for key, v in reference.items()}
    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert "${" not in text and "<aws." not in text


def test_closed_parameters_allow_exactly_what_the_code_accepts(template: dict[str, Any]) -> None:
    allowed = {name: p.get("AllowedValues") for name, p in template["Parameters"].items()}
    assert allowed["KafkaClient"] == list(constants.CLIENTS)
    assert allowed["SecurityProtocol"] == list(constants.SECURITY_PROTOCOLS)
    assert allowed["SaslMechanism"] == ["", *constants.SASL_MECHANISMS]
    assert allowed["ValueFormat"] == list(constants.VALUE_FORMATS)
    assert template["Parameters"]["ValueFormat"]["Default"] == constants.DEFAULT_VALUE_FORMAT
    assert set(allowed["LogLevel"]) <= {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def test_each_function_is_given_only_variables_its_code_reads(template: dict[str, Any]) -> None:
    # Given the variables the settings modules read, found in their source as the configuration reference finds them
    variables = configuration.variables()
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    services = set()
    for function, reader in READ_BY.items():
        read = {variable.name for variable in variables if {reader, "both"} & set(variable.used_by)}
        own = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        # Then each variable a function gets is one its code reads, or Powertools does
        given = {name for name in {**shared, **own} if not name.startswith(configuration.LIBRARY_PREFIXES)}
        assert given - read == set(), function
        assert own["KAFKA_TOPIC"] == {"Ref": TOPIC_PARAMETERS[function]}
        services.add(own["POWERTOOLS_SERVICE_NAME"])
    assert len(services) == len(READ_BY)  # logs and metrics tell the functions apart
    assert shared["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"  # events may carry feed lists; keep them out of logs


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    found = []
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        branches = policy["Fn::If"][1:] if "Fn::If" in policy else [policy]
        for branch in branches:
            if isinstance(branch, dict) and "Statement" in branch:
                found += branch["Statement"]
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_policies_name_their_resources(template: dict[str, Any], function: str) -> None:
    granted = statements(template, function)
    assert granted, "expected conditional secret and MSK statements"
    for statement in granted:
        assert statement["Resource"] != "*" and "*" not in str(statement["Action"])
    secret = [s for s in granted if s["Action"] == "secretsmanager:GetSecretValue"]
    assert secret == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "KafkaSecretArn"}},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "SchemaRegistrySecretArn"}},
    ]
    conditions = [p["Fn::If"][0] for p in template["Resources"][function]["Properties"]["Policies"] if "Fn::If" in p]
    assert {"HasKafkaSecret", "HasSchemaRegistrySecret"} <= set(conditions)


def test_every_output_is_described(template: dict[str, Any]) -> None:
    assert template["Outputs"]
    assert all(output.get("Description") for output in template["Outputs"].values())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_failure_has_somewhere_to_go(template: dict[str, Any], function: str) -> None:
    properties = template["Resources"][function]["Properties"]
    # Lambda's asynchronous retries are bounded and end in a 14-day queue
    invoke = properties["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] <= 2 and invoke["MaximumEventAgeInSeconds"] <= 6 * 3600
    failure_queue = invoke["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert template["Resources"][failure_queue]["Properties"]["MessageRetentionPeriod"] == 14 * 86_400
    # the schedule retries, then parks what it could not deliver in its own queue
    schedule = properties["Events"]["Schedule"]["Properties"]
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    schedule_queue = schedule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert schedule_queue != failure_queue and template["Resources"][schedule_queue]["Type"] == "AWS::SQS::Queue"
    # runs never overlap (one per shard when the RSS list is sharded), and logs expire
    assert properties["ReservedConcurrentExecutions"] in (1, {"Ref": "RssShards"})
    log_group = template["Resources"][properties["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # alarms watch errors, failed messages and both queues, all to the alarm topic
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {
        (a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms
        if a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    }
    assert ("Errors", json.dumps({"Ref": function})) in watched
    for queue in (failure_queue, schedule_queue):
        assert ("ApproximateNumberOfMessagesVisible", json.dumps({"Fn::GetAtt": [queue, "QueueName"]})) in watched
    assert any(metric == "MessagesFailed" for metric, _ in watched)


def test_the_rss_function_is_told_the_one_table_it_may_use(template: dict[str, Any]) -> None:
    rss_environment = template["Resources"]["RssProducerFunction"]["Properties"]["Environment"]["Variables"]
    assert rss_environment["STATE_TABLE"] == {"Ref": "StateTable"}
    rss = statements(template, "RssProducerFunction")
    table = [s for s in rss if any(str(a).startswith("dynamodb:") for a in s["Action"])]
    assert table == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
            "Resource": {"Fn::GetAtt": ["StateTable", "Arn"]},
        }
    ]
    assert not any("dynamodb" in str(s["Action"]) for s in statements(template, "PolymarketProducerFunction"))


def rules_accept(template: dict[str, Any], parameters: dict[str, str]) -> bool:
    """Whether the template's Rules let a deploy with ``parameters`` through (resolved as cfn_template does)."""
    resolver = Resolver(template, parameters)
    return all(
        resolver.resolve(assertion["Assert"])
        for rule in template["Rules"].values()
        if resolver.resolve(rule.get("RuleCondition", True))
        for assertion in rule["Assertions"]
    )


def settings_accept(template: dict[str, Any], parameters: dict[str, str]) -> bool:
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    environ = {name: parameters[value["Ref"]] for name, value in shared.items() if isinstance(value, dict)}
    try:
        KafkaSettings.from_env({**environ, "KAFKA_TOPIC": "t"})
    except ConfigurationError:
        return False
    return True


def test_deploy_rules_reject_what_the_functions_would_reject_at_every_run(template: dict[str, Any]) -> None:
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    arn = "arn:aws:kafka:us-east-1:123456789012:cluster/c/0f0f0f0f-1"
    combinations = itertools.product(
        template["Parameters"]["SecurityProtocol"]["AllowedValues"],
        template["Parameters"]["SaslMechanism"]["AllowedValues"],
        ["", "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-AbCdEf"],
        ["", arn],
    )
    for protocol, mechanism, secret, cluster in combinations:
        parameters = {**defaults, "SecurityProtocol": protocol, "SaslMechanism": mechanism}
        parameters |= {"KafkaSecretArn": secret, "MskClusterArn": cluster}
        # MSK IAM needs the cluster's ARN for the function's permissions, which the code never sees
        expected = settings_accept(template, parameters) and not (mechanism == "AWS_MSK_IAM" and not cluster)
        assert rules_accept(template, parameters) == expected, parameters
    assert rules_accept(template, defaults)


def test_the_registry_layer_and_formats_come_only_with_a_registry(template: dict[str, Any]) -> None:
    # The layer exists only when SchemaRegistryUrl is set, and a registry format needs that URL
    layer = template["Resources"]["SchemaRegistryLayer"]
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    for value_format in template["Parameters"]["ValueFormat"]["AllowedValues"]:
        for url in ("", "https://psrc-example.us-east-1.aws.confluent.cloud"):
            parameters = {**defaults, "ValueFormat": value_format, "SchemaRegistryUrl": url}
            assert Resolver(template, parameters).condition(layer["Condition"]) is bool(url), parameters
            assert rules_accept(template, parameters) == settings_accept(template, parameters), parameters


@pytest.mark.parametrize("function", FUNCTIONS)
def test_msk_iam_grants_name_the_cluster_and_the_functions_own_topic(template: dict[str, Any], function: str) -> None:
    # Given the function's one policy that names kafka-cluster: it applies only under the MSK IAM condition
    [policy] = [p for p in template["Resources"][function]["Properties"]["Policies"] if "kafka-cluster" in str(p)]
    assert policy["Fn::If"][0] == "UseMskIam" and policy["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    cluster, topic = policy["Fn::If"][1]["Statement"]
    # idempotent producers need WriteDataIdempotently, which MSK grants on the cluster
    assert set(cluster["Action"]) == {
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeCluster",
        "kafka-cluster:WriteDataIdempotently",
    }
    assert cluster["Resource"] == {"Ref": "MskClusterArn"}
    assert set(topic["Action"]) == {"kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"}
    pattern, names = topic["Resource"]["Fn::Sub"]
    assert pattern.endswith(f"/${{{TOPIC_PARAMETERS[function]}}}") and ":topic/" in pattern
    assert all("MskClusterArn" in json.dumps(value) for value in names.values())


@pytest.mark.parametrize("shards", [None, 1, 3])
def test_rss_fans_out_over_shards_only_when_asked(template: dict[str, Any], shards: int | None) -> None:
    # Given a deploy with RssShards left at its default or set, resolved as CloudFormation would
    resolver = Resolver(template, {} if shards is None else {"RssShards": str(shards)})
    resources = template["Resources"]
    function = resolver.resolve(resources["RssProducerFunction"]["Properties"])
    sharded = shards not in (None, 1)
    # Then as many runs as shards may run at once, and the function's own schedule runs it only unsharded
    assert str(function["ReservedConcurrentExecutions"]) == str(shards or 1)
    assert function["Events"]["Schedule"]["Properties"]["State"] == ("DISABLED" if sharded else "ENABLED")
    # and the fan-out and its alarm exist only when sharded, the fan-out on the same schedule, invoking only it
    for logical_id in ("RssFanOut", "RssFanOutFailedAlarm"):
        assert resolver.condition(resources[logical_id]["Condition"]) is sharded, logical_id
    fan_out = resources["RssFanOut"]["Properties"]
    assert fan_out["Events"]["Schedule"]["Properties"]["ScheduleExpression"] == {"Ref": "RssSchedule"}
    assert fan_out["Policies"] == [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "RssProducerFunction"}}}]


def intrinsic(expression: str, context: dict[str, Any]) -> Any:
    """The Step Functions intrinsics RssFanOut uses, evaluated: enough to check what it sends."""
    expression = expression.strip()
    if expression.startswith("$$."):
        return context[expression]
    if expression.startswith("'"):
        return expression.strip("'")
    call = re.fullmatch(r"(States\.\w+)\((.*)\)", expression)
    if not call:
        return json.loads(expression)
    arguments, depth, start = [], 0, 0
    for position, character in enumerate(call.group(2) + ","):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth == 0:
            arguments.append(intrinsic(call.group(2)[start:position], context))
            start = position + 1
    functions = {
        "States.ArrayRange": lambda first, last, step: list(range(first, last + 1, step)),
        "States.MathAdd": lambda a, b: a + b,
        "States.StringToJson": json.loads,
    }
    return functions[call.group(1)](*arguments)


def select(selector: Any, context: dict[str, Any]) -> Any:
    if not isinstance(selector, dict):
        return selector
    return {
        key.removesuffix(".$"): intrinsic(value, context) if key.endswith(".$") else select(value, context)
        for key, value in selector.items()
    }


@pytest.mark.parametrize("shards", [2, 3, 7, 40])
def test_the_fan_out_gives_every_feed_to_exactly_one_shard(template: dict[str, Any], shards: int) -> None:
    import rss_run  # the function's own selection, as each shard's invocation runs it

    fan_out = template["Resources"]["RssFanOut"]["Properties"]
    assert set(fan_out["DefinitionSubstitutions"]) == {"Shards", "FunctionArn"}
    text = json.dumps(fan_out["Definition"]).replace("${Shards}", str(shards))
    assert "${" not in text.replace("${FunctionArn}", "")
    states = json.loads(text)["States"]
    indexes = select(states["Shards"]["Parameters"], {})["indexes"]
    events = [select(states["EachShard"]["ItemSelector"], {"$$.Map.Item.Value": index}) for index in indexes]
    assert events[0] == {"detail": {"shard": {"index": 0, "count": shards}}}
    feeds = [f"https://feeds.example/{n}.xml" for n in range(1000)]
    chosen = [rss_run.select_feeds(event, feeds) for event in events]
    assert sorted(url for share in chosen for url in share) == sorted(feeds)
    assert all(chosen), "a shard with no feeds"


def test_the_fan_out_state_machine_is_well_formed(template: dict[str, Any]) -> None:
    definition = template["Resources"]["RssFanOut"]["Properties"]["Definition"]

    def check(machine: dict[str, Any]) -> None:
        assert machine["StartAt"] in machine["States"]
        for name, state in machine["States"].items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
            assert all(t in machine["States"] for t in targets if t), name
            assert state.get("End") or state.get("Next") or state["Type"] in ("Choice", "Fail", "Succeed"), name
            if state["Type"] == "Map":
                check(state["ItemProcessor"])

    check(definition)
    produce = definition["States"]["EachShard"]["ItemProcessor"]["States"]["Produce"]
    assert produce["Parameters"] == {"FunctionName": "${FunctionArn}", "Payload.$": "$"}
    assert produce["TimeoutSeconds"] > template["Globals"]["Function"]["Timeout"]
    assert produce["Catch"][0]["Next"] == "ShardFailed"  # one shard's failure does not cancel the others
