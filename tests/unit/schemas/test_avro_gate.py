"""The unit tier of the compatibility gate: Apache Avro's own checker (avro.compatibility).

FULL compatibility, as the registry subjects are set: data written with the released version reads
with the new one (backward) and the other way round (forward). So a new optional field (a null
default) passes, while a removed field (old readers have no default for it) or a retyped one fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
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


def nullable_string(fields: list[dict[str, Any]]) -> dict[str, Any]:
    return next(field for field in fields if field["type"] == ["null", "string"])


EDITS: dict[str, tuple[Callable[[list[dict[str, Any]]], object], bool]] = {  # a change, and whether it passes
    "new-optional-field": (lambda f: f.append({"name": "language", "type": ["null", "string"], "default": None}), True),
    "new-required-field": (lambda f: f.append({"name": "language", "type": "string"}), False),
    "second-field-removed": (lambda f: f.pop(1), False),
    "second-last-field-removed": (lambda f: f.pop(-2), False),
    "nullable-string-retyped": (lambda f: nullable_string(f).update(type=["null", "long"]), False),
    "nullable-string-made-required": (lambda f: nullable_string(f).update(type="string"), False),
}


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("edit", EDITS)
def test_an_edited_release_passes_only_with_a_new_optional_field(name: str, edit: str) -> None:
    # Given the released version with one edit
    change, passes = EDITS[edit]
    new = released(name)
    change(new["fields"])
    # Then it is FULL compatible with the release only if the edit added an optional field
    assert (incompatibilities(new, released(name)) == []) is passes


def test_the_checker_reads_what_it_is_given() -> None:
    # A deep copy is compatible with itself; a guard against a checker that passes everything.
    old = released("polymarket_price")
    assert incompatibilities(copy.deepcopy(old), old) == []
    assert incompatibilities({"type": "record", "name": "PolymarketPrice", "fields": []}, old)
