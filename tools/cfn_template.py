"""template.yaml read the way CloudFormation and SAM would: short tags, intrinsics, Globals.

Pure functions over mappings, shared by `make invoke`, `make demo` and the template tests.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
STACK_NAME = "local"
_NO_VALUE = object()  # AWS::NoValue: the key or list item disappears


class TemplateError(Exception):
    """The template cannot be read or a reference in it cannot be resolved."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into `{"Ref": "x"}`, `!Sub ...` into `{"Fn::Sub": ...}`, and so on."""


def _construct(tag: str, loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag == "Ref":
        return {"Ref": value}
    if tag == "Condition":
        return {"Condition": value}
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag}": value}


for _tag in (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Join",
    "Select",
    "Split",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
    "Length",
    "ToJsonString",
):
    _CfnLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _construct(tag, loader, node))


def load_template(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=_CfnLoader)
    if not isinstance(template, dict) or "Resources" not in template:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return template


class Resolver:
    """Evaluates intrinsic functions against parameter values and pseudo parameters."""

    def __init__(
        self, template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, region: str | None = None
    ) -> None:
        self.template = template
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if overrides and name in overrides:
                self.parameters[name] = str(overrides[name])
            elif "Default" in spec:
                default = spec["Default"]
                self.parameters[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        self._conditions: dict[str, bool] = {}

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        return values[name]

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template.get("Resources", {}):
            return name  # a physical id stands in for the resource locally
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, resource: str, attribute: str) -> str:
        if resource not in self.template.get("Resources", {}):
            raise TemplateError(f"!GetAtt {resource}.{attribute}: no such resource")
        return f"arn:aws:local:{self.region}:{ACCOUNT_ID}:{resource}/{attribute}"

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"condition {name} is not defined")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key.startswith("Fn::"):
                return self._function(key[4:], value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _function(self, name: str, args: Any) -> Any:
        if name == "If":
            condition, when_true, when_false = args
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Sub":
            return self._sub(args)
        if name == "GetAtt":
            resource, attribute = args if isinstance(args, list) else str(args).split(".", 1)
            return self.get_att(resource, self.resolve(attribute))
        values = self.resolve(args)
        if name == "Equals":
            return str(values[0]) == str(values[1])
        if name == "Not":
            return not values[0]
        if name == "And":
            return all(values)
        if name == "Or":
            return any(values)
        if name == "Join":
            return str(values[0]).join(str(part) for part in values[1])
        if name == "Select":
            return values[1][int(values[0])]
        if name == "Split":
            return str(values[1]).split(values[0])
        if name == "FindInMap":
            return self.template["Mappings"][values[0]][values[1]][values[2]]
        if name == "Base64":
            return base64.b64encode(str(values).encode()).decode()
        if name == "GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if name == "ImportValue":
            return f"imported:{values}"
        raise TemplateError(f"Fn::{name} is not supported locally")

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))
        out, position = [], 0
        while (start := text.find("${", position)) != -1:
            end = text.find("}", start)
            if end == -1:
                break
            out.append(text[position:start])
            name = text[start + 2 : end]
            if name.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                out.append(self.get_att(resource, attribute))
            else:
                out.append(str(self.ref(name)))
            position = end + 1
        out.append(text[position:])
        return "".join(out)


@dataclass(frozen=True)
class FunctionConfig:
    """What `sam local invoke` would run: Globals applied, intrinsics resolved."""

    logical_id: str
    handler: str
    code_dir: Path
    runtime: str
    timeout_s: float
    memory_mb: int
    layer_dirs: tuple[Path, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    skipped_layers: tuple[str, ...] = ()


def function_config(
    template: Mapping[str, Any], logical_id: str, base_dir: Path, overrides: Mapping[str, Any] | None = None
) -> FunctionConfig:
    resources = template.get("Resources", {})
    resource = resources.get(logical_id)
    if not resource or resource.get("Type") != "AWS::Serverless::Function":
        functions = [name for name, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
        raise TemplateError(f"{logical_id} is not a function of this template; functions: {', '.join(functions)}")
    resolver = Resolver(template, overrides)
    globals_ = resolver.resolve(((template.get("Globals") or {}).get("Function")) or {})
    own = resolver.resolve(resource.get("Properties") or {})
    merged = {**globals_, **own}
    environment = {
        **((globals_.get("Environment") or {}).get("Variables") or {}),
        **((own.get("Environment") or {}).get("Variables") or {}),
    }
    layer_dirs, skipped = [], []
    for layer in [*(globals_.get("Layers") or []), *(own.get("Layers") or [])]:
        spec = resources.get(layer) if isinstance(layer, str) else None
        if spec and spec.get("Type") == "AWS::Serverless::LayerVersion":
            content = base_dir / str(resolver.resolve(spec["Properties"]["ContentUri"]))
            if (content / "python").is_dir():
                layer_dirs.append(content / "python")
        else:
            skipped.append(str(layer))
    return FunctionConfig(
        logical_id=logical_id,
        handler=str(merged["Handler"]),
        code_dir=base_dir / str(merged["CodeUri"]),
        runtime=str(merged.get("Runtime", "")),
        timeout_s=float(merged.get("Timeout", 3)),
        memory_mb=int(merged.get("MemorySize", 128)),
        layer_dirs=tuple(layer_dirs),
        environment={name: _env_string(value) for name, value in environment.items()},
        skipped_layers=tuple(skipped),
    )


def function_environment(template: Mapping[str, Any], logical_id: str) -> dict[str, str]:
    """The template's own values of a function's variables (Globals merged, parameters at default)."""
    return function_config(template, logical_id, Path(".")).environment


def effective_environment(
    declared: Mapping[str, str], logical_id: str, env_vars: Mapping[str, Any] | None, caller: Mapping[str, str]
) -> dict[str, str]:
    """SAM's precedence for declared variables: template < env-vars file < caller's environment.

    Variables the template does not declare are not taken from the env-vars file, as in SAM.
    """
    file_values: dict[str, Any] = {}
    if env_vars:
        file_values.update(env_vars.get("Parameters") or {})
        file_values.update(env_vars.get(logical_id) or {})
    result = {}
    for name, default in declared.items():
        value = caller.get(name, file_values.get(name, default))
        result[name] = _env_string(value)
    return result


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
