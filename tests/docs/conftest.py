"""The docs tier: the manual's build, its generated reference and its snippets (marker ``docs``).

The snippets' Python consumers read from Apache Kafka (a consumer group joins Tansu only after
about 23 s, longer than the snippets' 10 s poll) and from a schema registry. Both live for this
tier's one module only: the tier runs before tests/integration and tests/kafka, which start their
own for the session, so two of either never run at once.
"""

from __future__ import annotations

import pytest

from tests.integration import conftest as integration
from tests.support.kafka import apache_kafka_node

# Apache Kafka and the integration tier's registry, started the same way, for this module only.
apache_kafka = pytest.fixture(scope="module", name="apache_kafka")(apache_kafka_node)
registry = pytest.fixture(scope="module", name="registry")(integration.registry.__wrapped__)  # type: ignore[attr-defined]
