"""`sam build` for real: the layers hold what Lambda's python3.12 will import, and nothing from the host."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lambda_build import HOST_ARCHITECTURE, HOST_MACHINE
from lambda_build.bytecode import python312
from lambda_build.layer import FUNCTION_LAYERS, LIBRARIES, RSS_FETCH_LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SAM = BIN / "sam"
MAX_LAYER_BYTES = 45 * 1024 * 1024  # issue 6: the built layer at most 45 MB unzipped (Lambda allows 250 MB in all)
COMMON_MODULES = [
    "producer_common",
    "producer_common.backends.confluent",
    "producer_common.backends.kafka_python",
    "producer_common.observability",
]
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer"]
# Made-up credentials, and no profile or instance metadata to look up instead.
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# This session's build is for the machine it runs on, so that python3.12 here can import the layers;
# test_arm64_layers.py builds them for aarch64 and reads their machine code's architecture.
FUNCTIONS = {"RssProducerFunction": "rss_run.py", "PolymarketProducerFunction": "polymarket_run.py"}
# The registry client's libraries: in SchemaRegistryLayer only, never in the default layer.
REGISTRY_LIBRARIES = ["fastavro", "jsonschema", "httpx2", "authlib", "cryptography", "cachetools", "attrs"]
REGISTRY_CHECK = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from producer_common import registry, schema_files
from producer_common.schema_files import schema_text
import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.json_schema, fastavro, jsonschema
print(json.dumps({"registry": registry.__file__, "fastavro": fastavro.__file__, "jsonschema": jsonschema.__file__,
                  "schemas": str(schema_files.schema_dir()), "avsc": len(schema_text("rss_item/1", "avro"))}))
"""

# Runs under python3.12 -I -S -B: the paths given are the whole of sys.path beyond the standard library,
# and the build dir gets no bytecode.
# Runs under python3.12: each .py's cached .pyc has 3.12's magic, the unchecked-hash flag, and the
# hash of that source; no .pyc lacks its source or is for another Python.
BYTECODE_CHECK = """
import importlib.util, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
sources, valid, problems = 0, 0, []
for source in root.rglob("*.py"):
    sources += 1
    cached = pathlib.Path(importlib.util.cache_from_source(source))
    header = cached.read_bytes()[:16] if cached.is_file() else b""
    expected = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + importlib.util.source_hash(source.read_bytes())
    if header == expected:
        valid += 1
    else:
        problems.append(str(source))
for cached in root.rglob("*.pyc"):
    if not cached.name.endswith(sys.implementation.cache_tag + ".pyc"):
        problems.append(str(cached))
print(json.dumps({"sources": sources, "valid": valid, "problems": problems}))
"""
IMPORT_CHECK = """
import importlib, json, sys
paths, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.path[:0] = paths
found = {name: importlib.import_module(name).__file__ for name in modules}
import confluent_kafka
found["librdkafka"] = confluent_kafka.libversion()[0]
print(json.dumps(found))
"""

