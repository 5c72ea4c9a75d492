"""Docker-free stand-in for `sam local start-lambda`: the Lambda Invoke API for the template's functions.

    python tools/local/start_lambda.py [--host 127.0.0.1] [--port 3001] [--template template.yaml]
        [--env-vars FILE] [--parameter-overrides 'Key=Value ...'] [--log-dir .run/start-lambda]

    aws lambda invoke --endpoint-url http://127.0.0.1:3001 --function-name RssProducerFunction out.json
    boto3.client("lambda", endpoint_url="http://127.0.0.1:3001").invoke(FunctionName=..., Payload=...)

`POST /2015-03-31/functions/{FunctionName}/invocations` with the invocation types RequestResponse
(the result, `X-Amz-Function-Error: Unhandled` when the handler raised, timed out or ran out of
memory, and with `X-Amz-Log-Type: Tail` the last 4 KB of its logs, base64-encoded, in
`X-Amz-Log-Result`), Event (202 at once, run in the background) and DryRun (204). The function
is named by logical id, ARN or partial ARN. Each invocation runs as `make invoke` runs one
(tools/local/invoke.py: the template's environment under the env-vars file and this process's
environment), and the invocations of one function run one at a time (reserved concurrency 1:
a synchronous call waits for the one before it). Handler logs go to <log-dir>/<Function>.log.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

if __package__ in (None, ""):  # run as a script: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.local.cfn_template import ACCOUNT_ID, TemplateError, default_region, load_template
from tools.local.invocation import ROOT, Invocation, Result, command
from tools.services.http_serving import KeptAliveHandler, LoopbackServer, answer, stop_signals

TAIL_BYTES = 4096  # what LogType: Tail returns
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's request limit for RequestResponse
MAX_ASYNC_PAYLOAD = 1024 * 1024  # and for Event
_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")
_ARN = re.compile(r"^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?(?:function:)?([\w-]+)(?::([\w$-]+))?$")


class Function:
    """One function's invocations, one at a time; Event invocations queue behind a worker thread."""

    def __init__(self, name: str, argv: list[str], environ: Mapping[str, str], log_path: Path) -> None:
        self.name, self._argv, self._environ, self._log_path = name, argv, environ, log_path
        self._turn = threading.Lock()
        self._events: queue.Queue[Any] = queue.Queue()
        self._running: set[Invocation] = set()
        self._closed = False
        self._worker = threading.Thread(target=self._drain, name=f"event-{name}", daemon=True)
        self._worker.start()

    def invoke(self, event: Any) -> Result:
        invocation = Invocation(self._argv, event, self._environ, self._log_path)
        with self._turn:
            if self._closed:
                return Result(2, b"", b"", 0.0)
            self._running.add(invocation)
            try:
                return invocation.run()
            finally:
                self._running.discard(invocation)

    def enqueue(self, event: Any) -> None:
        self._events.put(event)

    def _drain(self) -> None:
        while (event := self._events.get()) is not None:
            report(self.name, "Event", self.invoke(event))

    def close(self) -> None:
        self._closed = True
        self._events.put(None)
        for invocation in list(self._running):
            invocation.stop()


def report(name: str, kind: str, result: Result) -> None:
    outcome = "ok" if result.exit_code == 0 else "function error" if result.function_error else "failed"
    print(
        f"{time.strftime('%H:%M:%S')} {name} {kind}: {outcome} in {result.duration_s * 1000:.0f} ms "
        f"(RequestId {result.request_id})",
        file=sys.stderr,
        flush=True,
    )


class LambdaServer(LoopbackServer):
    def __init__(self, address: tuple[str, int], functions: dict[str, Function], region: str) -> None:
        self.functions, self.region = functions, region
        super().__init__(address, _handler())

    def close(self) -> None:
        for function in self.functions.values():
            function.close()
        self.server_close()


