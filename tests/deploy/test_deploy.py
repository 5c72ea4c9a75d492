"""`sam deploy` for real: the stack created, updated and deleted on LocalStack, read back with boto3.

The tests run in file order: a default stack and its assertions, a sharded stack (RssShards=3)
beside it, the default stack updated with other parameters, then both deleted and nothing left.
LocalStack's legacy CloudFormation engine stores but does not apply reserved concurrency, log
retention, point-in-time recovery and, on an update, changed inline role policies: those are
asserted on the processed template.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.stack import ACCOUNT_ID, TEMPLATE, Deployer, Stack, statements
from tools.local.cfn_template import env_string, function_properties, load_template
from tools.services.loopback import BLOCKED

FUNCTIONS = ("RssProducerFunction", "PolymarketProducerFunction")
DEFAULT_STACK = "producers"
SHARDED_STACK = "producers-sharded"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:AmazonMSK_producers-AbCdEf"
UPDATE = {
    "LogLevel": "DEBUG",
    "MaxMarkets": "7",
    "FeedUrls": "https://example.org/a.xml,https://example.org/b.xml",
    "SecurityProtocol": "SASL_SSL",
    "SaslMechanism": "SCRAM-SHA-512",
    "KafkaSecretArn": SECRET,
}
# The managed policies SAM attaches to each function's role beside the template's own Policies.
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
deleted: set[str] = set()  # stacks test_sam_delete_leaves_nothing_behind_but_what_the_template_retains deleted
# The sharded stack also switches on the optional layers the template offers, so that each is seen attached.
OPTIONAL_LAYERS = {"SchemaRegistryUrl": "https://registry.example.org"}
SETTINGS = ("Runtime", "Handler", "Timeout", "MemorySize")  # of a function, compared as they are


@pytest.fixture(scope="module")
def stacks(deployer: Deployer) -> Iterator[dict[str, Stack]]:
    """Both stacks; the ones still standing are deleted at the end whatever happened."""
    deployed = {DEFAULT_STACK: deployer.deploy(DEFAULT_STACK)}
    offered = load_template(TEMPLATE)["Parameters"]
    sharded = {"RssShards": "3", **{name: value for name, value in OPTIONAL_LAYERS.items() if name in offered}}
    deployed[SHARDED_STACK] = deployer.deploy(SHARDED_STACK, sharded)
    yield deployed
    for name in [name for name in deployed if name not in deleted]:
        deployer.delete(name)


@pytest.fixture(scope="module")
def stack(stacks: dict[str, Stack]) -> Stack:
    return stacks[DEFAULT_STACK]


@pytest.fixture(scope="module")
def sharded(stacks: dict[str, Stack]) -> Stack:
    return stacks[SHARDED_STACK]


def configuration(stack: Stack, function: str) -> dict[str, Any]:
    found = stack.client("lambda").get_function(FunctionName=stack.physical(function))
    return found["Configuration"]  # type: ignore[no-any-return]


def inline_statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    """The statements of a role's inline policies, as the emulator holds them."""
    iam, granted = stack.client("iam"), []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        granted += statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    return granted


def expected_function(stack: Stack, function: str) -> dict[str, Any]:
    """The function as template.yaml describes it: Globals merged the way SAM merges them, all resolved."""
    properties = function_properties(stack.template, function, stack.resolver)
    architectures = (
        stack.source(function).get("Architectures") or stack.template["Globals"]["Function"]["Architectures"]
    )
    return {
        **{key: properties[key] for key in SETTINGS},
        "Architectures": stack.resolve(architectures),
        "Layers": properties.get("Layers", []),
        "Environment": {name: env_string(value) for name, value in properties["Environment"]["Variables"].items()},
    }


def deployed_function(stack: Stack, function: str) -> dict[str, Any]:
    config = configuration(stack, function)
    return {
        **{key: config[key] for key in SETTINGS},
        "Architectures": config["Architectures"],
        "Layers": [layer["Arn"] for layer in config.get("Layers", [])],
        "Environment": config["Environment"]["Variables"],
    }


