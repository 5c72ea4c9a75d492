"""Lambda's Runtime API on loopback, for a handler run by AWS's own runtime interface client.

tools/local/invoke.py starts `python -m awslambdaric <handler>` (awslambdaric: what Lambda's python3.12
runtime itself runs) with AWS_LAMBDA_RUNTIME_API pointing here. The client imports the handler
(the init phase), asks `GET /2018-06-01/runtime/invocation/next` for the event, builds Lambda's
context from the answer's headers and reports with `POST .../response` or `.../error` (or
`POST /runtime/init/error` when the import failed). So the context object, the error shapes and
the log format are Lambda's own; this module only serves one event and turns what the client
reports into messages for invoke.py's watch loop:

    {"next": <request id>}    the client took the next event: an invocation starts (after the
                              first, the init phase is over)
    {"result": <value>}       the handler returned
    {"error": {...}}          the handler raised, or init failed (Lambda's error JSON)

It serves one event per request id, one after another, to the same client: a warm container
(`invoke.py --repeat N`).
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tools.services.http_serving import KeptAliveHandler, LoopbackServer, answer
from tools.services.supervisor import dies_with_parent

PREFIX = "/2018-06-01/runtime"
SHUTDOWN_POLL_S = 0.01
TRACE_ID = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"


class RuntimeAPI:
    """Serves the event once per request id to one runtime client and collects what it reports."""

    def __init__(self, event: Any, request_ids: Sequence[str], function_arn: str, timeout_s: float) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._event = json.dumps(event).encode()
        self._pending = iter(request_ids)
        self._arn, self._timeout_s = function_arn, timeout_s
        self._closed = threading.Event()
        self._http = LoopbackServer(("127.0.0.1", 0), _handler(self))
        # serve_forever notices shutdown() only between polls (every 0.5 s by default), and every
        # `make invoke` waits for that when it ends: poll often, it costs nothing measurable.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, name="runtime-api", daemon=True
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._closed.set()  # a client waiting for a second event gets none
        self._http.shutdown()
        self._http.server_close()

    def next_event(self) -> tuple[bytes, dict[str, str]] | None:
        """The event and its headers for the next request id; once they are all served, waits until closed."""
        request_id = next(self._pending, None)
        if request_id is None:
            self._closed.wait()
            return None
        self.messages.put({"next": request_id})
        deadline_ms = int((time.time() + self._timeout_s) * 1000)  # the Timeout counts from here, after init
        return self._event, {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self._arn,
            "Lambda-Runtime-Trace-Id": TRACE_ID,  # the client needs one
        }


def _handler(api: RuntimeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(KeptAliveHandler):
        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                return self._answer(404, b'{"errorMessage": "not found"}')
            served = api.next_event()
            if served is None:
                return self._answer(500, b'{"errorMessage": "no more events"}')
            body, headers = served
            return self._answer(200, body, headers)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.removeprefix(PREFIX)
            if path.endswith("/response"):
                api.messages.put({"result": _json(body)})
            elif path.endswith("/error"):  # an invocation's, or /init/error
                api.messages.put({"error": _json(body)})
            else:
                return self._answer(404, b'{"errorMessage": "not found"}')
            return self._answer(202, b'{"status": "OK"}')

        def _answer(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
            answer(self, status, body, "application/json", headers)

    return Handler


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return {"errorMessage": "the runtime client sent a body that is not JSON", "errorType": "Runtime.Unknown"}


def client_command(handler: str) -> list[str]:
    """The runtime client as Lambda's python runtimes start it, with this interpreter.

    The client runs in a session of its own (a Ctrl-C reaches the runner, which stops it cleanly), so a
    SIGKILL of the runner's process group would not reach it: util-linux's setpriv asks the kernel to
    SIGKILL it when its parent dies, whatever kills the parent."""
    return dies_with_parent([sys.executable, "-u", "-m", "awslambdaric", handler])


def client_environment(api: RuntimeAPI, layer_dirs: tuple[Path, ...]) -> dict[str, str]:
    """What the client needs beyond Lambda's variables: this API, and the layers after the code on the path.

    The client runs in the code directory, so `-m` puts it first; PYTHONPATH adds the layers' python/
    directories after it, in order, as /opt/python follows /var/task in Lambda.
    """
    return {"AWS_LAMBDA_RUNTIME_API": api.address, "PYTHONPATH": ":".join(str(path) for path in layer_dirs)}
