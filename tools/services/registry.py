"""A real schema registry on loopback: Apicurio Registry (in-memory storage), whose Confluent-compatible
API is at /apis/ccompat/v7, from Maven Central; and the registration of schemas/ in any such registry.

    python -m tools.services.registry install               # the runnable assembly into the cache (once)
    python -m tools.services.registry start [--port N]      # background; writes .run/registry.json
    python -m tools.services.registry stop | status
    python -m tools.services.registry register [--format avro|json_schema] [--url URL] [--topic TYPE=TOPIC ...]
        (URL: --url, else $SCHEMA_REGISTRY_URL, else the running `make registry`; basic auth from
        $SCHEMA_REGISTRY_USERNAME and $SCHEMA_REGISTRY_PASSWORD when set)

The assembly (a Quarkus fast-jar, ``io.apicurio:apicurio-registry-app:<version>:tar.gz:all``) is
fetched with ``mvn dependency:copy`` into ~/.cache/kafka-producers/ (or $KAFKA_PRODUCERS_CACHE) and
reused. It needs Java 21 or later: $JAVA_HOME, ``java`` on the PATH or a JDK under /usr/lib/jvm.
As a library, ``EmbeddedRegistry`` runs one on a free port for a test session.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from tools.services import schema_catalog as catalog
from tools.services.supervisor import RunFile, Service, ServiceError, Supervised, free_port

VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
MIN_JAVA = 21
CCOMPAT = "/apis/ccompat/v7"
CLIENT_TIMEOUT_S = 2  # per request, on loopback; the client retries a timed-out request (max.retries, 3 by default)
RUN_DIR = catalog.ROOT / ".run"
RUN_FILE = RunFile(RUN_DIR / "registry.json", "registry", "registry")
LOG_FILE = RUN_DIR / "registry.log"
START_TIMEOUT_S = 180.0  # a cold JVM on a busy 2-core machine


class RegistryError(RuntimeError):
    """The registry could not be installed, started or asked."""


def cache_dir() -> Path:
    base = os.environ.get("KAFKA_PRODUCERS_CACHE") or Path.home() / ".cache" / "kafka-producers"
    return Path(base) / f"apicurio-registry-{VERSION}"


def install() -> Path:
    """The unpacked assembly, fetched from Maven Central on a cache miss only."""
    home = cache_dir()
    if (home / "quarkus-run.jar").exists():
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RegistryError("Maven (mvn) is needed once to fetch Apicurio Registry; install it or fill the cache")
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent) as scratch:
        command = [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={scratch}"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = list(Path(scratch).glob("*.tar.gz"))
        if result.returncode != 0 or not archives:
            raise RegistryError(f"mvn could not fetch {ARTIFACT}:\n{(result.stdout + result.stderr)[-2000:]}")
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(archives[0]) as archive:
            archive.extractall(unpacked, filter="data")
        if not (unpacked / "quarkus-run.jar").exists():
            raise RegistryError(f"{ARTIFACT} has no quarkus-run.jar at its top")
        unpacked.rename(home)  # whole or not at all: a failed fetch leaves no half-filled cache
    return home


def java_binary() -> str:
    """A java of at least version 21, which Apicurio Registry 3 is compiled for."""
    candidates = [os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "java"), shutil.which("java") or ""]
    candidates += sorted((str(p) for p in Path("/usr/lib/jvm").glob("*/bin/java")), reverse=True)
    seen = []
    for candidate in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        version = _java_major(candidate)
        seen.append(f"{candidate} ({version})")
        if version >= MIN_JAVA:
            return candidate
    raise RegistryError(f"Apicurio Registry {VERSION} needs Java {MIN_JAVA}+; found {seen or 'no java'}")


def _java_major(java: str) -> int:
    try:
        output = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def registry_command(port: int) -> list[str]:
    return [
        java_binary(),
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",  # quicker to start; the tests' load is light
        "-Dquarkus.http.host=127.0.0.1",
        f"-Dquarkus.http.port={port}",
        # Quarkus's management interface (health, metrics) took port 9000 on every interface: a second
        # registry on the machine (another checkout's, a concurrent run's) failed to start. A free
        # loopback port of its own instead.
        "-Dquarkus.management.host=127.0.0.1",
        f"-Dquarkus.management.port={free_port()}",
        "-Dquarkus.log.level=WARN",
        "-Dquarkus.log.category.io.apicurio.level=INFO",
        "-jar",
        str(install() / "quarkus-run.jar"),
    ]


def answers(url: str) -> bool:
    """Ready means the Confluent-compatible API answered a listing of subjects."""
    with urllib.request.urlopen(f"{url}/subjects", timeout=2.0) as response:
        return isinstance(json.loads(response.read()), list)


class EmbeddedRegistry(Supervised):
    """Apicurio Registry on a free loopback port for the length of a ``with`` block."""

    service: Service  # made with the object, started by start()

    def __init__(self, port: int | None = None, log_path: Path | None = None, *, detached: bool = False) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}{CCOMPAT}"
        self.log_path = log_path
        command = registry_command(self.port)
        self.service = Service("the schema registry", command, log_path, detached=detached, grace_s=15)

    def start(self) -> EmbeddedRegistry:
        self.service.cwd = install()
        self.service.start(lambda: answers(self.url), START_TIMEOUT_S)
        return self


def registry_client(url: str) -> Any:
    """A registry client with a bounded time per request (the client's default is none: a request
    the server leaves unanswered would hang the caller), credentials from SCHEMA_REGISTRY_USERNAME
    and SCHEMA_REGISTRY_PASSWORD when both are set."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    conf: dict[str, Any] = {"url": url, "timeout": CLIENT_TIMEOUT_S}
    user, password = os.environ.get("SCHEMA_REGISTRY_USERNAME"), os.environ.get("SCHEMA_REGISTRY_PASSWORD")
    if user and password:  # a Confluent Cloud API key and secret, say
        conf["basic.auth.user.info"] = f"{user}:{password}"
    return SchemaRegistryClient(conf)


