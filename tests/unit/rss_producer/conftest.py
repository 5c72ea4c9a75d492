import pytest
from producer_common.state.sqlite import SqliteStateStore

from tests.unit.rss_producer.served import served  # noqa: F401  (the fixture)


@pytest.fixture
def state() -> SqliteStateStore:
    return SqliteStateStore(":memory:", ttl_s=90 * 86_400)
