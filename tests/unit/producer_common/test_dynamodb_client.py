"""The state store's DynamoDB client: its signature is botocore's, its errors are named, throttling is retried.

botocore's own SigV4 signer is the oracle for the signature; a stub HTTP server on loopback answers
as DynamoDB does when it refuses (its JSON error body: ``__type`` and ``message``, as in botocore's
parsers for the awsJson1_0 protocol). The store's whole contract over moto's DynamoDB server is in
test_state.py.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import pytest
import trustme
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from producer_common.exceptions import ProducerError
from producer_common.state.dynamodb_client import (
    ATTEMPTS,
    Credentials,
    DynamoDBClient,
    endpoint_for,
    environment_credentials,
)

from tools.services.http_serving import KeptAliveHandler, answer, serving

NOW = datetime(2026, 12, 6, 3, 4, 5, tzinfo=timezone.utc)
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
REQUEST = {"RequestItems": {"state": {"Keys": [{"pk": {"S": "item#é-1"}}], "ConsistentRead": True}}}


def botocore_authorization(url: str, operation: str, payload: bytes, token: str | None, region: str) -> str:
    request = AWSRequest(
        method="POST",
        url=url,
        data=payload,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}"},
    )
    credentials = BotocoreCredentials(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"], token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    return str(request.headers["authorization"])


@pytest.mark.parametrize(
    ("endpoint", "region", "token"),
    [
        (None, "eu-west-1", None),
        (None, "us-east-1", "FwoGZXIvYXdzEBYaDH-session-token"),
        ("http://127.0.0.1:4566", "us-east-1", None),
    ],
)
def test_the_signature_is_the_one_botocore_computes(endpoint: str | None, region: str, token: str | None) -> None:
    # Given credentials (a session token, as Lambda's, or none) and an endpoint (the region's or a local one)
    environ = {**KEYS, **({"AWS_SESSION_TOKEN": token} if token else {})}
    if endpoint:
        environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    client = DynamoDBClient(region, environ=environ, clock=lambda: NOW)
    payload = json.dumps(REQUEST, separators=(",", ":")).encode()
    # When a request is signed
    headers = client.signed_headers("BatchGetItem", payload)
    # Then its Authorization is botocore's for the same request, and the token travels beside it
    url = endpoint or f"https://dynamodb.{region}.amazonaws.com"
    assert headers["authorization"] == botocore_authorization(url + "/", "BatchGetItem", payload, token, region)
    assert headers.get("x-amz-security-token") == token


def test_endpoints_and_credentials_come_from_the_environment_as_boto3_reads_them() -> None:
    assert endpoint_for("eu-central-1", {}) == "https://dynamodb.eu-central-1.amazonaws.com"
    assert endpoint_for("cn-north-1", {}) == "https://dynamodb.cn-north-1.amazonaws.com.cn"
    assert endpoint_for("us-east-1", {"AWS_ENDPOINT_URL": "http://localhost:4566/"}) == "http://localhost:4566"
    both = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://b:2"}
    assert endpoint_for("us-east-1", both) == "http://b:2"
    assert environment_credentials({"AWS_ACCESS_KEY_ID": "AKID"}) is None
    found = environment_credentials({**KEYS, "AWS_SESSION_TOKEN": "session-token-value"})
    assert found == Credentials(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"], "session-token-value")
    # and a printed credential never shows its secret
    assert KEYS["AWS_SECRET_ACCESS_KEY"] not in repr(found) and "session-token-value" not in repr(found)


def test_an_endpoint_that_is_not_http_is_refused_by_name() -> None:
    with pytest.raises(ProducerError, match="ftp://db"):
        DynamoDBClient("us-east-1", environ={**KEYS, "AWS_ENDPOINT_URL_DYNAMODB": "ftp://db"})


class Answers(BaseHTTPRequestHandler):
    """Answers each POST with the next (status, body) of ``server.answers`` (bytes as they are, anything
    else as JSON); records what it got."""

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.received.append(({name.lower(): value for name, value in self.headers.items()}, body))  # type: ignore[attr-defined]
        status, answer = server.answers.pop(0) if server.answers else (200, {})  # type: ignore[attr-defined]
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def dynamodb() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.answers, server.received = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client_for(server: ThreadingHTTPServer) -> DynamoDBClient:
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    return DynamoDBClient("us-east-1", environ={**KEYS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint}, sleep=lambda _s: None)


THROTTLED = (
    400,
    {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "message": "slow"},
)


def test_throttling_and_5xx_are_retried_and_the_answer_is_dynamodbs_json(dynamodb: ThreadingHTTPServer) -> None:
    # Given DynamoDB throttles once and fails once before it answers
    answer = {"Responses": {"state": [{"pk": {"S": "item#1"}}]}, "UnprocessedKeys": {}}
    dynamodb.answers += [THROTTLED, (500, {"__type": "InternalServerError"}), (200, answer)]  # type: ignore[attr-defined]
    # When the client reads
    got = client_for(dynamodb).batch_get_item(RequestItems=REQUEST["RequestItems"])
    # Then it gets the answer, after sending the same signed request three times
    assert got == answer
    received = dynamodb.received  # type: ignore[attr-defined]
    assert len(received) == 3 and {body for _, body in received} == {
        json.dumps(REQUEST, separators=(",", ":")).encode()
    }
    assert all(headers["x-amz-target"] == "DynamoDB_20120810.BatchGetItem" for headers, _ in received)
    assert all(
        headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") for headers, _ in received
    )


def test_a_refused_request_names_the_call_the_error_and_its_message_and_is_not_retried(
    dynamodb: ThreadingHTTPServer,
) -> None:
    # Given a table that does not exist
    missing = {
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "message": "Requested resource not found",
    }
    dynamodb.answers.append((400, missing))  # type: ignore[attr-defined]
    # When the client writes, Then the error says what DynamoDB said, after one request
    with pytest.raises(ProducerError) as error:
        client_for(dynamodb).batch_write_item(RequestItems={"state": []})
    assert str(error.value) == "DynamoDB BatchWriteItem failed: ResourceNotFoundException: Requested resource not found"
    assert len(dynamodb.received) == 1  # type: ignore[attr-defined]
    assert KEYS["AWS_SECRET_ACCESS_KEY"] not in str(error.value)


def test_throttling_that_never_ends_fails_after_its_attempts(dynamodb: ThreadingHTTPServer) -> None:
    dynamodb.answers += [THROTTLED] * ATTEMPTS  # type: ignore[attr-defined]
    with pytest.raises(ProducerError, match="ProvisionedThroughputExceededException: slow"):
        client_for(dynamodb).batch_get_item(RequestItems={})
    assert len(dynamodb.received) == ATTEMPTS  # type: ignore[attr-defined]


def test_an_unreachable_endpoint_is_named() -> None:
    # Given nothing listening on the endpoint's port
    with ThreadingHTTPServer(("127.0.0.1", 0), Answers) as closed:
        port = closed.server_address[1]
    client = DynamoDBClient(
        "us-east-1", environ={**KEYS, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}"}, sleep=lambda _s: None
    )
    with pytest.raises(ProducerError, match=f"reaching http://127.0.0.1:{port}"):
        client.batch_get_item(RequestItems={})


def test_without_credentials_in_the_environment_botocores_chain_supplies_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no keys in the environment but a profile in a shared credentials file, as on a laptop
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = from-file-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    # When a request is signed
    headers = DynamoDBClient("us-east-1", environ={}, clock=lambda: NOW).signed_headers("BatchGetItem", b"{}")
    # Then it is signed with the profile's key
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDFROMFILE/20261206/us-east-1/dynamodb/")


@pytest.mark.parametrize("body", [b"<html>proxy login</html>", b'"a string"'])
def test_an_answer_that_is_not_dynamodbs_json_is_named(dynamodb: ThreadingHTTPServer, body: bytes) -> None:
    # Given something at the endpoint that answers 200 with a body that is not a JSON object
    dynamodb.answers.append((200, body))  # type: ignore[attr-defined]
    # When the client reads, Then the error names the endpoint, after one request
    with pytest.raises(ProducerError, match="an answer from http://127.0.0.1:[0-9]+ that is not DynamoDB's JSON"):
        client_for(dynamodb).batch_get_item(RequestItems={})
    assert len(dynamodb.received) == 1  # type: ignore[attr-defined]


# -- the one kept-alive connection ---------------------------------------------------------------


class KeptAlive(KeptAliveHandler):
    """Answers every POST with an empty DynamoDB answer over HTTP/1.1 and notes the connection it came
    on; with ``hang_up`` it then closes the connection without saying so in a header, as a server
    closes an idle connection between a function's runs."""

    connections: set[tuple[str, int]]
    hang_up = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.connections.add(self.client_address)
        answer(self, 200, b'{"Responses": {}, "UnprocessedKeys": {}}', "application/x-amz-json-1.0")
        self.close_connection = self.hang_up


