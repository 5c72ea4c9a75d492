"""Every message the suite produces is checked against both forms of its schema in schemas/.

Three hooks, all in the test harness (the product is untouched):
- an autouse fixture wraps the RSS message builder and both producers' ``send`` (unit and in-process
  integration runs, whatever sink the test gives them) and fails the test that produced a misfit;
- ``tests.fakes.FakeBackend`` checks what reaches it;
- ``tools.services.broker.read_topic`` checks what it reads back (which covers handlers run in a subprocess).

A message is checked when its ``schema`` header or field names one of ours (``rss_item/2``); test
values such as ``test/1`` are not.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import fastavro
import jsonschema
import pytest

import tools.services.broker

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
violations: list[str] = []  # misfits seen inside product code, which may catch what a hook raises


@functools.cache
def _validators(ref: str) -> tuple[Any, Any] | None:
    name, _, version = ref.partition("/")
    avsc, json_schema = SCHEMAS / f"{name}.v{version}.avsc", SCHEMAS / f"{name}.v{version}.json"
    if not avsc.exists() or not json_schema.exists():
        return None
    document = json.loads(json_schema.read_text())
    return json_validator(document), fastavro.parse_schema(json.loads(avsc.read_text()))


def json_validator(document: Mapping[str, Any]) -> Any:
    """A draft-07 validator that asserts formats (jsonschema only annotates them unless asked):
    ``date-time`` through rfc3339-validator, ``uri`` through rfc3987, and the rest it knows."""
    jsonschema.Draft7Validator.check_schema(document)
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers, "rfc3339-validator is missing: date-time would go unchecked"
    return jsonschema.Draft7Validator(document, format_checker=checker)


def misfit(value: Any, headers: Mapping[str, str] | None = None) -> str | None:
    """Why ``value`` does not fit its schema (JSON Schema, then Avro); None when it fits or is not ours."""
    ref = (headers or {}).get("schema") or (value.get("schema") if isinstance(value, Mapping) else None)
    if not isinstance(ref, str) or (checks := _validators(ref)) is None:
        return None
    if isinstance(value, Mapping) and value.get("schema") != ref:
        return f"{ref}: the schema field says {value.get('schema')!r}"
    json_validator, avro_schema = checks
    errors = sorted(json_validator.iter_errors(value), key=lambda error: list(error.path))
    if errors:
        return f"{ref} (JSON Schema): {errors[0].message} at {list(errors[0].path)}"
    try:
        fastavro.validation.validate(value, avro_schema, raise_errors=True, strict=True)
    except Exception as error:
        return f"{ref} (Avro): {error}"
    return None


def _record(value: Any, headers: Mapping[str, str] | None = None) -> None:
    problem = misfit(value, headers)
    if problem is not None:
        violations.append(f"{problem}\n{value!r}")


def _checked_read_topic(read: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    @functools.wraps(read)
    def read_topic(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        messages = read(*args, **kwargs)
        for message in messages:
            if not isinstance(message["value"], bytes):  # raw bytes were asked for, not a message to check
                problem = misfit(message["value"], message["headers"])
                assert problem is None, f"a produced message does not fit its schema: {problem}\n{message['value']!r}"
        return messages

    read_topic.checks_schemas = True  # type: ignore[attr-defined]
    return read_topic


# Installed when the suite's conftest imports this module, before any test module imports read_topic.
if not getattr(tools.services.broker.read_topic, "checks_schemas", False):
    tools.services.broker.read_topic = _checked_read_topic(tools.services.broker.read_topic)


def _checking_send(run: Callable[..., Any]) -> Callable[..., Any]:
    """``run`` (produce_feeds, produce_prices) with its ``send`` argument checking each message."""
    signature = inspect.signature(run)

    @functools.wraps(run)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        send = bound.arguments["send"]

        def checked_send(message: Any) -> Any:
            _record(message.value, message.headers)
            return send(message)

        bound.arguments["send"] = checked_send
        return run(*bound.args, **bound.kwargs)

    return wrapped


def _checking_builder(build: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(build)
    def wrapped(*args: Any, **kwargs: Any) -> dict[str, Any]:
        message = build(*args, **kwargs)
        _record(message)
        return message

    return wrapped


@pytest.fixture(autouse=True)
def messages_fit_their_schemas(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import polymarket_run
    import rss_items
    import rss_run

    violations.clear()
    monkeypatch.setattr(rss_items, "to_message", _checking_builder(rss_items.to_message))
    monkeypatch.setattr(rss_run, "produce_feeds", _checking_send(rss_run.produce_feeds))
    monkeypatch.setattr(polymarket_run, "produce_prices", _checking_send(polymarket_run.produce_prices))
    yield
    found, violations[:] = list(violations), []
    assert not found, f"{len(found)} produced message(s) do not fit their schemas, the first: {found[0]}"


def check_produced(value: bytes, headers: list[tuple[str, bytes]]) -> None:
    """For fakes: a value as it would reach the broker. Registry-framed values (magic byte 0) are
    checked by the serializer that framed them."""
    if value[:1] == b"\x00":
        return
    decoded = {name: raw.decode("utf-8") for name, raw in headers}
    _record(json.loads(value), decoded)