# --- the default stack --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [DEFAULT_STACK, SHARDED_STACK])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_functions_are_deployed_as_the_template_describes(stacks: dict[str, Stack], name: str, function: str) -> None:
    # Given a stack, When its function is read back, Then it is the template's, fully resolved
    stack = stacks[name]
    deployed = deployed_function(stack, function)
    assert deployed == expected_function(stack, function)
    assert configuration(stack, function)["State"] == "Active"
    # and its layers are the stack's own layer versions, the libraries first
    layers = deployed["Layers"]
    assert layers[:2] == [stack.physical("KafkaDepsLayer"), stack.physical("CommonLayer")]
    assert all(arn.startswith("arn:aws:lambda:us-east-1:000000000000:layer:") for arn in layers)


def test_environment_names_the_real_resources(stack: Stack) -> None:
    rss = configuration(stack, "RssProducerFunction")["Environment"]["Variables"]
    polymarket = configuration(stack, "PolymarketProducerFunction")["Environment"]["Variables"]
    table = stack.client("dynamodb").describe_table(TableName=rss["STATE_TABLE"])["Table"]
    assert table["TableName"] == stack.physical("StateTable") != "StateTable"
    assert "STATE_TABLE" not in polymarket


def test_layers_hold_their_packages(stack: Stack) -> None:
    lambda_ = stack.client("lambda")
    for layer, package in (("KafkaDepsLayer", "confluent_kafka"), ("CommonLayer", "producer_common")):
        version = lambda_.get_layer_version_by_arn(Arn=stack.physical(layer))
        assert version["CompatibleRuntimes"] == ["python3.12"], layer
        assert version["CompatibleArchitectures"] == ["arm64"], layer  # following the Architecture parameter
        # the content the emulator stores is the built layer: Lambda would find the package in /opt/python
        with urllib.request.urlopen(version["Content"]["Location"], timeout=30) as response:
            names = zipfile.ZipFile(io.BytesIO(response.read())).namelist()
        assert f"python/{package}/__init__.py" in names, layer


def schedule_of(stack: Stack, logical_id: str) -> dict[str, Any]:
    """An EventBridge Scheduler schedule of the stack, read back (its physical id is its name)."""
    found: dict[str, Any] = stack.client("scheduler").get_schedule(Name=stack.physical(logical_id).split("/")[-1])
    return found


def assert_scheduled(stack: Stack, owner: str, target_arn: str) -> dict[str, Any]:
    """The owner's one ScheduleV2 event is in the emulator as the template says: expression, time zone,
    state, target, Input, retries and dead-letter queue; its role may do what the schedule needs and no more."""
    ((event_name, event),) = stack.source(owner)["Events"].items()
    assert event["Type"] == "ScheduleV2"
    expected = stack.resolve(event["Properties"])
    schedule = schedule_of(stack, f"{owner}{event_name}")  # SAM's logical id for an event's schedule
    assert schedule["ScheduleExpression"] == expected["ScheduleExpression"]
    assert schedule["ScheduleExpressionTimezone"] == expected["ScheduleExpressionTimezone"]
    assert schedule["State"] == expected.get("State", "ENABLED")
    assert schedule.get("Description") == expected["Description"]
    target = schedule["Target"]
    assert target["Arn"] == target_arn
    assert target["RetryPolicy"] == expected["RetryPolicy"]
    assert target["DeadLetterConfig"] == {"Arn": expected["DeadLetterConfig"]["Arn"]}
    assert json.loads(target.get("Input", "{}")) == json.loads(expected.get("Input", "{}"))
    role = target["RoleArn"].split("/")[-1]
    assert role == stack.physical(f"{owner}{event_name}Role")
    granted = inline_statements(stack, role)
    actions = {action: statement["Resource"] for statement in granted for action in statement["Action"]}
    start = "lambda:InvokeFunction" if owner in FUNCTIONS else "states:StartExecution"
    assert actions.keys() == {"sqs:SendMessage", start}
    assert actions["sqs:SendMessage"] == [expected["DeadLetterConfig"]["Arn"]]
    assert [arn.removesuffix("*") for arn in actions[start]] == [target_arn]
    return schedule