def register(
    url: str, value_format: str, topics: dict[str, str] | None = None, client: Any = None
) -> list[tuple[str, int, int]]:
    """Each type's versions in schemas/ under ``<topic>-value``, oldest first, after setting the
    subject's compatibility level (FULL for Avro, BACKWARD for JSON Schema): the registry refuses a
    version that breaks the one before. Returns (subject, version, schema id) for each."""
    from confluent_kafka.schema_registry import Schema

    if client is None:
        client = registry_client(url)
    done = []
    for name, topic in (topics or catalog.DEFAULT_TOPICS).items():
        subject = f"{topic}-value"
        client.set_compatibility(subject, catalog.COMPATIBILITY[value_format])
        for version in catalog.versions(name):
            schema = Schema(catalog.text(name, version, value_format), catalog.SCHEMA_TYPES[value_format])
            schema_id = client.register_schema(subject, schema)
            done.append((subject, client.lookup_schema(subject, schema).version, schema_id))
    return done


def _start(port: int | None) -> int:
    refused = RUN_FILE.reuse(port, "url", "REGISTRY_PORT")
    if refused is not None:
        return refused
    port = port or free_port()
    try:
        registry = EmbeddedRegistry(port, LOG_FILE, detached=True).start()
    except ServiceError as error:
        print(error, file=sys.stderr)
        return 1
    url, pid = registry.url, registry.service.pid
    RUN_FILE.write({"pid": pid, "port": port, "url": url, "log": str(LOG_FILE)})
    print(f"registry at {url} (pid {pid}, log {LOG_FILE}); SCHEMA_REGISTRY_URL={url}", file=sys.stderr)
    return 0


def _registry_url(given: str | None) -> str:
    url = given or os.environ.get("SCHEMA_REGISTRY_URL")
    if url:
        return url.rstrip("/")
    state = RUN_FILE.running()
    if state is not None:
        return str(state["url"])
    raise RegistryError("no registry: set SCHEMA_REGISTRY_URL or start one with `make registry`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install")
    start = commands.add_parser("start")
    start.add_argument("--port", type=int, default=int(os.environ.get("REGISTRY_PORT") or 0) or None)
    commands.add_parser("stop")
    commands.add_parser("status")
    reg = commands.add_parser("register")
    reg.add_argument("--format", choices=sorted(catalog.COMPATIBILITY), default=None)
    reg.add_argument("--url", default=None)
    reg.add_argument("--topic", action="append", default=[], metavar="TYPE=TOPIC")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            print(install())
            return 0
        if args.command == "start":
            return _start(args.port)
        if args.command == "stop":
            return RUN_FILE.stop(grace_s=15)
        if args.command == "status":
            state = RUN_FILE.running()
            print(json.dumps({"running": state is not None, **(state or {})}))
            return 0 if state else 1
        value_format = args.format or os.environ.get("KAFKA_VALUE_FORMAT") or "avro"
        if value_format not in catalog.COMPATIBILITY:
            value_format = "avro"  # json, the default, has no registry form
        topics = dict(catalog.DEFAULT_TOPICS)
        topics.update(dict(pair.split("=", 1) for pair in args.topic))
        for subject, version, schema_id in register(_registry_url(args.url), value_format, topics):
            print(f"{subject}: version {version}, schema id {schema_id} ({value_format})")
        return 0
    except RegistryError as error:
        print(error, file=sys.stderr)
        return 1
    except Exception as error:  # the registry's refusal (an incompatible version, say) is the message
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
