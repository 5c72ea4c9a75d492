"""The two DynamoDB calls the state store makes (BatchGetItem, BatchWriteItem), as JSON over HTTP
signed with Signature Version 4, on one kept-alive ``http.client`` connection.

boto3 is the general client, and the state store is where a 256 MB Lambda felt it most: importing
it and building a DynamoDB client cost about 0.3 s of CPU at every cold start, and each batch call
about 1.8 ms of CPU (validation, serialisation, event hooks and parsing around the request), which
made a run's state reads and writes cost more CPU than everything else it does (`make bench
ONLY=B`, the DynamoDB rows). This client takes and returns the shapes boto3's low-level client
does (DynamoDB's own JSON), so ``DynamoStateStore`` runs on either. It speaks through the standard
library's ``http.client`` rather than urllib3: the state store makes one call at a time to one host,
which needs no pool, and urllib3's pool and request layers cost about 0.2 ms of CPU a call on top
(a batch call 0.76 -> 0.54 ms, measured side by side against moto's server).

Credentials come from the environment, as Lambda provides them (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``); without them, from botocore's chain (profiles,
SSO, instance roles), imported only then. The endpoint is ``AWS_ENDPOINT_URL_DYNAMODB`` or
``AWS_ENDPOINT_URL`` when set (as boto3 reads them), else the region's. Throttling, 5xx answers and
broken connections are retried with jittered backoff; any other error names the call, DynamoDB's
error type and its message. Nothing here logs a header or a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import random
import select
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import ProducerError

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
ATTEMPTS = 6
BACKOFF_S, BACKOFF_CAP_S = 0.05, 2.0
# Retried as botocore retries them: DynamoDB asks the caller to slow down, or had a passing fault.
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 5.0, 20.0


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:  # never the secret, wherever an object is printed
        return f"Credentials(access_key={self.access_key!r}, secret_key='***', token={'***' if self.token else None})"


def environment_credentials(environ: Mapping[str, str]) -> Credentials | None:
    access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        return None
    return Credentials(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None)


def botocore_credentials() -> Callable[[], Credentials]:
    """botocore's credential chain, for machines without credentials in the environment; each call
    reads them afresh, so credentials that refresh themselves stay valid."""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise ProducerError("no AWS credentials for DynamoDB: none in the environment, nor in botocore's chain")

    def current() -> Credentials:
        frozen = found.get_frozen_credentials()
        return Credentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)

    return current


def endpoint_for(region: str, environ: Mapping[str, str]) -> str:
    configured = environ.get("AWS_ENDPOINT_URL_DYNAMODB") or environ.get("AWS_ENDPOINT_URL")
    if configured:
        return configured.rstrip("/")
    return f"https://dynamodb.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


class DynamoDBClient:
    """``batch_get_item`` and ``batch_write_item``, as boto3's low-level client has them."""

    def __init__(
        self,
        region: str,
        environ: Mapping[str, str] | None = None,
        credentials: Callable[[], Credentials] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        e = os.environ if environ is None else environ
        self.region = region
        self.endpoint = endpoint_for(region, e)
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProducerError(f"the DynamoDB endpoint must be an http(s) URL, got {self.endpoint!r}")
        self._host = parts.netloc
        self._path = parts.path or "/"
        if credentials is None:
            from_environment = environment_credentials(e)
            credentials = (lambda: from_environment) if from_environment else botocore_credentials()
        self._credentials = credentials
        if parts.scheme == "https":
            tls = ssl.create_default_context(cafile=e.get("AWS_CA_BUNDLE") or None)
            self._connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S, context=tls
            )
        else:
            self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)
        self._lock = threading.Lock()  # one request at a time on the one connection
        self._clock, self._sleep = clock, sleep
        self._keys: dict[tuple[str, str], bytes] = {}  # (date, secret key) -> signing key

    def batch_get_item(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("BatchGetItem", {"RequestItems": RequestItems})

    def batch_write_item(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("BatchWriteItem", {"RequestItems": RequestItems})

    def _call(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        problem = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_S * 2**attempt)))
            headers = self.signed_headers(operation, payload)
            try:
                status, data = self._post(headers, payload)
            except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, TLS, broken answer
                problem = f"{type(error).__name__} reaching {self.endpoint}"
                continue
            if status == 200:
                try:
                    answer = json.loads(data)
                except ValueError:
                    answer = None
                if isinstance(answer, dict):
                    return answer
                problem = f"an answer from {self.endpoint} that is not DynamoDB's JSON"
                break
            kind, message = _error(status, data)
            problem = f"{kind}: {message}" if message else kind
            if status < 500 and kind not in RETRYABLE:
                break
        raise ProducerError(f"DynamoDB {operation} failed: {problem}")

    def _post(self, headers: dict[str, str], payload: bytes) -> tuple[int, bytes]:
        """One POST on the kept-alive connection: opened when there is none, and again when the
        server has closed it meanwhile (as an idle connection is between a function's runs)."""
        connection = self._connection
        with self._lock:
            try:
                if connection.sock is not None and _closed_by_peer(connection.sock):
                    connection.close()
                if connection.sock is None:
                    _open(connection)
                connection.request("POST", self._path, body=payload, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except BaseException:
                connection.close()  # a half-used connection is never used again
                raise

    def signed_headers(self, operation: str, payload: bytes) -> dict[str, str]:
        """The request's headers with its Signature Version 4 ``Authorization``."""
        credentials = self._credentials()
        now = self._clock()
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {
            "content-type": CONTENT_TYPE,
            "host": self._host,
            "x-amz-date": stamp,
            "x-amz-target": TARGET_PREFIX + operation,
        }
        if credentials.token:
            headers["x-amz-security-token"] = credentials.token
        names = ";".join(sorted(headers))
        canonical = "\n".join(
            (
                "POST",
                self._path,
                "",
                "".join(f"{name}:{headers[name].strip()}\n" for name in sorted(headers)),
                names,
                hashlib.sha256(payload).hexdigest(),
            )
        )
        scope = f"{day}/{self.region}/{SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day, credentials.secret_key), to_sign.encode(), hashlib.sha256)
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature.hexdigest()}"
        )
        return headers

    def _signing_key(self, day: str, secret_key: str) -> bytes:
        cached = self._keys.get((day, secret_key))
        if cached is None:
            key = ("AWS4" + secret_key).encode()
            for part in (day, self.region, SERVICE, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(day, secret_key): key}  # one day's key at a time
            cached = key
        return cached


def _open(connection: http.client.HTTPConnection) -> None:
    """Connect (and shake hands) within ``CONNECT_TIMEOUT_S``; then each read may take ``READ_TIMEOUT_S``."""
    connection.connect()
    connection.sock.settimeout(READ_TIMEOUT_S)


def _closed_by_peer(sock: Any) -> bool:
    """Whether a connection that is between requests has something to read: only the peer's close
    (or junk) can be there, so it must not carry the next request."""
    poller = select.poll()  # not select.select: a Lambda's descriptors may pass 1024
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _error(status: int, data: bytes) -> tuple[str, str]:
    """DynamoDB's error type (``com.amazonaws...#ThrottlingException`` -> ``ThrottlingException``) and message."""
    try:
        document = json.loads(data)
    except ValueError:
        return f"HTTP {status}", ""
    if not isinstance(document, dict):
        return f"HTTP {status}", ""
    kind = str(document.get("__type") or f"HTTP {status}").rsplit("#", 1)[-1]
    return kind, str(document.get("message") or document.get("Message") or "")
