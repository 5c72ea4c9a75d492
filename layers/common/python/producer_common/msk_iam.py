"""MSK IAM authentication: SASL/OAUTHBEARER tokens signed with the function's IAM role."""

from __future__ import annotations

import time
from typing import Any


def generate_token(region: str) -> tuple[str, float]:
    """A signed token and its expiry as epoch seconds."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
    return token, expiry_ms / 1000.0


def confluent_oauth_cb(region: str) -> Any:
    """An ``oauth_cb`` for confluent-kafka, which asks for (token, expiry seconds)."""

    def oauth_cb(_config: str) -> tuple[str, float]:
        return generate_token(region)

    return oauth_cb


def kafka_python_token_provider(region: str) -> Any:
    """A token provider for kafka-python, reusing a token until a minute before it expires."""
    try:
        from kafka.net.sasl.oauth import AbstractTokenProvider  # kafka-python 3
    except ImportError:  # pragma: no cover - kafka-python 2
        from kafka.sasl.oauth import AbstractTokenProvider  # type: ignore[no-redef]

    class MskTokenProvider(AbstractTokenProvider):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self._token = ""
            self._expires_at = 0.0

        def token(self) -> str:
            if time.time() > self._expires_at - 60:
                self._token, self._expires_at = generate_token(region)
            return self._token

    return MskTokenProvider()
