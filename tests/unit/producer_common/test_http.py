"""Polite retries: 429 and 5xx are retried within limits, Retry-After is honoured."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from producer_common.deadline import Deadline
from producer_common.http import (
    Pools,
    RateLimiter,
    RetryPolicy,
    build_session,
    environment_configures_http,
    retry_after_s,
    send_with_retries,
    time_limit,
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


def test_the_pools_keep_the_connections_of_as_many_hosts_as_asked_and_honour_the_environment() -> None:
    # Given pools for 4 fetches at once over up to 64 hosts, in an environment naming a proxy and a CA bundle
    environ = {"HTTPS_PROXY": "http://proxy.internal:3128", "no_proxy": "feeds.internal", "CURL_CA_BUNDLE": "/ca.pem"}
    pools = Pools("rss-producer", pool_size=4, hosts=64, environ=environ)
    # Then connections to 64 hosts are kept, up to 4 to each, verified with that bundle
    manager = pools.manager_for("https://feeds.example/")
    assert manager.pools._maxsize == 64 and manager.connection_pool_kw["maxsize"] == 4  # type: ignore[attr-defined]
    assert manager.connection_pool_kw["ca_certs"] == "/ca.pem" and "rss-producer" in pools.headers["User-Agent"]
    # and HTTPS goes through the proxy, except to the host NO_PROXY names; plain HTTP goes direct
    assert manager.proxy is not None and manager.proxy.host == "proxy.internal"
    assert pools.manager_for("https://feeds.internal/").proxy is None
    assert pools.manager_for("http://feeds.example/").proxy is None


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


def test_a_time_limit_shuts_the_sockets_its_thread_reads_and_only_until_it_ends() -> None:
    # Given a request whose server sends its headers and 2 of the 10 bytes it promised, then nothing
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        for _ in range(2):
            connection, _ = listener.accept()
            held.append(connection)
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    session = build_session("test")
    # When it is made within a 0.3 s limit, with a 30 s read timeout
    started = time.monotonic()
    with time_limit(0.3) as limit, pytest.raises(requests.RequestException):
        session.get(url, timeout=(1, 30))
    # Then it ends at the limit, which says it expired
    assert limit.expired and time.monotonic() - started < 5
    # and a request after the block is not limited by it
    with time_limit(30) as later, pytest.raises(requests.RequestException, match="Read timed out"):
        session.get(url, timeout=(1, 0.5))
    assert not later.expired
    listener.close()


def test_time_limits_share_one_thread_and_an_ended_one_never_expires() -> None:
    # Given a short limit that ends before its time, among many
    threads = threading.active_count()
    with time_limit(0.2) as ended:
        pass
    for _ in range(50):
        with time_limit(30):
            pass
    # When a later, shorter limit is set while the longer ones wait
    with time_limit(0.05) as short:
        time.sleep(0.4)
    # Then the short one expired on time, the ended one never did, and one thread served them all
    assert short.expired and not ended.expired
    assert threading.active_count() <= threads + 1
