"""The docs tier: the manual's build, its generated reference and its snippets (marker ``docs``).

The snippets' Python consumers read from the suite's Apache Kafka (a consumer group joins Tansu only
after about 23 s, longer than the snippets' 10 s poll) and the registry the integration tier starts;
their fixtures are reused from there, not copied.
"""

from __future__ import annotations

import pytest

from tests.conftest import apache_kafka
from tests.integration.conftest import registry

__all__ = ["apache_kafka", "registry"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/docs" in str(item.path):
            item.add_marker(pytest.mark.docs)
