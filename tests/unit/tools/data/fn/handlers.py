"""Handlers for the invoke tests: each shows one behaviour of the Lambda stand-in."""

import decimal
import importlib.util
import logging
import os
import sys
import threading
import time

import shadowed
import shared_helper
import which_layer

RUNTIME_VARIABLES = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "LAMBDA_TASK_ROOT",
    "_HANDLER",
)
TEMPLATE_VARIABLES = ("GREETING", "SHARED", "REGION_TEXT", "MODE", "QUEUE_ARN", "TOPIC_NAME", "OPTIONAL", "UNSET")


def echo(event, context):
    import extra_helper  # only EchoFunction lists ExtraLayer
    from aws_lambda_powertools import Logger

    logger = Logger(service="echo")  # writes JSON lines to stdout, as in Lambda
    print("print() on stdout", flush=True)
    os.write(1, b"a C library writing to fd 1\n")
    sys.stderr.write("a write to stderr\n")
    logging.getLogger("a.library").warning("a logging record")
    logger.info("a Powertools record")
    first = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    second = context.get_remaining_time_in_millis()
    names = ("function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb", "aws_request_id")
    return {
        "event": event,
        "env": {name: os.environ.get(name) for name in (*TEMPLATE_VARIABLES, *RUNTIME_VARIABLES, "EXTRA")},
        "context": {name: getattr(context, name) for name in (*names, "log_group_name", "log_stream_name")},
        "remaining": [first, second],
        "path": sys.path[:3],
        "modules": {
            "shadowed": shadowed.WHERE,
            "which_layer": which_layer.NAME,
            "shared": shared_helper.NAME,
            "extra": extra_helper.NAME,
        },
        "tools_importable": importlib.util.find_spec("tools") is not None,
        "cwd": os.getcwd(),
    }


def slow(event, context):
    print(f"sleeping in pid {os.getpid()}")  # unbuffered: still seen after the kill
    time.sleep(30)


def fail(event, context):
    raise ValueError("bad input")


def hungry(event, context):
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(16)]  # 256 MB, twice the MemorySize
    time.sleep(1)
    return len(blocks)


def big_result(event, context):
    return {"data": "x" * 300_000}  # more than a pipe holds at once


def leave_a_thread(event, context):
    threading.Thread(target=time.sleep, args=(30,)).start()  # not a daemon: would hold interpreter exit
    return "done"


def decimal_result(event, context):
    return {"price": decimal.Decimal("0.25")}  # DynamoDB's numbers


def unserializable(event, context):
    return {"when": object()}


def exit_early(event, context):
    sys.exit(3)
