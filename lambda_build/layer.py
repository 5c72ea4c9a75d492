"""The dependency layers' libraries by import name, and the built layers each function is given:
what the build test imports under python3.12 and what the cold-start benchmark weighs a handler against."""

LIBRARIES = [  # KafkaDepsLayer (layers/kafka_deps/requirements.txt), every function's
    "confluent_kafka",
    "kafka",
    "feedparser",
    "feedparser_rs",
    "requests",
    "pytz",
    "aws_lambda_powertools",
    "aws_msk_iam_sasl_signer",
]
RSS_FETCH_LIBRARIES = ["pycurl"]  # RssFetchLayer (layers/rss_fetch/requirements.txt), the RSS function's only

# Each function's layers as template.yaml attaches them without a registry (each is /opt/python in Lambda)
FUNCTION_LAYERS = {
    "RssProducerFunction": ("KafkaDepsLayer", "CommonLayer", "RssFetchLayer"),
    "PolymarketProducerFunction": ("KafkaDepsLayer", "CommonLayer"),
}
