from tests.unit.rss_producer.served import served  # noqa: F401  (the fixture)
