"""arm64, the template's default Architecture: the dependency layers build for manylinux2014_aarch64
(their Makefiles with LAMBDA_ARCHITECTURE=arm64, as `sam build` runs them), and every compiled file
in them is AArch64 machine code, read from its ELF header, not from its name. This machine cannot
run aarch64 code (no aarch64 CPU or emulator), so importing them is left to Lambda; the x86_64
build's import checks (test_build.py) cover the same libraries' Python side."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LAYER_BYTES = 45 * 1024 * 1024  # as for the x86_64 build (test_build.py)
LAYERS = {"KafkaDepsLayer": "kafka_deps", "SchemaRegistryLayer": "schema_registry", "RssFetchLayer": "rss_fetch"}
# e_machine in an ELF header (the System V ABI's list): what each architecture's code says it is
EM_X86_64, EM_AARCH64 = 62, 183


def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of a file, or None when it is not an ELF file."""
    with open(path, "rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byte_order = "<" if header[5] == 1 else ">"  # EI_DATA: 1 little-endian, 2 big-endian
    machine: int = struct.unpack(byte_order + "H", header[18:20])[0]
    return machine


@pytest.fixture(scope="module")
def arm64_layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("arm64-layers")
    built = {}
    for layer, folder in LAYERS.items():
        done = subprocess.run(
            ["make", "--no-print-directory", f"build-{layer}", f"ARTIFACTS_DIR={out / layer}"],
            cwd=ROOT / "layers" / folder,
            env={**os.environ, "LAMBDA_ARCHITECTURE": "arm64"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        built[layer] = out / layer / "python"
    return built


@pytest.mark.parametrize("layer", LAYERS)
def test_every_compiled_file_of_the_arm64_layers_is_aarch64(arm64_layers: dict[str, Path], layer: str) -> None:
    # Given a layer built for arm64
    root = arm64_layers[layer]
    # When every file's ELF header is read
    machines = {path: elf_machine(path) for path in root.rglob("*") if path.is_file() and not path.is_symlink()}
    compiled = {path.relative_to(root): machine for path, machine in machines.items() if machine is not None}
    # Then there is compiled code (the libraries' extensions and vendored libraries), all of it AArch64
    assert len(compiled) >= 3, compiled
    assert {str(path): machine for path, machine in compiled.items() if machine != EM_AARCH64} == {}
    # and every wheel installed is for aarch64 or for any platform
    for wheel in root.glob("*.dist-info/WHEEL"):
        tags = [line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
        assert tags and all(tag.endswith(("aarch64", "-any")) for tag in tags), (wheel.parent.name, tags)
    size = sum(path.stat().st_size for path in machines)
    assert size <= MAX_LAYER_BYTES, f"{size / 2**20:.1f} MiB"


def test_the_kafka_client_is_built_for_aarch64(arm64_layers: dict[str, Path]) -> None:
    layer = arm64_layers["KafkaDepsLayer"]
    for extension in ("confluent_kafka/cimpl", "feedparser_rs/_feedparser_rs"):
        (found,) = layer.glob(f"{extension}*.so")
        assert found.name.endswith("-aarch64-linux-gnu.so") and elf_machine(found) == EM_AARCH64
    (librdkafka,) = layer.glob("confluent_kafka.libs/librdkafka*.so*")
    assert elf_machine(librdkafka) == EM_AARCH64
