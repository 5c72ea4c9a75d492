"""Polite retries: 429 and 5xx are retried within limits, Retry-After is honoured."""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from producer_common.deadline import Deadline
from producer_common.http import (
    RateLimiter,
    RetryPolicy,
    build_session,
    environment_configures_http,
    retry_after_s,
    send_with_retries,
)


def response(status: int, retry_after: str | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.raw = io.BytesIO(b"")
    if retry_after is not None:
        answer.headers["Retry-After"] = retry_after
    return answer


class Script:
    """Answers in turn, recording the waits asked of ``sleep``."""

    def __init__(self, *answers: requests.Response | Exception) -> None:
        self.answers, self.calls, self.waits = list(answers), 0, []  # type: ignore[var-annotated]

    def send(self) -> requests.Response:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.mark.parametrize(
    ("answers", "options", "status", "waits"),
    [
        ([response(429, "3"), response(200)], {}, 200, [3.0]),  # Retry-After in seconds, waited exactly
        (  # 5xx backs off exponentially, then gives the last answer
            [response(503), response(502), response(500)],
            {"policy": RetryPolicy(attempts=3, base_delay_s=1), "jitter": lambda: 1.0},
            500,
            [1.0, 2.0],
        ),
        ([response(429, "120"), response(200)], {"policy": RetryPolicy(max_delay_s=10)}, 429, []),  # too long a wait
        ([response(503, "2"), response(200)], {"deadline": Deadline(remaining_ms=lambda: 1500)}, 503, []),  # past it
    ],
    ids=["retry-after", "backoff", "longer-than-allowed", "past-the-deadline"],
)
def test_retries_wait_as_asked_within_the_policy_and_the_deadline(
    answers: list[requests.Response], options: dict[str, Any], status: int, waits: list[float]
) -> None:
    script = Script(*answers)
    assert send_with_retries(script.send, sleep=script.sleep, **options).status_code == status
    assert script.waits == waits and script.calls == len(waits) + 1


def test_refused_connections_are_retried_and_other_statuses_are_not() -> None:
    script = Script(requests.ConnectionError("refused"), response(404))
    assert send_with_retries(script.send, sleep=script.sleep, jitter=lambda: 0.0).status_code == 404
    assert script.calls == 2
    with pytest.raises(requests.ConnectionError):
        send_with_retries(Script(*[requests.ConnectionError()] * 3).send, sleep=lambda _s: None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("Mon, 23 Nov 2026 10:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_forms(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)
    assert retry_after_s(value, now) == expected


@pytest.mark.parametrize(
    ("environ", "netrc", "expected"),
    [
        ({"PATH": "/usr/bin", "REQUESTS_CA_BUNDLE": "/ca.pem"}, False, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128"}, False, True),
        ({"no_proxy": "localhost"}, False, True),
        ({"HTTP_PROXY": ""}, False, False),
        ({"NETRC": "/secrets/netrc"}, False, True),
        ({}, True, True),
    ],
)
def test_requests_reads_the_environment_only_when_it_configures_http(
    tmp_path: Path, environ: dict[str, str], netrc: bool, expected: bool
) -> None:
    # Given an environment and a home directory with or without a .netrc
    if netrc:
        (tmp_path / ".netrc").write_text("machine feeds.example login a password b\n")
    # Then the session looks at the environment on every request only when it names a proxy or a netrc
    assert environment_configures_http(environ, home=tmp_path) is expected


def test_the_session_s_name_redirect_limit_and_ca_bundle_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a CA bundle named in the environment and nothing else about HTTP
    for name in [*os.environ]:
        if name.lower().endswith("_proxy") or name in ("CURL_CA_BUNDLE", "NETRC"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom-ca.pem")
    monkeypatch.setenv("HOME", "/nonexistent")
    # When a session is built
    session = build_session("rss-producer")
    # Then it verifies with that bundle without reading the environment on each request
    assert session.verify == "/etc/ssl/custom-ca.pem" and session.trust_env is False
    # and it names the producer and follows at most 5 redirects
    assert "kafka-data-producers/rss-producer" in session.headers["User-Agent"] and session.max_redirects == 5


def test_the_rate_limiter_spaces_calls_to_the_published_rate() -> None:
    # Given 5 calls per second and a clock that only moves when the limiter sleeps
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(5, 1.0, clock=lambda: now[0], sleep=sleep)
    # When 6 calls arrive at once
    for _ in range(6):
        limiter.acquire()
    # Then the first goes at once and each later one 0.2 s after the previous
    assert waits == [0.2, 0.2, 0.2, 0.2, 0.2]
    assert now[0] == pytest.approx(101.0)
