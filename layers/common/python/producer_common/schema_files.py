"""The message schemas (schemas/ in the repository, producer_common/schemas/ in the built layer).

A message names its schema in its ``schema`` header as ``<type>/<version>``; the files are
``<type>.v<version>.avsc`` (Avro) and ``<type>.v<version>.json`` (JSON Schema).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import constants as c

_REF = re.compile(r"^([a-z][a-z0-9_]*)/([1-9][0-9]*)$")
_EXTENSIONS = {c.FORMAT_AVRO: "avsc", c.FORMAT_JSON_SCHEMA: "json"}


def schema_dir() -> Path:
    """The layer's copy when built (``make build``), else the repository's ``schemas/``."""
    packaged = Path(__file__).resolve().parent / "schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[4] / "schemas"


def parse_ref(ref: str) -> tuple[str, int]:
    """``rss_item/1`` -> ``("rss_item", 1)``; ValueError for anything else."""
    match = _REF.match(ref)
    if match is None:
        raise ValueError(f"not a schema reference <type>/<version>: {ref!r}")
    return match.group(1), int(match.group(2))


def schema_path(ref: str, value_format: str, directory: Path | None = None) -> Path:
    name, version = parse_ref(ref)
    return (directory or schema_dir()) / f"{name}.v{version}.{_EXTENSIONS[value_format]}"


@functools.cache
def schema_text(ref: str, value_format: str) -> str:
    """The schema file's text, exactly: the registry matches what it holds against it."""
    path = schema_path(ref, value_format)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise ValueError(f"no {value_format} schema for {ref} (looked for {path})") from None
