"""The integration tier of the compatibility gate: the registry's own compatibility endpoint.

Each subject is set as `make register-schemas` sets it (FULL for Avro, BACKWARD for JSON Schema with
its closed content model) and given every released version; the version the code writes must then
pass the registry's check. The edits beside it show what the check lets through and what it refuses.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from tools.services import schema_catalog as catalog
from tools.services.registry import EmbeddedRegistry, registry_client

FORMATS = sorted(catalog.COMPATIBILITY)
TYPES = catalog.types()


def subject_with_releases(registry: EmbeddedRegistry, name: str, value_format: str) -> tuple[SchemaRegistryClient, str]:
    client = registry_client(registry.url)
    subject = f"gate-{name}-{value_format}-{uuid.uuid4().hex[:6]}"
    client.set_compatibility(subject, catalog.COMPATIBILITY[value_format])
    for version in catalog.versions(name, catalog.RELEASED):
        text = catalog.text(name, version, value_format, catalog.RELEASED)
        client.register_schema(subject, Schema(text, catalog.SCHEMA_TYPES[value_format]))
    return client, subject


def compatible(client: SchemaRegistryClient, subject: str, value_format: str, schema: str | dict[str, Any]) -> bool:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return bool(client.test_compatibility(subject, Schema(text, catalog.SCHEMA_TYPES[value_format])))


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("value_format", FORMATS)
def test_the_code_s_schema_is_compatible_with_every_release(
    registry: EmbeddedRegistry, name: str, value_format: str
) -> None:
    client, subject = subject_with_releases(registry, name, value_format)
    current = catalog.text(name, catalog.latest(name), value_format)
    assert compatible(client, subject, value_format, current), (
        f"schemas/{catalog.path(name, catalog.latest(name), value_format).name} is not compatible with the released "
        f"versions of {name} ({catalog.COMPATIBILITY[value_format]}): see README, Schemas"
    )


def add_optional(value_format: str, schema: dict[str, Any]) -> None:
    if value_format == "avro":
        schema["fields"].append({"name": "language", "type": ["null", "string"], "default": None})
    else:
        schema["properties"]["language"] = {"type": ["string", "null"]}


def remove_field(value_format: str, schema: dict[str, Any]) -> None:
    if value_format == "avro":
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "title"]
    else:
        del schema["properties"]["title"]
        schema["required"].remove("title")


def retype_field(value_format: str, schema: dict[str, Any]) -> None:
    if value_format == "avro":
        next(f for f in schema["fields"] if f["name"] == "title")["type"] = ["null", "long"]
    else:
        schema["properties"]["title"]["type"] = ["integer", "null"]


@pytest.mark.parametrize("value_format", FORMATS)
@pytest.mark.parametrize(
    ("edit", "passes"),
    [(add_optional, True), (remove_field, False), (retype_field, False)],
    ids=["add", "remove", "retype"],
)
def test_what_the_registry_lets_through(
    registry: EmbeddedRegistry, value_format: str, edit: Callable[[str, dict[str, Any]], None], passes: bool
) -> None:
    # Given rss_item's releases on a subject set as make register-schemas sets it
    client, subject = subject_with_releases(registry, "rss_item", value_format)
    released = catalog.latest("rss_item", catalog.RELEASED)
    schema = copy.deepcopy(json.loads(catalog.text("rss_item", released, value_format, catalog.RELEASED)))
    # When a field is added (optional), removed or retyped
    edit(value_format, schema)
    # Then only the new optional field passes
    assert compatible(client, subject, value_format, schema) is passes


def test_a_time_format_added_to_a_released_json_schema_is_refused(registry: EmbeddedRegistry) -> None:
    """Saying what a time is (issue 24: "published_at": {"format": "date-time"}) narrows what the field
    accepts, so the registry's BACKWARD check refuses it like a retyped field, though every message ever
    written fits: it is a new message type's, or a new subject's, to say. (Avro has no string format.)"""
    # Given rss_item's releases on a JSON Schema subject set as make register-schemas sets it
    client, subject = subject_with_releases(registry, "rss_item", "json_schema")
    released = catalog.latest("rss_item", catalog.RELEASED)
    schema = json.loads(catalog.text("rss_item", released, "json_schema", catalog.RELEASED))
    # When its times say they are date-times
    for field in ("published_at", "fetched_at"):
        schema["properties"][field]["format"] = "date-time"
    # Then the registry refuses the version
    assert compatible(client, subject, "json_schema", schema) is False