@pytest.mark.parametrize("function", FUNCTIONS)
def test_schedules_retry_then_park_in_their_dead_letter_queue(stack: Stack, function: str) -> None:
    # Given the default stack, When its schedules are read back from EventBridge Scheduler
    schedule = assert_scheduled(stack, function, stack.arn(function))
    # Then each runs its function in UTC, and sends it the scheduled event the handlers take
    assert (schedule["State"], schedule["ScheduleExpressionTimezone"]) == ("ENABLED", "UTC")
    event = json.loads(schedule["Target"]["Input"])
    assert (event["detail-type"], event["account"], event["region"]) == ("Scheduled Event", ACCOUNT_ID, "us-east-1")
    assert event["time"] == "<aws.scheduler.scheduled-time>"  # Scheduler fills it in at each run
    # and no EventBridge rule is left from the legacy schedules
    assert stack.client("events").list_rules()["Rules"] == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_failed_invocations_retry_then_go_to_the_failure_queue(stack: Stack, function: str) -> None:
    expected = stack.resolve(stack.source(function)["EventInvokeConfig"])
    config = stack.client("lambda").get_function_event_invoke_config(FunctionName=stack.physical(function))
    assert config["MaximumRetryAttempts"] == expected["MaximumRetryAttempts"]
    assert config["MaximumEventAgeInSeconds"] == expected["MaximumEventAgeInSeconds"]
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == expected["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination.startswith("arn:aws:sqs:") and destination.split(":")[-1].startswith(f"{stack.name}-")


def test_queues_keep_messages_and_admit_only_their_schedule(stack: Stack) -> None:
    sqs = stack.client("sqs")
    queues = stack.of_type("AWS::SQS::Queue")
    assert len(queues) == 4
    for queue in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=stack.physical(queue), AttributeNames=["All"])["Attributes"]
        assert attributes["MessageRetentionPeriod"] == env_string(stack.source(queue)["MessageRetentionPeriod"])
        assert attributes["SqsManagedSseEnabled"] == "true", queue
    # no queue policies: Scheduler sends to its dead-letter queue with its schedule's role
    assert stack.of_type("AWS::SQS::QueuePolicy") == []


def test_the_state_table_is_keyed_expiring_and_on_demand(stack: Stack) -> None:
    dynamodb = stack.client("dynamodb")
    expected = stack.resolve(stack.source("StateTable"))
    table = dynamodb.describe_table(TableName=stack.physical("StateTable"))["Table"]
    assert table["KeySchema"] == expected["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == expected["AttributeDefinitions"]
    assert table["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
    # the attribute DynamoDbStateStore writes each record's expiry into is the one the table expires on
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}
    assert table["SSEDescription"]["Status"] == "ENABLED"


def test_alarms_watch_what_the_template_names_and_tell_the_topic(stack: Stack) -> None:
    cloudwatch = stack.client("cloudwatch")
    topic = stack.physical("AlarmTopic")
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) == 8  # RssFanOutFailedAlarm only with RssShards > 1
    for alarm in alarms:
        expected = stack.resolve(stack.source(alarm))
        (described,) = cloudwatch.describe_alarms(AlarmNames=[stack.physical(alarm)])["MetricAlarms"]
        for key in ("Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods"):
            assert described[key] == expected[key], (alarm, key)
        assert described["Threshold"] == float(expected["Threshold"])
        assert described["ComparisonOperator"] == expected["ComparisonOperator"]
        assert described["TreatMissingData"] == expected["TreatMissingData"]
        assert described["AlarmActions"] == [topic], alarm
    attributes = stack.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"
    assert stack.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []  # no AlarmEmail


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_role_grants_what_the_template_promises_and_no_more(stack: Stack, function: str) -> None:
    granted = role_statements(stack, function)
    assert not [s for s in granted if any(a.startswith("secretsmanager:") for a in s["Action"])]  # no KafkaSecretArn


