"""schemas/: both forms of each message type say the same thing, and the code writes the latest version."""

from __future__ import annotations

import json
from typing import Any

import polymarket_markets
import pytest
import rss_items
from producer_common.schema_files import parse_ref, schema_path

from tools.services import schema_catalog as catalog

TYPES = catalog.types()
AVRO_TO_JSON = {"string": "string", "double": "number", "long": "integer", "int": "integer", "boolean": "boolean"}


def json_type(avro_type: Any) -> tuple[Any, bool]:
    """The JSON Schema type an Avro field type corresponds to, and whether it is nullable."""
    if isinstance(avro_type, list):
        assert len(avro_type) == 2 and avro_type[0] == "null", f"unions are [null, T] only: {avro_type}"
        return json_type(avro_type[1])[0], True
    if isinstance(avro_type, dict):
        assert avro_type["type"] == "array", f"only arrays of primitives: {avro_type}"
        return ("array", AVRO_TO_JSON[avro_type["items"]]), False
    return AVRO_TO_JSON[avro_type], False


def declared(prop: dict[str, Any]) -> tuple[Any, bool]:
    kind = prop["type"]
    nullable = isinstance(kind, list)
    if nullable:
        assert len(kind) == 2 and kind[1] == "null", f"nullable types are [T, null]: {kind}"
        kind = kind[0]
    if kind == "array":
        return ("array", prop["items"]["type"]), nullable
    return kind, nullable


def test_the_schemas_are_the_two_message_types() -> None:
    assert TYPES == ["polymarket_price", "rss_item"]
    assert catalog.types(catalog.RELEASED) == TYPES


@pytest.mark.parametrize(("name", "version"), [(name, version) for name in TYPES for version in catalog.versions(name)])
def test_json_schema_and_avro_agree_field_for_field(name: str, version: int) -> None:
    # Given both forms of one version
    avro = json.loads(catalog.text(name, version, "avro"))
    document = json.loads(catalog.text(name, version, "json_schema"))
    # Then they name the same fields in the same order, with the same types and nullability
    assert list(document["properties"]) == [field["name"] for field in avro["fields"]]
    for field in avro["fields"]:
        prop = document["properties"][field["name"]]
        assert declared(prop) == json_type(field["type"]), field["name"]
        # nothing Avro cannot say either (ranges, enums, formats), so both forms accept the same values
        assert set(prop) <= {"type", "items", "description", "pattern"}, field["name"]
        assert ("pattern" in prop) == (field["name"] == "schema"), field["name"]
        # a field without a default must be present (it may be null): required in JSON Schema
        assert (field["name"] in document["required"]) == ("default" not in field), field["name"]
    # and both are closed: a field neither names is refused
    assert document["additionalProperties"] is False
    assert document["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert document["title"] == f"{name}/{version}"


@pytest.mark.parametrize(
    ("ref", "name"), [(rss_items.SCHEMA, "rss_item"), (polymarket_markets.SCHEMA, "polymarket_price")]
)
def test_the_code_writes_the_latest_version(ref: str, name: str) -> None:
    assert parse_ref(ref) == (name, catalog.latest(name))
    assert schema_path(ref, "avro") == catalog.path(name, catalog.latest(name), "avro")


@pytest.mark.parametrize("name", TYPES)
def test_every_released_version_is_kept(name: str) -> None:
    # The released copies are what the gate compares with; the latest source version is either
    # the latest release itself or the one after it.
    released = catalog.versions(name, catalog.RELEASED)
    assert released and released == list(range(1, released[-1] + 1))
    assert catalog.latest(name) in (released[-1], released[-1] + 1)
    assert catalog.versions(name)[: len(released)] == released
