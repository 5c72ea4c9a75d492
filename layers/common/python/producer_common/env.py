"""Typed readers over an environment mapping; each error names the variable.

Every function's settings object is built with these, so "missing", "not a
number" and "not one of" read the same everywhere. An empty string counts as
unset: CloudFormation cannot omit a variable, only leave it blank.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from .exceptions import ConfigurationError

N = TypeVar("N", int, float)


def optional_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value if value else default


def required_str(env: Mapping[str, str], name: str) -> str:
    value = optional_str(env, name)
    if value is None:
        raise ConfigurationError(name, "is required but not set")
    return value


def choice(env: Mapping[str, str], name: str, allowed: Sequence[str], default: str | None) -> str | None:
    value = optional_str(env, name, default)
    if value is not None and value not in allowed:
        raise ConfigurationError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def number(
    env: Mapping[str, str], name: str, default: float, minimum: float | None = None, maximum: float | None = None
) -> float:
    return _bounded(env, name, default, float, "a number", minimum, maximum)


def integer(
    env: Mapping[str, str], name: str, default: int, minimum: int | None = None, maximum: int | None = None
) -> int:
    return _bounded(env, name, default, int, "a whole number", minimum, maximum)


def _bounded(
    env: Mapping[str, str],
    name: str,
    default: N,
    convert: Callable[[str], N],
    kind: str,
    minimum: N | None,
    maximum: N | None,
) -> N:
    raw = optional_str(env, name)
    if raw is None:
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise ConfigurationError(name, f"must be {kind}, got {raw!r}") from None
    if value != value or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigurationError(name, f"must be between {minimum} and {maximum}, got {raw!r}")
    return value


def string_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A JSON array of strings, or values separated by commas or newlines."""
    raw = optional_str(env, name)
    if raw is None:
        return ()
    if raw.startswith("["):
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConfigurationError(name, f"is not a valid JSON array ({error.msg})") from None
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ConfigurationError(name, "must be a JSON array of strings")
    else:
        values = raw.replace("\n", ",").split(",")
    return tuple(dict.fromkeys(value.strip() for value in values if value.strip()))


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def url_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Like ``string_list``, but every entry must be an http(s) URL."""
    urls = string_list(env, name)
    for url in urls:
        if not is_http_url(url):
            raise ConfigurationError(name, f"expects http(s) URLs, got {url!r}")
    return urls


def url(env: Mapping[str, str], name: str, default: str) -> str:
    value = optional_str(env, name, default) or default
    if not is_http_url(value):
        raise ConfigurationError(name, f"expects an http(s) URL, got {value!r}")
    return value.rstrip("/")


def readable_file(env: Mapping[str, str], name: str) -> str | None:
    """The path of a file the process can read, or None when unset."""
    path = optional_str(env, name)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except IsADirectoryError:
        raise ConfigurationError(name, f"must name a file, got the directory {path!r}") from None
    except OSError as error:
        raise ConfigurationError(name, f"cannot read {path!r}: {error.strerror or type(error).__name__}") from None
    return path