def role_statements(stack: Stack, function: str) -> list[dict[str, Any]]:
    """The function role's inline statements, checked to be the template's Policies and SAM's one addition."""
    iam = stack.client("iam")
    role = stack.physical(f"{function}Role")
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert statements(trust) == [
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    ]
    managed = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    # AWSLambdaVPCAccessExecutionRole comes with the Globals' VpcConfig even outside a VPC (template.yaml says why)
    assert managed == {BASIC_EXECUTION, VPC_EXECUTION}
    granted = inline_statements(stack, role)
    promised = []
    for policy in stack.resolve(stack.source(function)["Policies"]):
        promised += statements(policy)
    # SAM adds the failure destination's send permission, for that one queue
    failure_queue = stack.resolve(stack.source(function)["EventInvokeConfig"])["DestinationConfig"]["OnFailure"]
    promised += statements(
        {"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": failure_queue["Destination"]}}
    )
    assert statements({"Statement": granted}) == statements({"Statement": promised})
    assert all("*" not in resource for statement in granted for resource in statement["Resource"])
    return granted


def test_what_the_emulator_does_not_apply_is_in_the_processed_template(stack: Stack) -> None:
    resources = stack.processed["Resources"]
    for function in FUNCTIONS:
        properties = resources[function]["Properties"]
        source = stack.source(function)
        assert stack.resolve(properties["ReservedConcurrentExecutions"]) == stack.resolve(
            source["ReservedConcurrentExecutions"]
        )
        assert env_string(stack.resolve(properties["ReservedConcurrentExecutions"])) == "1"
        log_group = resources[source["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
        assert env_string(stack.resolve(log_group["RetentionInDays"])) == "30"
    table = resources["StateTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_resources_of_false_conditions_are_not_created(stack: Stack) -> None:
    skipped = [logical_id for logical_id in stack.template["Resources"] if not stack.condition_holds(logical_id)]
    assert "RssFanOut" in skipped and "AlarmEmailSubscription" in skipped
    assert [logical_id for logical_id in skipped if stack.created(logical_id)] == []


# --- RssShards=3: a fresh stack --------------------------------------------------------------------------


def test_sharded_runs_start_from_the_fan_out_state_machine(sharded: Stack) -> None:
    stepfunctions = sharded.client("stepfunctions")
    # the function's own schedule is off
    assert schedule_of(sharded, "RssProducerFunctionSchedule")["State"] == "DISABLED"
    # the state machine's schedule is on, with the same expression, time zone, retries and dead-letter queue
    machine = sharded.physical("RssFanOut")
    schedule = assert_scheduled(sharded, "RssFanOut", machine)
    assert (schedule["State"], schedule["ScheduleExpression"]) == ("ENABLED", "rate(15 minutes)")
    # the definition has its substitutions: three shards, each invoking this stack's RSS function
    definition = json.loads(stepfunctions.describe_state_machine(stateMachineArn=machine)["definition"])
    assert definition["States"]["Shards"]["Parameters"] == {
        "indexes.$": "States.ArrayRange(0, States.MathAdd(3, -1), 1)"
    }
    each = definition["States"]["EachShard"]
    assert each["ItemSelector"]["detail"]["shard"]["count.$"] == "States.StringToJson('3')"
    produce = each["ItemProcessor"]["States"]["Produce"]
    assert produce["Parameters"]["FunctionName"] == sharded.arn("RssProducerFunction")
    assert "${" not in json.dumps(definition)
    # the function may run once per shard at a time, and a failed execution raises the alarm
    processed = sharded.processed["Resources"]["RssProducerFunction"]["Properties"]
    assert env_string(sharded.resolve(processed["ReservedConcurrentExecutions"])) == "3"
    (alarm,) = sharded.client("cloudwatch").describe_alarms(AlarmNames=[sharded.physical("RssFanOutFailedAlarm")])[
        "MetricAlarms"
    ]
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine}]


def test_the_fan_out_may_invoke_the_rss_function_only(sharded: Stack) -> None:
    granted = inline_statements(sharded, sharded.physical("RssFanOutRole"))
    function = sharded.arn("RssProducerFunction")
    # SAM's LambdaInvokePolicy: the function, its versions and aliases, by its name as a prefix
    assert granted == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [f"{function}*"]}]


