"""Handlers for the invoke tests: each shows one behaviour of the Lambda stand-in."""

import os
import sys
import time

import shared_helper


def echo(event, context):
    print("a log line on stdout", flush=True)
    os.write(1, b"a C library writing to fd 1\n")
    first = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    return {
        "event": event,
        "env": {
            k: os.environ.get(k)
            for k in (
                "GREETING",
                "SHARED",
                "REGION_TEXT",
                "JOINED",
                "MODE",
                "QUEUE_ARN",
                "TOPIC_NAME",
                "OPTIONAL",
                "UNSET",
                "EXTRA",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            )
        },
        "remaining": [first, context.get_remaining_time_in_millis()],
        "layer": shared_helper.NAME,
        "path0": sys.path[0],
        "memory": context.memory_limit_in_mb,
    }


def slow(event, context):
    time.sleep(30)


def fail(event, context):
    raise ValueError("bad input")


def hungry(event, context):
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(16)]  # 256 MB
    time.sleep(1)
    return len(blocks)