def _handler() -> type[BaseHTTPRequestHandler]:
    class Handler(KeptAliveHandler):  # quiet: one line per invocation is reported instead
        server: LambdaServer

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            path = _PATH.match(url.path)
            if not path:
                return self._error(404, "UnknownOperationException", "Unknown operation", kind="User")
            named = _ARN.match(unquote(path.group(1)))  # a logical id, an ARN or a partial ARN
            name, qualifier = named.groups() if named else (None, None)
            qualifier = parse_qs(url.query).get("Qualifier", [qualifier or "$LATEST"])[-1]
            function = self.server.functions.get(name or "")
            if function is None or qualifier != "$LATEST":
                arn = f"arn:aws:lambda:{self.server.region}:{ACCOUNT_ID}:function:{name or path.group(1)}"
                suffix = f":{qualifier}" if qualifier != "$LATEST" else ""
                return self._error(404, "ResourceNotFoundException", f"Function not found: {arn}{suffix}")
            kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
            if kind not in ("RequestResponse", "Event", "DryRun"):
                return self._error(400, "InvalidParameterValueException", f"Unsupported invocation type {kind}")
            limit = MAX_SYNC_PAYLOAD if kind == "RequestResponse" else MAX_ASYNC_PAYLOAD
            if len(body) > limit:
                message = f"{len(body)} byte payload is too large for the {kind} invocation type (limit {limit} bytes)"
                return self._error(413, "RequestEntityTooLargeException", message)
            try:
                event = json.loads(body) if body.strip() else {}
            except ValueError as error:
                message = f"Could not parse request body into json: Could not parse payload into json: {error}"
                return self._error(400, "InvalidRequestContentException", message)
            if kind == "DryRun":
                return self._send(204, b"", {})
            if kind == "Event":
                function.enqueue(event)
                return self._send(202, b"", {})
            result = function.invoke(event)
            report(name or "", kind, result)
            if not result.payload:  # invoke.py refused the call: ours to answer for, not the handler's
                message = result.logs.decode("utf-8", "replace").strip()[-500:] or "the invocation was stopped"
                return self._error(500, "ServiceException", message, kind="Service")
            headers = {"X-Amz-Executed-Version": "$LATEST"}
            if result.function_error:
                headers["X-Amz-Function-Error"] = "Unhandled"
            if (self.headers.get("X-Amz-Log-Type") or "None") == "Tail":
                headers["X-Amz-Log-Result"] = base64.b64encode(result.logs[-TAIL_BYTES:]).decode()
            return self._send(200, result.payload, headers, result.request_id)

        def _error(self, status: int, error_type: str, message: str, kind: str = "User") -> None:
            body = json.dumps({"Type": kind, "message": message}).encode()
            self._send(status, body, {"x-amzn-ErrorType": error_type})

        def _send(self, status: int, body: bytes, headers: dict[str, str], request_id: str | None = None) -> None:
            request_id = request_id or str(uuid.uuid4())
            answer(self, status, body, "application/json", {"x-amzn-RequestId": request_id, **headers})

    return Handler


def build_server(
    host: str,
    port: int,
    template: Path,
    env_vars: Path | None = None,
    parameter_overrides: Sequence[str] = (),
    log_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LambdaServer:
    environ = dict(os.environ if environ is None else environ)
    logs = log_dir or ROOT / ".run" / "start-lambda"
    resources = load_template(template)["Resources"]
    functions = {
        name: Function(name, command(name, template, env_vars, parameter_overrides), environ, logs / f"{name}.log")
        for name, spec in resources.items()
        if spec.get("Type") == "AWS::Serverless::Function"
    }
    return LambdaServer((host, port), functions, default_region(environ))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", "-p", type=int, default=int(os.environ.get("LAMBDA_PORT") or 3001))
    parser.add_argument("--template", "-t", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--env-vars", "-n", type=Path, help="SAM env-vars JSON file")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], help="template parameters: Key=Value ...")
    parser.add_argument("--log-dir", type=Path, help="where handler logs go (default .run/start-lambda)")
    args = parser.parse_args(argv)
    try:
        server = build_server(
            args.host, args.port, args.template.resolve(), args.env_vars, args.parameter_overrides, args.log_dir
        )
    except (OSError, TemplateError) as error:
        print(f"start-lambda: {error}", file=sys.stderr)
        return 2
    stopping = stop_signals()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = str(server.server_address[0]), int(server.server_address[1])
    names = ", ".join(server.functions)
    print(json.dumps({"url": f"http://{host}:{port}", "functions": list(server.functions)}), flush=True)
    print(f"Lambda Invoke API on http://{host}:{port} for {names}; Ctrl-C stops it", file=sys.stderr, flush=True)
    stopping.wait()
    server.shutdown()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
