"""moto's server on loopback, standing in for the AWS services a test or a benchmark talks to over
HTTP (DynamoDB, S3, Secrets Manager): one process-local server, its endpoint while it runs."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server, every service on one port, stopped on exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto's advice to install moto[server], which we do
        from moto.server import ThreadedMotoServer

    # werkzeug logs a line a request wherever the root logger is configured (a profile's 459 calls)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