# --- a second deploy with other parameters -------------------------------------------------------------


def test_a_parameter_change_updates_the_functions_in_place(deployer: Deployer, stack: Stack) -> None:
    before = {function: stack.physical(function) for function in FUNCTIONS}
    table = stack.physical("StateTable")
    # When the stack is deployed again with other parameters
    updated = deployer.deploy(DEFAULT_STACK, UPDATE)
    # Then the same functions and table carry them
    assert {function: updated.physical(function) for function in FUNCTIONS} == before
    assert updated.physical("StateTable") == table
    for function in FUNCTIONS:
        assert deployed_function(updated, function) == expected_function(updated, function)
    rss = configuration(updated, "RssProducerFunction")["Environment"]["Variables"]
    polymarket = configuration(updated, "PolymarketProducerFunction")["Environment"]["Variables"]
    assert rss["FEED_URLS"] == UPDATE["FeedUrls"] and rss["STATE_TABLE"] == table
    assert (rss["LOG_LEVEL"], polymarket["LOG_LEVEL"], polymarket["MAX_MARKETS"]) == ("DEBUG", "DEBUG", "7")
    # and a Kafka secret brings read access to that one secret, for both roles: read in the processed
    # template, since LocalStack's role update ignores changed inline policies (it does not enforce IAM either)
    for function in FUNCTIONS:
        granted = []
        for policy in updated.resolve(updated.processed["Resources"][f"{function}Role"]["Properties"]["Policies"]):
            granted += statements(policy["PolicyDocument"])
        secret = [s for s in granted if any(action.startswith("secretsmanager:") for action in s["Action"])]
        assert secret == [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [SECRET]}]
        environment = configuration(updated, function)["Environment"]["Variables"]
        assert (environment["KAFKA_SECRET_ID"], environment["KAFKA_SASL_MECHANISM"]) == (SECRET, "SCRAM-SHA-512")


# --- sam delete -------------------------------------------------------------------------------------------


def exists(stack: Stack, kind: str, physical: str) -> bool | None:
    """Whether the emulator still has a resource; None for kinds that live and die with another one."""
    from botocore.exceptions import ClientError

    probes = {
        "AWS::Lambda::Function": lambda: stack.client("lambda").get_function(FunctionName=physical),
        "AWS::Lambda::LayerVersion": lambda: stack.client("lambda").get_layer_version_by_arn(Arn=physical),
        "AWS::DynamoDB::Table": lambda: stack.client("dynamodb").describe_table(TableName=physical),
        "AWS::SQS::Queue": lambda: stack.client("sqs").get_queue_attributes(QueueUrl=physical),
        "AWS::SNS::Topic": lambda: stack.client("sns").get_topic_attributes(TopicArn=physical),
        "AWS::IAM::Role": lambda: stack.client("iam").get_role(RoleName=physical),
        "AWS::Scheduler::Schedule": lambda: stack.client("scheduler").get_schedule(Name=physical.split("/")[-1]),
        "AWS::StepFunctions::StateMachine": lambda: stack.client("stepfunctions").describe_state_machine(
            stateMachineArn=physical
        ),
    }
    if kind == "AWS::CloudWatch::Alarm":
        return bool(stack.client("cloudwatch").describe_alarms(AlarmNames=[physical])["MetricAlarms"])
    if kind == "AWS::Logs::LogGroup":
        groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
        return any(group["logGroupName"] == physical for group in groups)
    if kind not in probes:
        return None
    try:
        probes[kind]()
    except ClientError:
        return False
    return True


