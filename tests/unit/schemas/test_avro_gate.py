"""The unit tier of the compatibility gate: Apache Avro's own checker (avro.compatibility).

FULL compatibility, as the registry subjects are set: data written with the released version reads
with the new one (backward) and the other way round (forward). So a new optional field (a null
default) passes, while a removed field (old readers have no default for it) or a retyped one fails.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from tools.services import schema_catalog as catalog

TYPES = catalog.types()


def incompatibilities(new: dict[str, Any] | str, old: dict[str, Any] | str) -> list[str]:
    """Why ``new`` is not FULL compatible with ``old``; empty when it is."""
    new_schema = avro.schema.parse(new if isinstance(new, str) else json.dumps(new))
    old_schema = avro.schema.parse(old if isinstance(old, str) else json.dumps(old))
    problems = []
    for direction, reader, writer in (("backward", new_schema, old_schema), ("forward", old_schema, new_schema)):
        result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
        if result.compatibility is not SchemaCompatibilityType.compatible:
            problems.append(f"{direction}: {'; '.join(result.messages)} at {result.locations}")
    return problems


@pytest.mark.parametrize("name", TYPES)
def test_the_latest_version_is_compatible_with_the_latest_release(name: str) -> None:
    # Given the version the code writes and the last one released
    released = catalog.latest(name, catalog.RELEASED)
    new = catalog.text(name, catalog.latest(name), "avro")
    old = catalog.text(name, released, "avro", catalog.RELEASED)
    # Then consumers of either read the other's data
    assert incompatibilities(new, old) == [], f"schemas/{name} breaks v{released}: see README, Schemas"


def released(name: str) -> dict[str, Any]:
    return json.loads(catalog.text(name, catalog.latest(name, catalog.RELEASED), "avro", catalog.RELEASED))


@pytest.mark.parametrize("name", TYPES)
def test_a_new_optional_field_passes(name: str) -> None:
    new = released(name)
    new["fields"].append({"name": "language", "type": ["null", "string"], "default": None})
    assert incompatibilities(new, released(name)) == []


@pytest.mark.parametrize("name", TYPES)
def test_a_new_required_field_fails(name: str) -> None:
    new = released(name)
    new["fields"].append({"name": "language", "type": "string"})
    assert incompatibilities(new, released(name))


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("position", [1, -2])
def test_a_removed_field_fails(name: str, position: int) -> None:
    new = released(name)
    del new["fields"][position]
    assert incompatibilities(new, released(name))


@pytest.mark.parametrize("name", TYPES)
def test_a_retyped_field_fails(name: str) -> None:
    new = released(name)
    field = next(f for f in new["fields"] if f["type"] == ["null", "string"])
    field["type"] = ["null", "long"]
    assert incompatibilities(new, released(name))


def test_a_nullable_field_made_required_fails() -> None:
    new = released("rss_item")
    field = next(f for f in new["fields"] if f["name"] == "author")
    field["type"] = "string"
    assert incompatibilities(new, released("rss_item"))


def test_the_checker_reads_what_it_is_given() -> None:
    # A deep copy is compatible with itself; a guard against a checker that passes everything.
    old = released("polymarket_price")
    assert incompatibilities(copy.deepcopy(old), old) == []
    assert incompatibilities({"type": "record", "name": "PolymarketPrice", "fields": []}, old)
