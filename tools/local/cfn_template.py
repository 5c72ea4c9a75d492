"""template.yaml read the way CloudFormation and SAM would: short tags, intrinsics, Globals.

Pure functions over mappings, shared by `make invoke`, `make demo` and the template tests.

Why not SAM CLI's own template providers (SamLocalStackProvider, SamFunctionProvider): they read
this template the same way (tests/template/test_sam_reading.py holds every function's handler,
runtime, timeout, memory, layers and 39 environment variables equal, under default and overridden
parameters), but they pull in samtranslator and boto3: reading one function costs a fresh
interpreter 0.84 s and 82 MiB through them against 0.10 s and 16 MiB here (farm-bench -n 7, paired,
median ratio 8.5), time every `make invoke` would pay before the handler starts.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
STACK_NAME = "local"
DEFAULT_REGION = "us-east-1"
_NO_VALUE = object()  # AWS::NoValue: the key or list item disappears
_TAGS = (
    *("Ref", "Condition", "GetAtt", "Sub", "ImportValue", "GetAZs", "Base64", "Cidr", "ToJsonString"),
    *("If", "Equals", "Not", "And", "Or", "Join", "Select", "Split", "FindInMap", "Length"),
)
# The service in a !GetAtt ...Arn placeholder, where the type does not name it.
_SERVICES = {
    "Serverless::Function": "lambda",
    "Serverless::LayerVersion": "lambda",
    "Serverless::SimpleTable": "dynamodb",
}
# The properties `sam local invoke` needs; the rest (Events, Policies, ...) are never resolved,
# so a reference there to a resource SAM generates cannot break a local run.
_RUN_PROPERTIES = ("Handler", "CodeUri", "InlineCode", "PackageType", "Runtime", "Timeout", "MemorySize", "Layers")


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
    if tag in ("Ref", "Condition"):
        return {tag: value}
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag}": value}


for _tag in _TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _construct(tag, loader, node))


def loads(text: str) -> Any:
    """YAML (or JSON) with CloudFormation's short tags turned into their long `Fn::` forms."""
    return yaml.load(text, Loader=_CfnLoader)


def load_template(path: str | Path) -> dict[str, Any]:
    template = loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(template, dict) or "Resources" not in template:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return template


