"""A service a tier needs (a broker, the registry, LocalStack, Airflow's environment, a SAM build) that
cannot start is reported once, as one paragraph naming the cause and its log, not once per test.

A session fixture starts its service inside ``starting(name, log)``; whatever it raises becomes a
``ServiceUnavailable`` whose message is that paragraph. pytest caches a failed session fixture and
errors every test that needs it; the report hook below prints the paragraph for the first of them and one
line pointing back to it for the rest. They stay errors: the summary line counts them as such.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

TELLING = re.compile(r"error|exception|refused|failed|denied|not found|no such|cannot|unable", re.IGNORECASE)
TAIL_LINES = 200  # of the log, searched for the lines that say what went wrong


class ServiceUnavailable(Exception):
    """A tier's service could not start; the message says why, in one paragraph."""


def telling_lines(text: str, limit: int = 3) -> list[str]:
    """The last ``limit`` distinct lines that name a failure (tracebacks' frames left out)."""
    found: list[str] = []
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line and TELLING.search(line) and not line.startswith(("File ", "Traceback")) and line not in found:
            found.append(line)
            if len(found) == limit:
                break
    return found[::-1]


def paragraph(name: str, error: BaseException, log: Path | None) -> str:
    message = str(error).strip()
    first = message.splitlines()[0] if message else ""
    causes = telling_lines(message)
    if log is not None and log.is_file():
        causes += telling_lines("\n".join(log.read_text(errors="replace").splitlines()[-TAIL_LINES:]))
    seen = [line[:300] for line in dict.fromkeys(causes) if line != first]
    text = f"{name} could not start: {type(error).__name__}: {first}"
    if seen:
        text += "\nWhat it said last: " + " | ".join(seen[-3:])
    if log is not None:
        text += f"\nIts log: {log}"
    return text


@contextmanager
def starting(name: str, log: Path | None = None) -> Iterator[None]:
    """Turns whatever starting ``name`` raises into one ServiceUnavailable paragraph."""
    try:
        yield
    except ServiceUnavailable:
        raise
    except Exception as error:
        raise ServiceUnavailable(paragraph(name, error, log)) from error


_reported: set[str] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    outcome: Any = yield
    if call.when != "setup" or call.excinfo is None or not call.excinfo.errisinstance(ServiceUnavailable):
        return
    report = outcome.get_result()
    message = str(call.excinfo.value)
    if message in _reported:
        report.longrepr = f"{message.splitlines()[0]} (as reported for the first test that needed it)"
    else:
        _reported.add(message)
        report.longrepr = message
