"""The integration tier of the compatibility gate: the registry's own compatibility endpoint.

Each subject is set as `make register-schemas` sets it (FULL for Avro, BACKWARD for JSON Schema with
its closed content model) and given every released version; the version the code writes must then
pass the registry's check. The edits beside it show what the check lets through and what it refuses.
"""

from __future__ import annotations

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


def date_time_format(value_format: str, schema: dict[str, Any]) -> None:
    """Saying what a time is (issue 24: "published_at": {"format": "date-time"}) narrows what the field
    accepts, so the registry's BACKWARD check refuses it like a retyped field, though every message ever
    written fits: it is a new message type's, or a new subject's, to say. (Avro has no string format.)"""
    for field in ("published_at", "fetched_at"):
        schema["properties"][field]["format"] = "date-time"


EDITS = [(add_optional, True), (remove_field, False), (retype_field, False)]


@pytest.mark.parametrize(
    ("value_format", "edit", "passes"),
    [
        *(pytest.param(f, edit, passes, id=f"{f}-{edit.__name__}") for f in FORMATS for edit, passes in EDITS),
        pytest.param("json_schema", date_time_format, False, id="json_schema-date_time_format"),
    ],
)
def test_what_the_registry_lets_through(
    registry: EmbeddedRegistry, value_format: str, edit: Callable[[str, dict[str, Any]], None], passes: bool
) -> None:
    # Given rss_item's releases on a subject set as make register-schemas sets it
    client, subject = subject_with_releases(registry, "rss_item", value_format)
    released = catalog.latest("rss_item", catalog.RELEASED)
    schema = json.loads(catalog.text("rss_item", released, value_format, catalog.RELEASED))
    # When a field is added (optional), removed or retyped, or the times say they are date-times
    edit(value_format, schema)
    # Then only the new optional field passes
    assert compatible(client, subject, value_format, schema) is passes
