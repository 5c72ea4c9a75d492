"""`sam build` for real: the layers hold what Lambda's python3.12 will import, and nothing from the host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.bench import LAYER_LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAX_LAYER_BYTES = 60 * 1024 * 1024
LAYER_IMPORTS = [
    *LAYER_LIBRARIES,
    "producer_common",
    "producer_common.backends.confluent",
    "producer_common.backends.kafka_python",
    "producer_common.observability",
]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(BIN / "sam"), "build", "--build-dir", str(out), "--template-file", "template.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield out


def tree_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def python312() -> str | None:
    candidates = [shutil.which("python3.12"), *map(str, Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYENV_VERSION": Path(candidate).parents[1].name},
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return candidate
    return None


def test_the_dependency_layer_is_small_and_built_for_lambda(build_dir: Path) -> None:
    layer = build_dir / "KafkaDepsLayer" / "python"
    assert tree_bytes(layer) <= MAX_LAYER_BYTES, f"{tree_bytes(layer) / 2**20:.1f} MB"
    assert list(layer.glob("confluent_kafka/cimpl.cpython-312-x86_64-linux-gnu.so"))
    assert not (layer / "botocore").exists(), "boto3/botocore come with the Lambda runtime"


def test_no_bytecode_from_the_build_host(build_dir: Path) -> None:
    assert not list(build_dir.rglob("*.pyc"))


def test_functions_ship_only_their_code(build_dir: Path) -> None:
    for function, module in (
        ("RssProducerFunction", "rss_run.py"),
        ("PolymarketProducerFunction", "polymarket_run.py"),
    ):
        names = {path.name for path in (build_dir / function).iterdir()}
        assert {"app.py", module} <= names and "Makefile" not in names


def test_layers_import_under_python312(build_dir: Path, tmp_path: Path) -> None:
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no python3.12 interpreter on this machine")
    # Lambda's python3.12 runtime provides boto3; put the pinned one where the runtime would.
    runtime = tmp_path / "runtime"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(runtime),
            "--platform",
            "manylinux2014_x86_64",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "boto3==1.43.108",
            "botocore==1.43.108",
            "s3transfer",
            "jmespath",
        ],
        check=True,
        capture_output=True,
    )
    path = [
        build_dir / "RssProducerFunction",
        build_dir / "KafkaDepsLayer" / "python",
        build_dir / "CommonLayer" / "python",
        runtime,
    ]
    code = (
        f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; "
        f"import importlib; [importlib.import_module(m) for m in {LAYER_IMPORTS!r}]; "
        "import confluent_kafka; print(confluent_kafka.libversion()[0])"
    )
    done = subprocess.run(
        [interpreter, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        env={"PYENV_VERSION": Path(interpreter).parents[1].name, "PATH": os.environ["PATH"]},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().startswith("2.")
