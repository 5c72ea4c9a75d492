"""Names of every environment variable the producers read, and their defaults."""

# Kafka connection and delivery
KAFKA_BOOTSTRAP_SERVERS = "KAFKA_BOOTSTRAP_SERVERS"
KAFKA_TOPIC = "KAFKA_TOPIC"
KAFKA_CLIENT = "KAFKA_CLIENT"
KAFKA_SECURITY_PROTOCOL = "KAFKA_SECURITY_PROTOCOL"
KAFKA_SASL_MECHANISM = "KAFKA_SASL_MECHANISM"
KAFKA_SECRET_ID = "KAFKA_SECRET_ID"
KAFKA_USERNAME = "KAFKA_USERNAME"
KAFKA_PASSWORD = "KAFKA_PASSWORD"
KAFKA_COMPRESSION = "KAFKA_COMPRESSION"
KAFKA_PARTITIONER = "KAFKA_PARTITIONER"
KAFKA_LINGER_MS = "KAFKA_LINGER_MS"
KAFKA_DELIVERY_TIMEOUT_S = "KAFKA_DELIVERY_TIMEOUT_S"
KAFKA_FLUSH_MARGIN_S = "KAFKA_FLUSH_MARGIN_S"
KAFKA_CLIENT_ID = "KAFKA_CLIENT_ID"
KAFKA_SSL_CA_LOCATION = "KAFKA_SSL_CA_LOCATION"

# Message values and the schema registry (README, "Schemas")
KAFKA_VALUE_FORMAT = "KAFKA_VALUE_FORMAT"
SCHEMA_REGISTRY_URL = "SCHEMA_REGISTRY_URL"
SCHEMA_REGISTRY_SECRET_ID = "SCHEMA_REGISTRY_SECRET_ID"
SCHEMA_REGISTRY_USERNAME = "SCHEMA_REGISTRY_USERNAME"
SCHEMA_REGISTRY_PASSWORD = "SCHEMA_REGISTRY_PASSWORD"

# State and observability
STATE_TABLE = "STATE_TABLE"
STATE_PATH = "STATE_PATH"
STATE_TTL_DAYS = "STATE_TTL_DAYS"
LOG_LEVEL = "LOG_LEVEL"
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"

CLIENT_CONFLUENT = "confluent"
CLIENT_KAFKA_PYTHON = "kafka-python"
CLIENTS = (CLIENT_CONFLUENT, CLIENT_KAFKA_PYTHON)

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
SASL_PLAIN = "PLAIN"
SASL_SCRAM_256 = "SCRAM-SHA-256"
SASL_SCRAM_512 = "SCRAM-SHA-512"
SASL_MSK_IAM = "AWS_MSK_IAM"
SASL_MECHANISMS = (SASL_PLAIN, SASL_SCRAM_256, SASL_SCRAM_512, SASL_MSK_IAM)
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
# murmur2 of the key, as Apache Kafka's Java client and kafka-python; consistent_random is librdkafka's
# own default (CRC32), kept for a topic whose keys must stay where earlier releases put them.
PARTITIONER_MURMUR2 = "murmur2_random"
PARTITIONER_CRC32 = "consistent_random"
PARTITIONERS = (PARTITIONER_MURMUR2, PARTITIONER_CRC32)
FORMAT_JSON = "json"  # plain JSON, no registry
FORMAT_JSON_SCHEMA = "json_schema"  # JSON in the Confluent wire format, validated
FORMAT_AVRO = "avro"  # Avro binary in the Confluent wire format
VALUE_FORMATS = (FORMAT_JSON, FORMAT_JSON_SCHEMA, FORMAT_AVRO)

DEFAULT_CLIENT = CLIENT_CONFLUENT
DEFAULT_SECURITY_PROTOCOL = "PLAINTEXT"
# lz4 is cheap on CPU (a 256 MB Lambda has a fraction of a vCPU); kafka-python
# only has gzip without extra native wheels, so it defaults to that.
DEFAULT_COMPRESSION = {CLIENT_CONFLUENT: "lz4", CLIENT_KAFKA_PYTHON: "gzip"}
# What each client can compress with in the layer: librdkafka has every codec built in; kafka-python
# needs python-snappy (+cramjam), lz4 and zstandard wheels for the others, 34 MB unzipped on x86_64
# that the layer does not carry (README, "Configuration").
CLIENT_COMPRESSIONS = {CLIENT_CONFLUENT: COMPRESSIONS, CLIENT_KAFKA_PYTHON: ("none", "gzip")}
DEFAULT_LINGER_MS = 20
DEFAULT_DELIVERY_TIMEOUT_S = 60.0
# Time kept back from the Lambda deadline so the handler can still report.
DEFAULT_FLUSH_MARGIN_S = 10.0
DEFAULT_CLIENT_ID = "kafka-data-producers"
DEFAULT_VALUE_FORMAT = FORMAT_JSON
DEFAULT_REGION = "us-east-1"

# Message headers
HEADER_SCHEMA = "schema"
HEADER_SOURCE = "source"
