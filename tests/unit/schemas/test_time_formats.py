"""The schema checks the suite runs on every produced message (tests/message_schemas.py) assert the
formats a JSON Schema declares, rather than only noting them as jsonschema does by default: once a
schema says a time is a ``date-time``, "yesterday" is a misfit."""

from __future__ import annotations

import pytest

from tests.message_schemas import json_validator

TIMES = {
    "type": "object",
    "properties": {
        "published_at": {"type": ["string", "null"], "format": "date-time"},
        "fetched_at": {"type": "string", "format": "date-time"},
    },
}


def test_rfc3339_times_fit() -> None:
    validator = json_validator(TIMES)
    for value in ("2026-12-04T19:00:00Z", "2026-12-04T19:00:00+00:00", "2026-12-04T19:00:00.123456Z"):
        assert list(validator.iter_errors({"published_at": value, "fetched_at": value})) == []
    assert list(validator.iter_errors({"published_at": None, "fetched_at": "2026-12-04T19:00:00Z"})) == []


@pytest.mark.parametrize("field", ["published_at", "fetched_at"])
@pytest.mark.parametrize("value", ["yesterday", "2026-12-04", "2026-12-04 19:00", "2026-13-04T19:00:00Z"])
def test_a_time_that_is_not_a_date_time_is_a_misfit(field: str, value: str) -> None:
    # Given a message whose time is not an RFC 3339 date-time
    message = {"published_at": None, "fetched_at": "2026-12-04T19:00:00Z"} | {field: value}
    # When the suite's validator reads it, Then it names the format and the field
    (error,) = json_validator(TIMES).iter_errors(message)
    assert error.message == f"{value!r} is not a 'date-time'" and list(error.path) == [field]
