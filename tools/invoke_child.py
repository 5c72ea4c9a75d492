"""The child side of tools/invoke.py: Lambda invocations in a fresh interpreter (one container).

Reads its instructions as JSON on stdin and reports on the file descriptor it is given, one JSON
line a message: `{"init_done": true}` once the handler is imported (the timeout counts from
there), then `{"result": ...}` or `{"error": {...}}` for each invocation (one per `request_ids`,
run one after another, each with a fresh context). Its stdout and stderr are the parent's stderr.
Errors are shaped and named as Lambda's Python runtime (awslambdaric) names them.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any


class RuntimeFault(Exception):
    """The handler could not be found or its result not returned, named as Lambda names it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class LambdaContext:
    """The attributes of Lambda's context object, with a real countdown."""

    def __init__(self, name: str, memory_mb: int, timeout_s: float, request_id: str) -> None:
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", f"local/{request_id}")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise RuntimeFault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': expected module.function")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise RuntimeFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        raise RuntimeFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}") from error
    try:
        return getattr(module, function_name)  # type: ignore[no-any-return]
    except AttributeError:
        raise RuntimeFault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def to_json(result: Any) -> str:
    """The result as Lambda returns it: JSON, with Decimal (DynamoDB's numbers) as float."""

    def decimal_serializer(value: Any) -> float:
        if isinstance(value, decimal.Decimal):
            return float(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        return json.dumps(result, default=decimal_serializer)
    except (TypeError, ValueError) as error:
        raise RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


def _is_user_frame(frame: traceback.FrameSummary) -> bool:
    """Not this runner's nor the import machinery's: what Lambda's stackTrace would show."""
    name = frame.filename
    return name != __file__ and not name.startswith("<frozen ") and f"{os.sep}importlib{os.sep}" not in name


def error_payload(error: BaseException) -> dict[str, Any]:
    if isinstance(error, RuntimeFault):
        return {"errorMessage": str(error), "errorType": error.error_type, "stackTrace": []}
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_user_frame(frame)]
    return {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": traceback.format_list(frames)}


def log_error(error: BaseException) -> None:
    """`[ERROR] Type: message` and the traceback on stderr, as Lambda logs an invocation error."""
    print(f"[ERROR] {error_payload(error)['errorType']}: {error}", file=sys.stderr)
    if isinstance(error, RuntimeFault):
        if error.__cause__ is not None:  # the import or syntax error behind it: where it happened
            traceback.print_exception(error.__cause__)
    elif error.__traceback__ is not None:
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)


def _send(report: IO[str], message: str) -> None:
    report.write(message + "\n")
    report.flush()


def main() -> None:
    spec = json.loads(sys.stdin.read())
    config = spec["config"]
    report = os.fdopen(spec["result_fd"], "w")
    # Lambda's order: the function's code (/var/task) first, then the layers (/opt/python), then the
    # runtime's libraries (here the interpreter's site-packages). No developer tool is importable.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [config["code_dir"], *config["layer_dirs"], *(p for p in sys.path if p and p != here)]
    try:
        handler = load_handler(config["handler"])
    except Exception as error:
        _end_invocation(report, _failure(error))
        os._exit(0)
    _send(report, '{"init_done": true}')
    for request_id in spec.get("request_ids") or [spec["request_id"]]:
        try:
            context = LambdaContext(config["name"], config["memory_mb"], config["timeout_s"], request_id)
            outcome = '"result": ' + to_json(handler(spec["event"], context))
        except Exception as error:
            outcome = _failure(error)
        _end_invocation(report, outcome)
    # Like Lambda, the invocation ends with the handler: threads it left running and atexit hooks do not hold it.
    os._exit(0)


def _failure(error: Exception) -> str:
    log_error(error)
    return '"error": ' + json.dumps(error_payload(error))


def _end_invocation(report: IO[str], outcome: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    _send(report, f'{{"max_rss_mb": {max_rss_mb:.1f}, {outcome}}}')


if __name__ == "__main__":
    main()
