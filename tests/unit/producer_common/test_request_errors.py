"""describe_request_error: a failed fetch names its host and the kind of failure, not only a class name.

Real sockets on loopback where the failure can be made here (refused, TLS to a plain-HTTP port, no answer);
the DNS failure is the exception chain requests and urllib3 build for an unresolvable name.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
import urllib3
from producer_common.http import describe_request_error

from tools.services.supervisor import free_port


def failure(url: str, timeout: float = 2.0) -> requests.RequestException:
    try:
        requests.get(url, timeout=timeout)
    except requests.RequestException as error:
        return error
    raise AssertionError(f"{url} answered")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel completes them in its backlog) and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_a_refused_connection_names_the_host() -> None:
    # Given a loopback port nothing listens on
    error = failure(f"http://127.0.0.1:{free_port()}/feed.xml")

    # Then
    assert describe_request_error(error, "http://127.0.0.1/feed.xml") == "connection refused by 127.0.0.1"


def test_a_server_that_never_answers_is_a_timeout(silent_port: int) -> None:
    error = failure(f"http://127.0.0.1:{silent_port}/feed.xml", timeout=0.3)
    assert describe_request_error(error, "") == "127.0.0.1 did not answer in time"


def test_tls_to_a_server_that_answers_in_plain_text_is_a_tls_failure() -> None:
    # Given a server that answers a TLS client hello with plain HTTP
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer_in_plain_text() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nnot tls")

        thread = threading.Thread(target=answer_in_plain_text, daemon=True)
        thread.start()
        error = failure(f"https://127.0.0.1:{port}/feed.xml")
        thread.join(5)

    # Then
    described = describe_request_error(error, "")
    assert described.startswith("TLS with 127.0.0.1 failed: "), described


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    # Given the chain requests raises for an unresolvable name (urllib3 2: NameResolutionError over gaierror)
    pool = urllib3.HTTPConnectionPool("feeds.example.invalid", 80)
    resolution = urllib3.exceptions.NameResolutionError(
        "feeds.example.invalid", pool, socket.gaierror(-2, "Name or service not known")
    )
    error = requests.ConnectionError(urllib3.exceptions.MaxRetryError(pool, "/feed.xml", resolution))

    # Then
    assert describe_request_error(error, "http://feeds.example.invalid/feed.xml") == (
        "DNS look-up of feeds.example.invalid failed"
    )
