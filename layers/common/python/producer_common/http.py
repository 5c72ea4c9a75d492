"""One pooled HTTP session per container, shared by warm invocations."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "kafka-data-producers/{component} (+https://github.com/; AWS Lambda)"


def build_session(component: str, pool_size: int = 10) -> requests.Session:
    """A keep-alive session whose User-Agent names the producer."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT.format(component=component)
    return session
