"""What tests, demos and benchmarks start: the embedded broker, Apache Kafka, the schema registry,
LocalStack, the fixture servers, Airflow's environment."""
