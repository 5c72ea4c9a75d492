"""What schemas/ holds: the message types, their versions, the released copies the gate compares with.

    schemas/<type>.v<N>.avsc / .json           what the code writes (the highest N) and earlier versions
    schemas/released/<type>.v<N>.avsc / .json   each version as it was released; never edited

The compatibility gate (tests/schemas, tests/integration/test_registry_gate.py) holds every type's
latest version compatible with its latest released one: FULL for Avro, BACKWARD for JSON Schema with
its closed content model. In both, a new optional field passes; a removed or retyped field fails.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
RELEASED = SCHEMAS / "released"
EXTENSIONS = {"avro": "avsc", "json_schema": "json"}
SCHEMA_TYPES = {"avro": "AVRO", "json_schema": "JSON"}
# Registry compatibility level per format, set on each subject by `make register-schemas`.
COMPATIBILITY = {"avro": "FULL", "json_schema": "BACKWARD"}
# The topics each type is written to by default (template.yaml's RssTopic and PolymarketTopic).
DEFAULT_TOPICS = {"rss_item": "rss.items", "polymarket_price": "polymarket.prices"}

_FILE = re.compile(r"^([a-z][a-z0-9_]*)\.v([1-9][0-9]*)\.(avsc|json)$")


def versions(name: str, directory: Path = SCHEMAS) -> list[int]:
    """Versions of ``name`` with both forms in ``directory``, ascending."""
    found: dict[int, set[str]] = {}
    for path in directory.iterdir():
        match = _FILE.match(path.name)
        if match and match.group(1) == name:
            found.setdefault(int(match.group(2)), set()).add(match.group(3))
    return sorted(version for version, kinds in found.items() if kinds == {"avsc", "json"})


def types(directory: Path = SCHEMAS) -> list[str]:
    return sorted({m.group(1) for path in directory.iterdir() if (m := _FILE.match(path.name))})


def path(name: str, version: int, value_format: str, directory: Path = SCHEMAS) -> Path:
    return directory / f"{name}.v{version}.{EXTENSIONS[value_format]}"


def text(name: str, version: int, value_format: str, directory: Path = SCHEMAS) -> str:
    return path(name, version, value_format, directory).read_text(encoding="utf-8")


def latest(name: str, directory: Path = SCHEMAS) -> int:
    found = versions(name, directory)
    if not found:
        raise FileNotFoundError(f"no version of {name} in {directory}")
    return found[-1]
