"""`make kafka`'s tool: kafka.json as documented, and a client configured from it produces over
every listener; the session broker survives SIGKILL and restarts on its data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from tools.services.broker import read_topic
from tools.services.kafka import ApacheKafka

ROOT = Path(__file__).resolve().parents[2]


def produce_one(config: dict[str, Any], topic: str, key: bytes) -> Any:
    outcomes: list[Any] = []
    producer = Producer(config | {"message.timeout.ms": 10_000, "enable.idempotence": True})
    producer.produce(topic, b'{"ok": true}', key, on_delivery=lambda error, _message: outcomes.append(error))
    producer.flush(15)
    return outcomes


def clients_from(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a reader of kafka.json would configure, one client per listener and mechanism."""
    tls = {"ssl.ca.location": info["ca_file"]}
    clients = {
        "PLAINTEXT": {"bootstrap.servers": info["plaintext"]},
        "SSL": {"bootstrap.servers": info["ssl"], "security.protocol": "SSL"} | tls,
    }
    for mechanism, user in info["users"].items():
        clients[f"SASL_SSL/{mechanism}"] = {
            "bootstrap.servers": info["sasl_ssl"],
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": mechanism,
            "sasl.username": user["username"],
            "sasl.password": user["password"],
        } | tls
    return clients


def kafka_tool(command: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    """`make kafka` / `make kafka-stop`, with the files in ``run_dir`` instead of .run/."""
    return subprocess.run(
        [sys.executable, "-m", "tools.services.kafka", command, "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_kafka_writes_kafka_json_and_every_listener_takes_a_message(tmp_path: Path) -> None:
    started = kafka_tool("start", tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        info = json.loads((tmp_path / "kafka.json").read_text())
        assert set(info) == {"pid", "plaintext", "ssl", "sasl_ssl", "ca_file", "users"}
        assert set(info["users"]) == {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
        assert Path(info["ca_file"]).is_absolute() and Path(info["ca_file"]).exists()
        for listener in ("plaintext", "ssl", "sasl_ssl"):
            assert info[listener].startswith("127.0.0.1:")
        assert f"pid {info['pid']}" in started.stdout and info["sasl_ssl"] in started.stdout  # in words too
        clients = clients_from(info)
        for name, config in clients.items():
            assert produce_one(config, "kafka-json-check", name.encode()) == [None], name
        keys = [message["key"] for message in read_topic(info["plaintext"], "kafka-json-check")]
        assert sorted(keys) == sorted(clients)
        again = kafka_tool("start", tmp_path)
        assert again.returncode == 0 and f"pid {info['pid']}" in again.stdout  # reuses the running one
    finally:
        stopped = kafka_tool("stop", tmp_path)
    assert stopped.returncode == 0
    assert not (tmp_path / "kafka.json").exists()


def test_broker_restarts_on_its_data_after_sigkill(apache_kafka: ApacheKafka) -> None:
    assert produce_one(apache_kafka.client_config(), "restart-check", b"before") == [None]
    pid = apache_kafka.pid
    apache_kafka.kill()
    try:
        assert not apache_kafka.running
    finally:
        apache_kafka.restart()
    assert apache_kafka.pid != pid
    assert produce_one(apache_kafka.client_config("sasl_ssl", "SCRAM-SHA-256"), "restart-check", b"after") == [None]
    keys = [message["key"] for message in read_topic(apache_kafka.plaintext, "restart-check")]
    assert keys == ["before", "after"]
