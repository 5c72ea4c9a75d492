"""The Kafka tier: against a real Apache Kafka broker (the session's ``apache_kafka``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kafka" in str(item.path):
            item.add_marker(pytest.mark.kafka)
