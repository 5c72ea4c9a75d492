"""A real Apache Kafka broker (KRaft, one node) on loopback, with TLS and SASL listeners.

    python -m tools.services.kafka start     # background; writes .run/kafka.json and prints it in words
    python -m tools.services.kafka stop
    python -m tools.services.kafka fetch     # only download the pinned Kafka (once; then reused)

The jars come from Maven Central through ``mvn`` into a cache outside the repository
(``$XDG_CACHE_HOME/kafka-producers``, else ``~/.cache/kafka-producers``); only the first run
downloads. Each start makes a throwaway CA and a broker certificate for localhost and
127.0.0.1 (trustme), formats KRaft storage with one SCRAM user per SCRAM mechanism, and
starts one node that is both broker and controller, with these listeners on 127.0.0.1:

    plaintext  PLAINTEXT
    ssl        SSL (server certificate only)
    sasl_ssl   SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512

As a library, ``ApacheKafka`` does the same in a directory of the caller's for the length of a
``with`` block, and can ``kill()`` the broker (SIGKILL) and ``restart()`` it on the same data.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.services.kafka_setup import KAFKA_VERSION, KafkaSetupError, fetch, java_binary, make_certificates
from tools.services.supervisor import RunFile, Service, ServiceError, Supervised, free_port

__all__ = ["KAFKA_VERSION", "MECHANISMS", "ApacheKafka", "KafkaSetupError", "User", "running_kafka"]

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run"

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS)
READY_TOPIC = "kafka-producers.ready"

# A small, quick JVM: the serial collector (no GC threads), C1 only (start-up matters more here
# than peak speed), a bounded heap.
JVM_OPTIONS = (
    "-Xms64m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:MaxMetaspaceSize=128m",
    "-Djava.awt.headless=true",
)

LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = WARN
"""


# -- the broker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    username: str
    password: str