def default_region(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def env_string(value: Any) -> str:
    """A value as SAM writes it into the environment: booleans lower-case, lists, maps and null empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, list | dict):
        return ""
    return str(value)


class Resolver:
    """Evaluates intrinsic functions against parameter values and pseudo parameters."""

    def __init__(
        self, template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, region: str | None = None
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.region = region or default_region(os.environ)
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if overrides is not None and name in overrides:
                value = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                continue  # a parameter without a value: a !Ref to it is an error, as in CloudFormation
            if isinstance(value, list):
                value = ",".join(map(env_string, value))
            value = env_string(value)
            allowed = [env_string(choice) for choice in spec.get("AllowedValues") or []]
            if allowed and value not in allowed:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            is_list = str(spec.get("Type", "")).startswith(("CommaDelimitedList", "List<"))
            self.parameters[name] = value.split(",") if is_list else value
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
        if name not in values:
            raise TemplateError(f"!Ref {name}: no such pseudo parameter")
        return values[name]

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.resources:
            return name  # the logical id stands in for the physical id
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, resource: str, attribute: str) -> str:
        if resource not in self.resources:
            raise TemplateError(f"!GetAtt {resource}.{attribute}: no such resource")
        if not attribute.endswith("Arn"):
            return resource if attribute.endswith("Name") else f"{resource}.{attribute}"
        kind = str(self.resources[resource].get("Type", "AWS::Local::Resource")).removeprefix("AWS::")
        service = _SERVICES.get(kind) or kind.split("::")[0].lower()
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

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
                return self.ref(self.resolve(value))
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key.startswith("Fn::"):
                return self._function(key[4:], value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _function(self, name: str, args: Any) -> Any:
        # If, Sub and GetAtt see their arguments unresolved: If resolves only the branch it takes,
        # Sub's text is a pattern, not a value.
        if name == "If":
            condition, when_true, when_false = args
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Sub":
            return self._sub(args)
        if name == "GetAtt":
            resource, attribute = args if isinstance(args, list) else str(args).split(".", 1)
            return self.get_att(resource, self.resolve(attribute))
        values = self.resolve(args)
        if name == "Equals":  # as CloudFormation compares: "5" equals 5, "true" equals true
            left, right = (v if isinstance(v, list | dict) else env_string(v) for v in values)
            return left == right
        if name == "Not":
            return not values[0]
        if name == "And":
            return all(values)
        if name == "Or":
            return any(values)
        if name == "Join":
            return str(values[0]).join(env_string(part) for part in values[1])
        if name == "Select":
            return values[1][int(values[0])]
        if name == "Split":
            return str(values[1]).split(values[0])
        if name == "FindInMap":
            return self._find_in_map(values)
        if name == "Base64":
            return base64.b64encode(str(values).encode()).decode()
        if name == "GetAZs":
            return [f"{values or self.region}{zone}" for zone in "abc"]
        if name == "ImportValue":
            return f"imported:{values}"  # another stack's export: nothing to read locally
        if name == "Length":
            return len(values)
        if name == "ToJsonString":
            return json.dumps(values, separators=(",", ":"))
        raise TemplateError(f"Fn::{name} is not supported locally")

    def _find_in_map(self, values: list[Any]) -> Any:
        mapping_name, top, second = values[:3]
        try:
            level: Any = (self.template.get("Mappings") or {})[mapping_name]
            for key in (top, second):  # YAML reads a key like 123456789012 as a number
                level = {env_string(k): v for k, v in level.items()}[env_string(key)]
            return level
        except KeyError:
            if len(values) > 3 and isinstance(values[3], dict) and "DefaultValue" in values[3]:
                return values[3]["DefaultValue"]  # AWS::LanguageExtensions
            raise TemplateError(f"!FindInMap {values[:3]}: no such entry") from None

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))

        def value(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return env_string(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return env_string(self.ref(name))

        return re.sub(r"\$\{([^}]*)\}", value, text)


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


def function_properties(template: Mapping[str, Any], logical_id: str, resolver: Resolver) -> dict[str, Any]:
    """The run properties of a function with `Globals.Function` merged the way SAM merges them.

    Scalars: the function wins. Environment.Variables: merged, the function wins. Layers: the
    Globals' first, then the function's.
    """
    resources = template.get("Resources") or {}
    resource = resources.get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
        functions = [name for name, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"]
        raise TemplateError(f"{logical_id} is not a function of this template; functions: {', '.join(functions)}")
    global_props = (template.get("Globals") or {}).get("Function") or {}
    own_props = resource.get("Properties") or {}
    merged: dict[str, Any] = {}
    for key in _RUN_PROPERTIES:
        own, shared = _property(resolver, own_props, key), _property(resolver, global_props, key)
        value = [*(shared or []), *(own or [])] if key == "Layers" else own if own is not None else shared
        if value is not None:
            merged[key] = value
    variables: dict[str, Any] = {}
    for props in (global_props, own_props):
        variables.update((_property(resolver, props, "Environment") or {}).get("Variables") or {})
    merged["Environment"] = {"Variables": variables}
    return merged


def _property(resolver: Resolver, props: Mapping[str, Any], key: str) -> Any:
    """A resolved property; None when absent or AWS::NoValue."""
    value = resolver.resolve(props[key]) if key in props else None
    return None if value is _NO_VALUE else value


def function_config(
    template: Mapping[str, Any],
    logical_id: str,
    base_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> FunctionConfig:
    """A function's run configuration; `overrides` are template parameter values, `base_dir` the template's folder."""
    resolver = Resolver(template, overrides, region)
    props = function_properties(template, logical_id, resolver)
    code_uri, handler = props.get("CodeUri"), props.get("Handler")
    if props.get("PackageType") == "Image" or "InlineCode" in props:
        raise TemplateError(f"{logical_id}: only zip functions with a local CodeUri can be run locally")
    if not isinstance(code_uri, str) or code_uri.startswith("s3://") or not isinstance(handler, str):
        raise TemplateError(f"{logical_id}: needs a Handler and a local CodeUri (got {code_uri!r})")
    layer_dirs, skipped = [], []
    for layer in props.get("Layers") or []:
        spec = template["Resources"].get(layer) if isinstance(layer, str) else None
        if not spec or spec.get("Type") != "AWS::Serverless::LayerVersion":
            skipped.append(str(layer))
            continue
        content = resolver.resolve((spec.get("Properties") or {}).get("ContentUri"))
        if not isinstance(content, str) or content.startswith("s3://"):
            skipped.append(str(layer))
        elif (base_dir / content / "python").is_dir():  # as /opt/python; a layer of built wheels has none
            layer_dirs.append(base_dir / content / "python")
    return FunctionConfig(
        logical_id=logical_id,
        handler=handler,
        code_dir=base_dir / code_uri,
        runtime=str(props.get("Runtime", "")),
        timeout_s=float(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        layer_dirs=tuple(layer_dirs),
        environment={name: env_string(value) for name, value in props["Environment"]["Variables"].items()},
        skipped_layers=tuple(skipped),
    )


def function_environment(template: Mapping[str, Any], logical_id: str) -> dict[str, str]:
    """The template's own values of a function's variables (Globals merged, parameters at default)."""
    return function_config(template, logical_id, Path(".")).environment


def effective_environment(
    declared: Mapping[str, str], logical_id: str, env_vars: Mapping[str, Any] | None, caller: Mapping[str, str]
) -> dict[str, str]:
    """SAM's precedence for declared variables: template < env-vars file < caller's environment.

    In the env-vars file, `Parameters` applies to every function and the function's logical id
    to it alone (and wins). Variables the template does not declare are not taken from the file, as in SAM.
    """
    file_values: dict[str, Any] = {}
    if env_vars:
        file_values.update(env_vars.get("Parameters") or {})
        file_values.update(env_vars.get(logical_id) or {})
    return {name: env_string(caller.get(name, file_values.get(name, default))) for name, default in declared.items()}
