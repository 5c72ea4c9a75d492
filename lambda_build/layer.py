"""The Kafka-dependencies layer's libraries (layers/kafka_deps/requirements.txt) by import name:
what the build test imports under python3.12 and what the cold-start benchmark weighs a handler against."""

LIBRARIES = [
    "confluent_kafka",
    "kafka",
    "feedparser",
    "feedparser_rs",
    "requests",
    "pytz",
    "aws_lambda_powertools",
    "aws_msk_iam_sasl_signer",
]