def _new_users() -> dict[str, User]:
    return {
        mechanism: User(f"{mechanism.lower().replace('-', '')}-user", secrets.token_urlsafe(18))
        for mechanism in MECHANISMS
    }


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class ApacheKafka(Supervised):
    """One Apache Kafka node in ``directory`` (certificates, configuration, data, log).

    ``start()`` prepares the directory the first time and starts the broker; ``kill()`` ends it
    with SIGKILL, ``stop()`` with SIGTERM; ``restart()`` starts it again on the same data, ports
    and users. ``info`` is what ``.run/kafka.json`` holds.
    """

    def __init__(self, directory: Path, *, ready_timeout_s: float = 90.0) -> None:
        self.directory = Path(directory).resolve()
        self.ready_timeout_s = ready_timeout_s
        self.log_path = self.directory / "kafka.log"
        self._state_file = self.directory / "broker.json"
        self.service: Service | None = None
        self.start_seconds: float | None = None
        if self._state_file.exists():
            self._load(json.loads(self._state_file.read_text()))
        else:
            self.ports: dict[str, int] = {}
            self.users: dict[str, User] = {}

    # what clients need

    @property
    def plaintext(self) -> str:
        return f"127.0.0.1:{self.ports['plaintext']}"

    @property
    def ssl(self) -> str:
        return f"127.0.0.1:{self.ports['ssl']}"

    @property
    def sasl_ssl(self) -> str:
        return f"127.0.0.1:{self.ports['sasl_ssl']}"

    @property
    def wrong_host_ssl(self) -> str:
        """An SSL listener whose certificate (from the same CA) names another host."""
        return f"127.0.0.1:{self.ports['wrong_host']}"

    @property
    def ca_file(self) -> str:
        return str(self.directory / "certs" / "ca.pem")

    @property
    def other_ca_file(self) -> str:
        """A CA that signed none of the broker's certificates."""
        return str(self.directory / "certs" / "other-ca.pem")

    @property
    def pid(self) -> int | None:
        return self.service.pid if self.service else None

    @property
    def info(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "plaintext": self.plaintext,
            "ssl": self.ssl,
            "sasl_ssl": self.sasl_ssl,
            "ca_file": self.ca_file,
            "users": {m: {"username": u.username, "password": u.password} for m, u in self.users.items()},
        }

    def client_config(self, listener: str = "plaintext", mechanism: str | None = None) -> dict[str, Any]:
        """A confluent-kafka configuration for one listener (and SASL mechanism)."""
        config: dict[str, Any] = {"bootstrap.servers": getattr(self, listener)}
        if listener in ("ssl", "sasl_ssl", "wrong_host_ssl"):
            config["security.protocol"] = "SASL_SSL" if listener == "sasl_ssl" else "SSL"
            config["ssl.ca.location"] = self.ca_file
        if listener == "sasl_ssl":
            mechanism = mechanism or "SCRAM-SHA-512"
            user = self.users[mechanism]
            config.update({"sasl.mechanism": mechanism, "sasl.username": user.username, "sasl.password": user.password})
        return config

    # life cycle

    def start(self, *, detached: bool = False) -> ApacheKafka:
        if self.running:
            return self
        java = java_binary()
        libs = fetch()
        if not self._state_file.exists():
            self._prepare(java, libs)
        began = time.monotonic()
        command = self._java(java, libs, "kafka.Kafka", str(self.directory / "server.properties"))
        self.service = Service("Apache Kafka", command, self.log_path, detached=detached, grace_s=30)
        probe = _ProduceProbe(self.plaintext, self.ready_timeout_s)
        try:
            self.service.start(probe.acknowledged, self.ready_timeout_s)
        except ServiceError as error:
            raise KafkaSetupError(_hide(f"{error}\n(the probe's last word: {probe.reason})", self)) from None
        finally:
            probe.close()
        self.start_seconds = time.monotonic() - began
        return self

    def kill(self) -> None:
        """SIGKILL: no flush, no controlled shutdown, as a crash."""
        if self.service is not None:
            self.service.kill()

    def restart(self) -> ApacheKafka:
        """Start again on the same data directory, ports and users (after ``kill`` or ``stop``)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.service is not None and self.service.running

    # preparation

    def _prepare(self, java: str, libs: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        certs = make_certificates(self.directory / "certs")
        self.ports = {name: free_port() for name in ("plaintext", "ssl", "sasl_ssl", "wrong_host", "controller")}
        self.users = _new_users()
        (self.directory / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        properties = self.directory / "server.properties"
        properties.write_text(self._server_properties(certs))
        properties.chmod(0o600)
        scram = []
        for mechanism in SCRAM_MECHANISMS:
            user = self.users[mechanism]
            scram += ["--add-scram", f"{mechanism}=[name={user.username},password={user.password}]"]
        # The id as one token: a base64url id may begin with "-", which argparse would take for an option.
        storage = self._java(java, libs, "kafka.tools.StorageTool", "format", f"--cluster-id={_cluster_id()}")
        result = subprocess.run([*storage, "--config", str(properties), *scram], capture_output=True, text=True)
        if result.returncode != 0:
            raise KafkaSetupError(f"kafka-storage format failed:\n{_hide(result.stdout + result.stderr, self)}")
        state = {"ports": self.ports, "users": {m: [u.username, u.password] for m, u in self.users.items()}}
        self._state_file.write_text(json.dumps(state))
        self._state_file.chmod(0o600)

    def _java(self, java: str, libs: Path, *args: str) -> list[str]:
        """``java`` with the small JVM's options, the log configuration and Kafka's jars, running ``args``."""
        log4j = f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}"
        return [java, *JVM_OPTIONS, log4j, "-cp", f"{libs}/*", *args]

    def _load(self, state: dict[str, Any]) -> None:
        self.ports = {name: int(port) for name, port in state["ports"].items()}
        self.users = {m: User(*pair) for m, pair in state["users"].items()}

    def _server_properties(self, certs: dict[str, Path]) -> str:
        p = self.ports
        jaas_users = " ".join(f'user_{u.username}="{u.password}"' for m, u in self.users.items() if m == "PLAIN")
        # PLAINTEXT, SSL, SASL_SSL and WRONG_HOST, each named after its port's key
        advertised = ",".join(f"{name.upper()}://127.0.0.1:{port}" for name, port in p.items() if name != "controller")
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{p['controller']}",
            "controller.listener.names": "CONTROLLER",
            "listeners": f"{advertised},CONTROLLER://127.0.0.1:{p['controller']}",
            "advertised.listeners": advertised,
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,"
            "WRONG_HOST:SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.directory / "data"),
            # TLS: PEM key stores (no keytool, no JKS); clients are not asked for certificates
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs["broker"]),
            "listener.name.wrong_host.ssl.keystore.type": "PEM",
            "listener.name.wrong_host.ssl.keystore.location": str(certs["wrong_host"]),
            "ssl.client.auth": "none",
            # SASL on the SASL_SSL listener: PLAIN users in JAAS, SCRAM users in the metadata log
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "listener.name.sasl_ssl.plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {jaas_users};"
            ),
            **{
                f"listener.name.sasl_ssl.{m.lower()}.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                )
                for m in SCRAM_MECHANISMS
            },
            # one node: every internal topic with one replica and one partition
            "num.partitions": "1",
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            # few threads and small buffers: a test broker on a shared machine
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "log.cleaner.threads": "1",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            # a restart after SIGKILL waits out the dead incarnation's session: keep that short
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
        }
        return "".join(f"{key}={value}\n" for key, value in lines.items())


class _ProduceProbe:
    """Ready means a message was produced and acknowledged (acks=all), not an open port."""

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        from confluent_kafka import Producer

        self.reason = "no acknowledgement"
        self._delivered: list[Any] = []
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": int(timeout_s * 1000),
                "reconnect.backoff.ms": 50,
                "reconnect.backoff.max.ms": 200,
                "log.connection.close": False,
                "logger": _Discard(),
            }
        )
        self._producer.produce(READY_TOPIC, b"ready", on_delivery=lambda error, _m: self._delivered.append(error))

    def acknowledged(self) -> bool:
        self._producer.poll(0.1)
        if self._delivered and self._delivered[0] is not None:
            self.reason = str(self._delivered[0])
        return bool(self._delivered) and self._delivered[0] is None

    def close(self) -> None:
        self._producer.purge()
        self._producer.flush(1)


class _Discard:
    """A librdkafka logger for the readiness probe, whose refused connections are expected."""

    def log(self, *_args: Any) -> None:
        pass


def _hide(text: str, kafka: ApacheKafka) -> str:
    for user in kafka.users.values():
        text = text.replace(user.password, "***")
    return text


@contextmanager
def running_kafka(directory: Path) -> Iterator[ApacheKafka]:
    """A started broker for a ``with`` block (a test session's, or a benchmark's)."""
    kafka = ApacheKafka(directory)
    try:
        yield kafka.start()
    finally:
        kafka.stop()


# -- the command line ---------------------------------------------------------------------------


def describe(info: dict[str, Any], info_file: Path) -> str:
    users = "\n".join(
        f"    {mechanism:<14} username {user['username']}  password {user['password']}"
        for mechanism, user in info["users"].items()
    )
    return (
        f"Apache Kafka {KAFKA_VERSION} is running (pid {info['pid']}), one KRaft node on loopback:\n"
        f"  PLAINTEXT  {info['plaintext']}\n"
        f"  SSL        {info['ssl']}   (server certificate signed by the CA in {info['ca_file']})\n"
        f"  SASL_SSL   {info['sasl_ssl']}   (the same certificate; PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)\n"
        f"  users, by SASL mechanism:\n{users}\n"
        f"Written to {info_file}; `make kafka-stop` stops it."
    )


def _start(run_dir: Path) -> int:
    run_file = RunFile(run_dir / "kafka.json", "Apache Kafka")
    info = run_file.running()
    if info is not None:
        print(describe(info, run_file.path))
        return 0
    directory = run_dir / "kafka"
    shutil.rmtree(directory, ignore_errors=True)  # a fresh CA, fresh users and empty data each time
    kafka = ApacheKafka(directory)
    try:
        kafka.start(detached=True)
    except KafkaSetupError as error:
        print(f"make kafka: {error}", file=sys.stderr)
        return 1
    run_file.write(kafka.info)
    print(describe(kafka.info, run_file.path))
    print(f"(started in {kafka.start_seconds:.1f} s; log {kafka.log_path})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("start", "stop", "fetch"))
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="where kafka.json and the broker's files go")
    args = parser.parse_args(argv)
    if args.command == "start":
        args.run_dir.mkdir(parents=True, exist_ok=True)
        return _start(args.run_dir.resolve())
    if args.command == "stop":
        return RunFile(args.run_dir.resolve() / "kafka.json", "Apache Kafka").stop(grace_s=30)
    try:
        print(fetch())
    except KafkaSetupError as error:
        print(f"make kafka: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
