"""What the benchmark groups share: a table row from samples, the environment put back after a
scenario, messages timed through producer_common and through a bare confluent-kafka loop, `sam
build`'s output, and one run through invoke measured."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lambda_build import HOST_ARCHITECTURE
from tools.local import invocation
from tools.local.handler import LambdaContext, load_event, load_handler

ROOT = Path(__file__).resolve().parents[2]
BUILT = {"rss": "RssProducerFunction", "polymarket": "PolymarketProducerFunction"}
# The bare loops' producer: the settings producer_common gives librdkafka that matter for throughput.
BARE_PRODUCER = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 20,
    "queue.buffering.max.messages": 1_000_000,
}


def row(scenario: str, figure: str, samples: list[float], unit: str = "s") -> list[str]:
    return [scenario, figure, f"{statistics.median(samples):.3f} {unit}", f"{min(samples):.3f}", f"{max(samples):.3f}"]


def timed_module(
    settings: Any, payload: list[tuple[str, Any]], headers: dict[str, str], *args: Any, **kwargs: Any
) -> float:
    """Seconds for producer_common (``open_producer(settings, deadline, *args, **kwargs)``) to send
    ``payload``'s (key, value) pairs and have every one acknowledged."""
    from producer_common import Deadline, OutgoingMessage, open_producer

    started = time.perf_counter()
    with open_producer(settings, Deadline(fallback_s=300), *args, **kwargs) as producer:
        for key, value in payload:
            producer.send(OutgoingMessage(key, value, headers))
    elapsed = time.perf_counter() - started
    assert producer.report.ok, producer.report.reasons()
    return elapsed


def timed_bare(
    config: dict[str, str],
    topic: str,
    payload: list[tuple[str, Any]],
    serialize: Callable[[Any], bytes],
    headers: list[tuple[str, str | bytes | None]],
) -> float:
    """Seconds for the same work done by hand: a confluent-kafka Producer with BARE_PRODUCER's settings
    (and ``config``), produce and poll(0) per message, then flush, every message acknowledged."""
    from confluent_kafka import Producer

    acked = 0

    def on_delivery(error: object, _message: object) -> None:
        nonlocal acked
        acked += error is None

    started = time.perf_counter()
    producer = Producer({**BARE_PRODUCER, **config})
    for key, value in payload:
        producer.produce(topic, key=key.encode(), value=serialize(value), headers=headers, on_delivery=on_delivery)
        producer.poll(0)
    producer.flush(300)
    elapsed = time.perf_counter() - started
    assert acked == len(payload)
    return elapsed


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """The scenarios set the handlers' variables in os.environ; put it back as it was after each."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def built(destination: Path) -> tuple[Path, Path]:
    """`sam build` into ``destination``/shipped, for this machine's architecture (the template's default,
    arm64, would give compiled libraries an x86_64 host cannot import), and a copy of it without the
    shipped bytecode in ``destination``/sources."""
    shipped, sources = destination / "shipped", destination / "sources"
    command = [str(ROOT / ".venv" / "bin" / "sam"), "build", "--build-dir", str(shipped)]
    command += ["--parameter-overrides", f"Architecture={HOST_ARCHITECTURE}"]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "LAMBDA_ARCHITECTURE": HOST_ARCHITECTURE}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shutil.copytree(shipped, sources, ignore=shutil.ignore_patterns("__pycache__"))
    return shipped, sources


def in_process(function: str, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """One call of functions/<function>'s handler in this process, freshly imported as on a cold
    start, with ``env`` set (on a topic of its own): seconds and summary."""
    os.environ.update({**env, "LOG_LEVEL": "WARNING", "KAFKA_TOPIC": f"b-{uuid.uuid4().hex}"})
    handler = load_handler(function)
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's metrics lines
        started = time.perf_counter()
        summary = handler.lambda_handler(load_event(), LambdaContext(function_name="bench"))
        return time.perf_counter() - started, summary


def invoke(function: str, env: dict[str, str]) -> tuple[float, float, float, dict[str, Any]]:
    """One run through tools/local/invoke.py in a fresh interpreter: wall s, CPU s, Max Memory Used MB, result.

    The CPU is every process the run started (invoke and the handler's child), read from
    RUSAGE_CHILDREN; the fixture server (a thread here) and the broker (still running) are not in it.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = invocation.run(function, {**env, "LOG_LEVEL": "WARNING", "KAFKA_TOPIC": f"s-{uuid.uuid4().hex}"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.exit_code == 0 and done.max_memory_mb is not None, done.log_text[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.duration_s, cpu, float(done.max_memory_mb), done.value
