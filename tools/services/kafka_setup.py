"""What `tools/services/kafka.py` runs: Apache Kafka's jars fetched once with mvn, a Java 17+ to run
them with, and a throwaway CA with the broker's PEM key stores (trustme)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.24.3"  # what kafka_2.13 4.1.1 itself depends on; the slf4j binding must match it
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
MIN_JAVA = 17
WRONG_HOST = "wrong-host.invalid"


class KafkaSetupError(RuntimeError):
    """What is missing to run Apache Kafka here, or why it did not start."""


# -- the distribution ---------------------------------------------------------------------------


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kafka-producers" / f"kafka-{KAFKA_VERSION}"


def _pom() -> str:
    dependencies = [
        ("org.apache.kafka", f"kafka_{SCALA_VERSION}", KAFKA_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ]
    listed = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in dependencies
    )
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-producers</groupId>
  <artifactId>apache-kafka-runtime</artifactId>
  <version>{KAFKA_VERSION}</version>
  <dependencies>
{listed}
  </dependencies>
</project>
"""


def fetch() -> Path:
    """The directory of Kafka's jars, downloaded with mvn the first time; safe to call at once
    from several processes (the first downloads, the others wait and reuse)."""
    home = cache_dir()
    libs = home / "libs"
    stamp = home / ".complete"
    if stamp.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaSetupError(
            "`mvn` (Apache Maven) is needed to fetch Apache Kafka from Maven Central and is not on PATH: "
            "install Maven 3 (Debian/Ubuntu: apt-get install maven; macOS: brew install maven)"
        )
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return libs
        (home / "pom.xml").write_text(_pom())
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        print(f"fetching Apache Kafka {KAFKA_VERSION} with mvn into {home} (once)", file=sys.stderr)
        pom = str(home / "pom.xml")
        command = [mvn, "--batch-mode", "--quiet", "-f", pom, f"{DEPENDENCY_PLUGIN}:copy-dependencies"]
        command += [f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise KafkaSetupError(f"mvn could not fetch Apache Kafka {KAFKA_VERSION}:\n{result.stdout[-3000:]}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        stamp.write_text(f"kafka_{SCALA_VERSION} {KAFKA_VERSION}\n")
    return libs


def java_binary() -> str:
    """A ``java`` of version 17 or later: $JAVA_HOME's, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise KafkaSetupError(
            f"`java` is needed to run Apache Kafka and was not found: install a JDK or JRE {MIN_JAVA}+ "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    output = subprocess.run([candidate, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_..." is Java 8
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise KafkaSetupError(f"Apache Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, but {candidate} is {output!r}")
    return candidate


# -- certificates -------------------------------------------------------------------------------


def _write_pem_keystore(path: Path, cert: Any) -> None:
    """Key (PKCS#8, which Kafka's PEM key store reads) and chain in one file."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pkcs8 + b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    path.chmod(0o600)


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throwaway CA, the broker's certificate for localhost and 127.0.0.1, one for another
    host name (signed by the same CA), and a second CA that signed neither."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="kafka-producers test CA")
    paths = {
        "ca": directory / "ca.pem",
        "broker": directory / "broker.pem",
        "wrong_host": directory / "wrong-host.pem",
        "other_ca": directory / "other-ca.pem",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    _write_pem_keystore(paths["broker"], ca.issue_cert("localhost", "127.0.0.1"))
    _write_pem_keystore(paths["wrong_host"], ca.issue_cert(WRONG_HOST))
    trustme.CA(organization_name="an unrelated CA").cert_pem.write_to_path(str(paths["other_ca"]))
    return paths
