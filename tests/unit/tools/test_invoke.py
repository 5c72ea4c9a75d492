"""tools/local/invoke.py as users run it: a subprocess, the result last on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tools.local.invoke import parameter_overrides, peak_rss_mb

DATA = Path(__file__).parent / "data"
INVOKE = Path(__file__).resolve().parents[3] / "tools" / "local" / "invoke.py"
CLEAN = {
    k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "GREETING", "SHARED", "EXTRA")
}


def invoke(
    function: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(INVOKE), function, "--template", str(DATA / "template.yaml"), *args]
    environ = {**CLEAN, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, input=stdin, env=environ, timeout=60)


def last_line(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One run of EchoFunction with an event file, shared by the tests that read its result."""
    event = tmp_path_factory.mktemp("event") / "event.json"
    event.write_text(json.dumps({"detail": {"n": 1}}))
    return invoke("EchoFunction", "--event", str(event))


def test_the_result_is_the_only_stdout_line_and_logs_go_to_stderr(echo: subprocess.CompletedProcess[str]) -> None:
    assert echo.returncode == 0, echo.stderr
    assert len(echo.stdout.splitlines()) == 1
    assert last_line(echo)["event"] == {"detail": {"n": 1}}
    for text in ("print() on stdout", "a C library writing to fd 1", "a write to stderr", "a logging record"):
        assert text in echo.stderr
    assert '"message":"a Powertools record"' in echo.stderr
    assert "START RequestId:" in echo.stderr and "END RequestId:" in echo.stderr
    assert "REPORT RequestId:" in echo.stderr and "Max Memory Used:" in echo.stderr and "Duration:" in echo.stderr


def test_code_comes_first_on_the_path_then_the_layers_in_order(echo: subprocess.CompletedProcess[str]) -> None:
    result = last_line(echo)
    assert result["path"] == [str(DATA / "fn"), str(DATA / "layer" / "python"), str(DATA / "layer_extra" / "python")]
    assert result["modules"] == {
        "shadowed": "function",  # fn/ beats the layer
        "which_layer": "shared-layer",  # the Globals layer is listed first
        "shared": "shared-layer",
        "extra": "extra-layer",
    }
    assert result["tools_importable"] is False
    assert "layer arn:aws:lambda:us-east-1:123456789012:layer:elsewhere:1 is not built" in echo.stderr


