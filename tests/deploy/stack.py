"""A deployed stack read back from the emulator, and what template.yaml says it should be.

Expected values come from the template's own logic: ``tools.local.cfn_template.Resolver`` evaluates its
parameters, conditions and intrinsics, with every !Ref and !GetAtt of a resource answered by the
deployed stack (the real table name, queue ARN, layer version ARN). So a conditional layer or a new
variable added to the template is expected without this file changing, and a reference the deploy
resolved to the wrong thing, or could not resolve, shows up as a difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from tools.local.cfn_template import Resolver, load_template, loads
from tools.services.localstack import LocalStack, delete_args, deploy_args, sam

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ACCOUNT_ID = "000000000000"  # LocalStack's, for the test credentials


class Deployer:
    """`sam build` once, then `sam deploy` / `sam delete` of any number of stacks, each output kept."""

    def __init__(self, localstack: LocalStack) -> None:
        self.localstack = localstack
        self.outputs: list[str] = []  # everything the SAM CLI printed, for the loopback check
        self.built: Path | None = None

    def sam(self, args: list[str]) -> str:
        done = sam(args, self.localstack.endpoint, check=False)
        self.outputs.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise AssertionError(
                f"sam {args[0]} exited with {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout + done.stderr

    def build(self, build_root: Path) -> Path:
        build_dir = build_root / "build"
        self.sam(
            [
                *("build", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir)),
                *("--cached", "--cache-dir", str(build_root / "cache"), "--parallel"),
            ]
        )
        self.built = build_dir / "template.yaml"
        return self.built

    def deploy(self, name: str, parameters: Mapping[str, str] | None = None) -> Stack:
        assert self.built is not None, "build() first"
        self.sam(deploy_args(name, self.built, parameters))
        return Stack(self.localstack, name, dict(parameters or {}))

    def delete(self, name: str) -> None:
        self.sam(delete_args(name))


class Stack:
    """One deployed stack: its resources by logical id, boto3 clients, and the template resolved against it."""

    def __init__(self, localstack: LocalStack, name: str, parameters: dict[str, str]) -> None:
        self.localstack = localstack
        self.name = name
        self.parameters = parameters
        self.template = load_template(TEMPLATE)
        listed = self.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
        self.resources: dict[str, dict[str, Any]] = {r["LogicalResourceId"]: r for r in listed}
        self.resolver = DeployedResolver(self)

    def client(self, service: str) -> Any:
        return self.localstack.client(service)

    def physical(self, logical_id: str) -> str:
        """The physical id of a template resource (a SAM layer's logical id gains a content hash)."""
        resource = self.resources.get(logical_id)
        if resource is None:
            hashed = [
                r for key, r in self.resources.items() if re.fullmatch(re.escape(logical_id) + "[0-9a-f]{10}", key)
            ]
            resource = hashed[0] if len(hashed) == 1 else None
        if resource is None or not resource.get("PhysicalResourceId"):
            raise LookupError(f"{logical_id} has no physical resource in stack {self.name}")
        return str(resource["PhysicalResourceId"])

    def created(self, logical_id: str) -> bool:
        try:
            self.physical(logical_id)
        except LookupError:
            return False
        return True

    def resolve(self, node: Any) -> Any:
        return self.resolver.resolve(node)

    def condition_holds(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.resolver.condition(condition)

    def source(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self.template["Resources"][logical_id].get("Properties") or {}
        return properties

    def of_type(self, kind: str) -> list[str]:
        """Logical ids of template resources of ``kind`` whose condition holds for this stack's parameters."""
        return [
            logical_id
            for logical_id, resource in self.template["Resources"].items()
            if resource.get("Type") == kind and self.condition_holds(logical_id)
        ]

    @cached_property
    def processed(self) -> dict[str, Any]:
        """The template after the SAM transform, as CloudFormation stored it."""
        body = self.client("cloudformation").get_template(StackName=self.name, TemplateStage="Processed")[
            "TemplateBody"
        ]
        return body if isinstance(body, dict) else loads(body)

    def arn(self, logical_id: str) -> str:
        physical = self.physical(logical_id)
        kind = self.resources.get(logical_id, {}).get("ResourceType") or self.template["Resources"][logical_id]["Type"]
        if physical.startswith("arn:"):
            return physical
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            return str(self.client("lambda").get_function(FunctionName=physical)["Configuration"]["FunctionArn"])
        if kind == "AWS::SQS::Queue":
            attributes = self.client("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            return str(attributes["Attributes"]["QueueArn"])
        if kind == "AWS::DynamoDB::Table":
            return str(self.client("dynamodb").describe_table(TableName=physical)["Table"]["TableArn"])
        raise LookupError(f"no ARN lookup for {logical_id} ({kind})")


class DeployedResolver(Resolver):
    """The template's intrinsics with the stack's parameters, pseudo parameters and physical resources."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack.template, stack.parameters, region="us-east-1")
        self.stack = stack

    def pseudo(self, name: str) -> Any:
        if name == "AWS::AccountId":
            return ACCOUNT_ID
        if name == "AWS::StackName":
            return self.stack.name
        return super().pseudo(name)

    def ref(self, name: str) -> Any:
        if name in self.resources:
            return self.stack.physical(name)
        return super().ref(name)

    def get_att(self, resource: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.stack.arn(resource)
        if attribute == "QueueName":
            return self.stack.physical(resource).rsplit("/", 1)[-1]
        raise LookupError(f"!GetAtt {resource}.{attribute}: not read back by the deploy tests")


def statements(document: Any) -> list[dict[str, Any]]:
    """A policy document's statements, each with Action and Resource as sorted lists, for comparing."""
    if isinstance(document, str):
        document = json.loads(document)
    found = document.get("Statement", []) if isinstance(document, dict) else []
    out = []
    for statement in [found] if isinstance(found, dict) else found:
        normal = dict(statement)
        for key in ("Action", "Resource"):
            if key in normal:
                value = normal[key]
                normal[key] = sorted(value if isinstance(value, list) else [value])
        normal.pop("Sid", None)
        out.append(normal)
    return sorted(out, key=lambda s: json.dumps(s, sort_keys=True))