def kept_alive(hang_up: bool) -> type[KeptAlive]:
    return type("Handler", (KeptAlive,), {"connections": set(), "hang_up": hang_up})


def client_of(endpoint: str, **environ: str) -> DynamoDBClient:
    return DynamoDBClient(
        "us-east-1", environ={**KEYS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, **environ}, sleep=lambda _s: None
    )


def test_calls_share_one_connection_while_the_server_keeps_it() -> None:
    handler = kept_alive(hang_up=False)
    with serving(handler) as endpoint:
        client = client_of(endpoint)
        for _ in range(5):
            assert client.batch_get_item(RequestItems={}) == {"Responses": {}, "UnprocessedKeys": {}}
    assert len(handler.connections) == 1


def test_a_connection_the_server_closed_meanwhile_is_replaced_before_the_next_call() -> None:
    # Given a server that closes each connection after answering, with no Connection: close header
    handler, backoffs = kept_alive(hang_up=True), []
    with serving(handler) as endpoint:
        client = DynamoDBClient(
            "us-east-1", environ={**KEYS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint}, sleep=backoffs.append
        )
        for _ in range(3):
            client.batch_write_item(RequestItems={})
            time.sleep(0.05)  # the server's close has arrived
    # Then each call went out on a new connection at its first attempt: none was lost on the closed one
    assert len(handler.connections) == 3 and backoffs == []


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A server TLS context for 127.0.0.1, and the file of the throwaway CA (trustme) that signed it."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return context, str(tmp_path / "ca.pem")


def test_https_is_checked_against_the_ca_bundle_aws_ca_bundle_names(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca_file = tls
    handler = kept_alive(hang_up=False)
    with serving(handler, tls=context) as endpoint:
        assert client_of(endpoint, AWS_CA_BUNDLE=ca_file).batch_get_item(RequestItems={})["Responses"] == {}
        with pytest.raises(ProducerError, match=f"SSLCertVerificationError reaching {endpoint}$"):
            client_of(endpoint).batch_get_item(RequestItems={})  # the system's roots do not vouch for it