def test_the_handler_gets_lambdas_context_and_runtime_variables(echo: subprocess.CompletedProcess[str]) -> None:
    result = last_line(echo)
    context, env = result["context"], result["env"]
    assert context["function_name"] == "EchoFunction" and context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"
    # awslambdaric's context, as in Lambda: memory_limit_in_mb is the variable's text
    assert context["memory_limit_in_mb"] == "256" and len(context["aws_request_id"]) == 36
    assert context["log_group_name"] == "/aws/lambda/EchoFunction" and context["log_stream_name"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction" and env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "2"
    assert env["AWS_REGION"] == "us-east-1" and env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_TASK_ROOT"] == str(DATA / "fn") and env["_HANDLER"] == "handlers.echo"
    assert result["cwd"] == str(DATA / "fn")  # Lambda's working directory is the code's
    assert f"RequestId: {context['aws_request_id']}" in echo.stderr


def test_the_template_environment_is_resolved(echo: subprocess.CompletedProcess[str]) -> None:
    expected = {
        "GREETING": "hello",
        "SHARED": "from-function",
        "REGION_TEXT": "us-east-1-dev-${Literal}",
        "MODE": "plain",
        "QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:Queue",
        "TOPIC_NAME": "hello.events",
        "OPTIONAL": None,  # !If to AWS::NoValue: not set at all
        "UNSET": "",
    }
    env = last_line(echo)["env"]
    assert {name: env[name] for name in expected} == expected


def test_get_remaining_time_counts_down_from_the_timeout(echo: subprocess.CompletedProcess[str]) -> None:
    first, second = last_line(echo)["remaining"]  # read 0.2 s apart, Timeout 2 s
    assert 1500 < first <= 2000
    assert 150 <= first - second < 1000


def test_environment_precedence_end_to_end() -> None:
    # Given the env-vars file sets GREETING (and EXTRA, which the template does not declare),
    # and the caller's environment sets SHARED and EXTRA
    done = invoke(
        "EchoFunction",
        *("--env-vars", str(DATA / "env.json"), "--event", "-"),
        stdin='{"from": "stdin"}',
        env={"SHARED": "from-caller", "EXTRA": "from-caller", "AWS_REGION": "eu-west-1"},
    )
    result = last_line(done)
    env = result["env"]
    # Then the file beats the template, the caller beats both, and the file's undeclared EXTRA is
    # not applied (the caller's own EXTRA is simply inherited, as PATH is)
    assert env["GREETING"] == "from-file"
    assert env["SHARED"] == "from-caller"
    assert env["EXTRA"] == "from-caller"
    assert env["AWS_REGION"] == "eu-west-1" and env["REGION_TEXT"] == "eu-west-1-dev-${Literal}"
    assert result["event"] == {"from": "stdin"}


def test_undeclared_variables_in_the_file_are_ignored_and_the_default_event_is_empty() -> None:
    done = invoke("EchoFunction", "--env-vars", str(DATA / "env.json"))
    assert last_line(done)["env"]["EXTRA"] is None
    assert last_line(done)["event"] == {}


def test_parameter_overrides_reach_the_environment() -> None:
    done = invoke("EchoFunction", "--parameter-overrides", "Greeting=hi Secret=arn:secret")
    env = last_line(done)["env"]
    expected = {"GREETING": "hi", "TOPIC_NAME": "hi.events", "MODE": "secret", "OPTIONAL": "arn:secret"}
    assert {name: env[name] for name in expected} == expected
    assert parameter_overrides(["ParameterKey=Stage,ParameterValue=prod", "A=b=c"]) == {"Stage": "prod", "A": "b=c"}


def test_an_exception_gives_lambda_error_json_and_exit_1() -> None:
    done = invoke("FailingFunction")
    assert done.returncode == 1
    error = last_line(done)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input"
    assert len(error["stackTrace"]) == 1 and "handlers.py" in error["stackTrace"][0]
    assert "[ERROR] ValueError: bad input" in done.stderr and "Traceback" in done.stderr


@pytest.mark.parametrize(
    ("function", "error_type", "message"),
    [
        ("MissingModuleFunction", "Runtime.ImportModuleError", "Unable to import module 'no_such_module'"),
        ("MissingHandlerFunction", "Runtime.HandlerNotFound", "Handler 'no_such_function' missing"),
        ("FailsAtImportFunction", "ConfigurationError", "SETTING is missing"),
        ("UnserializableFunction", "Runtime.MarshalError", "Unable to marshal response"),
        ("ExitingFunction", "Runtime.ExitError", "Runtime exited with error: exit status 3"),
    ],
)
def test_runtime_failures_are_named_as_lambda_names_them(function: str, error_type: str, message: str) -> None:
    done = invoke(function)
    assert done.returncode == 1
    error = last_line(done)
    assert error["errorType"] == error_type and error["errorMessage"].startswith(message), done.stderr


def test_the_run_is_stopped_at_the_timeout() -> None:
    started = time.monotonic()
    done = invoke("SlowFunction")  # Timeout 1, sleeps 30 s
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert last_line(done)["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in done.stderr
    assert elapsed < 4  # 1 s of Timeout plus two interpreter starts, with room for a busy machine
    # what it printed before the kill is kept, and the process is gone
    # (the parent's START line may land between the child's text and its newline: both write to stderr)
    found = re.search(r"sleeping in pid (\d+)", done.stderr)
    assert found, done.stderr
    pid = int(found.group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_memory_over_the_limit_ends_the_run() -> None:
    done = invoke("HungryFunction")  # MemorySize 128, allocates 256 MB
    assert done.returncode == 2
    assert last_line(done)["errorType"] == "Runtime.OutOfMemory"
    assert "Memory Size: 128 MB" in done.stderr and "MemorySize 128 MB" in done.stderr


def test_a_large_result_arrives_whole() -> None:
    done = invoke("BigResultFunction")
    assert done.returncode == 0 and len(last_line(done)["data"]) == 300_000


def test_threads_left_running_do_not_hold_the_invocation() -> None:
    started = time.monotonic()
    done = invoke("LingeringThreadFunction")
    assert done.returncode == 0 and last_line(done) == "done"
    assert time.monotonic() - started < 5


def test_decimals_are_returned_as_numbers() -> None:
    assert last_line(invoke("DecimalFunction")) == {"price": 0.25}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NoSuchFunction",), "NoSuchFunction is not a function of this template; functions: EchoFunction"),
        (("EchoFunction", "--event", "/no/such/event.json"), "/no/such/event.json"),
        (("EchoFunction", "--parameter-overrides", "Stage=qa"), "Stage='qa' is not one of"),
        (("EchoFunction", "--repeat", "0"), "--repeat must be at least 1"),
    ],
)
def test_a_bad_call_is_a_clear_error_with_exit_2(args: tuple[str, ...], message: str) -> None:
    done = invoke(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr


def test_peak_rss_is_read_from_proc() -> None:
    assert 1 < peak_rss_mb(os.getpid()) < 10_000
    assert peak_rss_mb(2**22 + 12345) == 0.0  # no such process