# The MSK IAM token is a presigned URL: signing needs credentials but no network.
MSK_TOKEN_CHECK = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import boto3, urllib3
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
token, expiry_ms = MSKAuthTokenProvider.generate_auth_token("us-east-1")
boto3.client("dynamodb", region_name="us-east-1")
print(json.dumps({"token": bool(token), "expiry_ms": expiry_ms, "urllib3": urllib3.__file__}))
"""


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One `sam build` per session, in a directory made for this run: no build of an earlier run (nor its
    cache) can stand in for this one."""
    build_root = tmp_path_factory.mktemp("sam-build")
    out = build_root / "build"
    done = subprocess.run(
        [
            *(str(SAM), "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(out)),
            *("--cached", "--cache-dir", str(build_root / "cache"), "--parallel"),
            *("--parameter-overrides", f"Architecture={HOST_ARCHITECTURE}"),
        ],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "LAMBDA_ARCHITECTURE": HOST_ARCHITECTURE},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield out


def tree_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


Isolated = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def isolated() -> Isolated:
    """Runs a script with its arguments under the python3.12 the build compiled with, isolated (-I -S -B: no
    site-packages, no PYTHON* variables) in an environment with nothing from this one but PATH and `env`."""
    found = python312()
    if found is None:
        pytest.skip("no python3.12 interpreter here (see lambda_build/bytecode.py)")

    def run(script: str, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environ = {"PATH": os.environ.get("PATH", ""), **(env or {})}
        command = [found, "-I", "-S", "-B", "-c", script, *arguments]
        return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=120)

    return run


def layer_paths(build_dir: Path) -> list[str]:
    """sys.path in Lambda, less the runtime's site-packages: the RSS function's code, then its layers' /opt/python."""
    layers = FUNCTION_LAYERS["RssProducerFunction"]
    return [str(build_dir / "RssProducerFunction"), *(str(build_dir / layer / "python") for layer in layers)]


def test_the_dependency_layer_is_small_and_built_for_lambda(build_dir: Path) -> None:
    layer = build_dir / "KafkaDepsLayer" / "python"
    # Given the built layer, Then it fits with room to spare
    assert tree_bytes(layer) <= MAX_LAYER_BYTES, f"{tree_bytes(layer) / 2**20:.1f} MiB"
    # and its compiled parts are for CPython 3.12 on manylinux for the architecture asked, whatever built them
    assert (layer / "confluent_kafka" / f"cimpl.cpython-312-{HOST_MACHINE}-linux-gnu.so").is_file()
    wheel = next(layer.glob("confluent_kafka-*.dist-info")) / "WHEEL"
    tags = [line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
    assert tags and all(tag.startswith("cp312-cp312-manylinux") and tag.endswith(HOST_MACHINE) for tag in tags), tags
    # and it leaves out what the runtime ships
    for name in RUNTIME_PROVIDED:
        assert not (layer / name).exists() and not list(layer.glob(f"{name}-*.dist-info")), name


def test_the_fetch_layer_is_pycurl_alone_and_built_for_lambda(build_dir: Path) -> None:
    # Given the RSS function's own layer, Then it holds pycurl with the libraries its wheel vendors, nothing
    # KafkaDepsLayer holds (certifi, whose CA bundle libcurl is given, comes from there), within the size
    layer, shared = build_dir / "RssFetchLayer" / "python", build_dir / "KafkaDepsLayer" / "python"
    assert {path.name.split("-")[0] for path in layer.iterdir()} == {"pycurl", "pycurl.libs", "curl"}
    assert not {path.name for path in layer.iterdir()} & {path.name for path in shared.iterdir()}
    assert tree_bytes(layer) <= MAX_LAYER_BYTES, f"{tree_bytes(layer) / 2**20:.1f} MiB"
    assert (layer / "pycurl" / f"_pycurl.cpython-312-{HOST_MACHINE}-linux-gnu.so").is_file()


def test_every_module_ships_python312_bytecode_of_its_own_source(build_dir: Path, isolated: Isolated) -> None:
    # Given the build, When python3.12 checks each .pyc against the source beside it
    done = isolated(BYTECODE_CHECK, str(build_dir))
    # Then every module has one, for 3.12, unchecked (read-only /opt and /var/task), of that very source
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout)
    assert counts["sources"] > 500 and counts["sources"] == counts["valid"], counts
    assert not counts["problems"], counts["problems"][:10]


def test_functions_ship_only_their_code(build_dir: Path) -> None:
    for function, module in FUNCTIONS.items():
        shipped = list((build_dir / function).iterdir())
        assert {"app.py", module} <= {path.name for path in shipped}
        code = [path for path in shipped if path.name != "__pycache__"]
        assert all(path.is_file() and path.suffix == ".py" for path in code), shipped


def test_the_common_layer_is_the_package_as_lambda_sees_it(build_dir: Path) -> None:
    source = ROOT / "layers" / "common" / "python" / "producer_common"
    built = build_dir / "CommonLayer" / "python" / "producer_common"
    expected = {p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    assert expected and {p.relative_to(built) for p in built.rglob("*.py")} == expected


def test_the_layers_import_under_python312_with_nothing_from_the_host(build_dir: Path, isolated: Isolated) -> None:
    # Given only the built code and layers on the path
    paths = layer_paths(build_dir)
    modules = [*LIBRARIES, *RSS_FETCH_LIBRARIES, *COMMON_MODULES]
    # When every library and the shared package are imported
    done = isolated(IMPORT_CHECK, json.dumps(paths), json.dumps(modules))
    # Then each came from a layer, and librdkafka loaded
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    for name in modules:
        assert any(found[name].startswith(path) for path in paths[1:]), (name, found[name])
    assert found["librdkafka"].startswith("2.")


def test_the_msk_iam_signer_works_with_the_runtimes_boto3(build_dir: Path, isolated: Isolated, tmp_path: Path) -> None:
    # Given the layers, and the host's boto3, botocore and s3transfer (pure Python) standing in for the
    # copies Lambda's runtime provides, after the layers on the path as in Lambda
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec and spec.submodule_search_locations, name
        (runtime / name).symlink_to(spec.submodule_search_locations[0], target_is_directory=True)
    paths = [*layer_paths(build_dir), str(runtime)]
    # When an MSK IAM token is signed and a client is built, offline
    done = isolated(MSK_TOKEN_CHECK, json.dumps(paths), env=OFFLINE_AWS)
    # Then both work with the layer's urllib3 in place of the runtime's
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["token"] and result["expiry_ms"] > 0
    assert result["urllib3"].startswith(paths[1])


def test_the_schema_registry_layer_holds_the_registry_client_and_the_default_layer_does_not(
    build_dir: Path, isolated: Isolated
) -> None:
    # Given the three layers as Lambda stacks them when SchemaRegistryUrl is set
    default, registry = build_dir / "KafkaDepsLayer" / "python", build_dir / "SchemaRegistryLayer" / "python"
    paths = [*layer_paths(build_dir), str(registry)]
    # Then the default layer has none of the registry's libraries, and the two layers share no package
    for name in REGISTRY_LIBRARIES:
        assert not (default / name).exists() and (registry / name).is_dir(), name
    assert not {p.name for p in default.iterdir()} & {p.name for p in registry.iterdir()}
    # and with all three, the registry formats import under python3.12 and find the schemas in the common layer
    done = isolated(REGISTRY_CHECK, json.dumps(paths))
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["fastavro"].startswith(str(registry)) and found["jsonschema"].startswith(str(registry))
    assert found["schemas"] == str(build_dir / "CommonLayer" / "python" / "producer_common" / "schemas")
    assert found["avsc"] > 0
    built = {p.name for p in Path(found["schemas"]).iterdir()}
    assert built == {p.name for p in (ROOT / "schemas").iterdir() if p.is_file()}
