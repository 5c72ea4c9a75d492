"""The docs tier: the manual's build, its generated reference and its snippets (marker ``docs``).

The snippets' Python consumers read from the suite's Apache Kafka (the root conftest's session
``apache_kafka``, shared with tests/kafka; a consumer group joins Tansu only after about 23 s, longer
than the snippets' 10 s poll) and from a schema registry. The registry lives for this tier's one
module only: the tier runs before tests/integration, which starts its own for the session, so two
registry JVMs never run at once.
"""

from __future__ import annotations

import pytest

from tests.integration import conftest as integration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/docs" in str(item.path):
            item.add_marker(pytest.mark.docs)


# The integration tier's registry, started the same way, but for this module only.
registry = pytest.fixture(scope="module", name="registry")(integration.registry.__wrapped__)  # type: ignore[attr-defined]