def inventory(stack: Stack) -> dict[str, list[str]]:
    """Everything of the stack's kinds the emulator holds, whoever created it (listings of at most 100)."""
    return {
        "functions": [f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]],
        "tables": stack.client("dynamodb").list_tables()["TableNames"],
        "queues": stack.client("sqs").list_queues().get("QueueUrls", []),
        "alarms": [a["AlarmName"] for a in stack.client("cloudwatch").describe_alarms()["MetricAlarms"]],
        "topics": [t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]],
        "roles": [r["RoleName"] for r in stack.client("iam").list_roles()["Roles"]],
        "rules": [r["Name"] for r in stack.client("events").list_rules()["Rules"]],
        "schedules": [s["Name"] for s in stack.client("scheduler").list_schedules()["Schedules"]],
        "log groups": [g["logGroupName"] for g in stack.client("logs").describe_log_groups()["logGroups"]],
        "state machines": [m["name"] for m in stack.client("stepfunctions").list_state_machines()["stateMachines"]],
    }


def test_sam_delete_leaves_nothing_behind_but_what_the_template_retains(
    deployer: Deployer, stacks: dict[str, Stack]
) -> None:
    # Given both stacks as CloudFormation lists them now (the update may have replaced resources)
    recorded: dict[str, tuple[str, str]] = {}
    for name in stacks:
        for logical_id, resource in Stack(deployer.localstack, name, {}).resources.items():
            if resource.get("PhysicalResourceId"):
                recorded[f"{name}/{logical_id}"] = (resource["ResourceType"], resource["PhysicalResourceId"])
    any_stack = next(iter(stacks.values()))
    present = {key: exists(any_stack, *value) for key, value in recorded.items()}
    probed = {key for key, found in present.items() if found is not None}
    # The probes find what exists, bar one emulator fault: on any update LocalStack's SNS provider replaces a
    # topic the template does not name, and its legacy engine goes on listing the old, deleted, ARN.
    assert len(probed) > 40
    assert [key for key in sorted(probed) if not present[key]] == [f"{DEFAULT_STACK}/AlarmTopic"]
    # and CloudFormation holds the state table's Retain policies (sam delete would leave it in AWS):
    # losing the table would re-send every item of every feed
    for stack in stacks.values():
        table = stack.processed["Resources"]["StateTable"]
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # When both are deleted
    for name in stacks:
        deployer.delete(name)
        deleted.add(name)
    # Then none of their resources remain, nothing else of their kinds either, nor their artifacts. The
    # tables go too: LocalStack applies DeletionPolicy only in its v2 engine, which cannot deploy this
    # template (tools/services/localstack.py), and the legacy engine deletes every resource. Were that to change,
    # this fails, and the tables' survival can be asserted here instead.
    assert [key for key in sorted(probed) if exists(any_stack, *recorded[key])] == []
    assert {kind: names for kind, names in inventory(any_stack).items() if names} == {}
    cloudformation, s3 = any_stack.client("cloudformation"), any_stack.client("s3")
    summaries = cloudformation.list_stacks()["StackSummaries"]
    assert {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"} & set(stacks) == set()
    for bucket in s3.list_buckets()["Buckets"]:  # SAM's own bucket (--resolve-s3) stays, empty
        assert s3.list_objects_v2(Bucket=bucket["Name"]).get("KeyCount", 0) == 0, bucket["Name"]


def test_nothing_tried_to_leave_loopback(deployer: Deployer) -> None:
    # every SAM CLI run and the emulator itself ran under tools/services/loopback.py's guard
    assert deployer.outputs
    assert not [line for output in deployer.outputs for line in output.splitlines() if BLOCKED in line]
    log = deployer.localstack.log_path.read_text(errors="replace")
    assert "Ready." in log and BLOCKED not in log
