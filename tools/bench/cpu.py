"""`make bench ONLY=B`: what a 256 MB Lambda bills, from the CPU a run costs (issue 26).

Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB): at 256 MB, 0.145 of
a core, so a run there is bound by its CPU, not by the network. Each figure here comes from a fresh
interpreter running the handler once as Lambda's runtime does (the template's environment, layers
and code directory; awslambdaric imported first, then the handler module, then one invocation):
  - start-up CPU: the whole process of a one-item run (interpreter, imports, settings, the Kafka
    client's first use, one fetch and one produce), user + system;
  - CPU per 1,000 items past start-up: (CPU of the large run - CPU of the one-item run) / items;
  - peak memory: the process's resident high-water mark;
  - billed Duration at 256 MB: the process's wall time under a cgroup CPU quota of 14.5 % of one
    core where /sys/fs/cgroup lets this user make one (the broker and the sources stay outside
    it, as they are outside a Lambda), else CPU / 0.145 (never less than the wall time here).
RSS: 200 feeds x 30 items, 100 ms a request, on 20 loopback hosts (127.0.0.2 to 127.0.0.21, 10
feeds each), fresh state in SQLite, and again in DynamoDB as the template deploys it (moto's
server on loopback). Polymarket: 500 markets (1,000 tokens), 100 ms a request. Beside each,
the naive scripts (tools/bench/baselines.py) over the same sources, measured the same way, in the
same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local.cfn_template import effective_environment, function_config, load_template
from tools.services.aws_stand_in import moto_server
from tools.services.fixture_server import FixtureServer

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_VCPU_SHARE = 256 / 1769  # 0.1447 of a core at 256 MB
QUOTA_PERIOD_US = 100_000
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # v1; v2 has cpu.max in the unified hierarchy
CGROUP_V2 = Path("/sys/fs/cgroup")
HOSTS = 20
FEEDS, ITEMS = 200, 30
MARKETS = 500  # two tokens each: 1,000 tokens
# Lambda loads bytecode (sam build ships it); this machine sets PYTHONDONTWRITEBYTECODE, which would
# make every process here compile the project's modules afresh. So B's processes keep bytecode under
# .run/ (out of the tree), written by a first run that is not measured.
PYCACHE = ROOT / ".run" / "bench-pycache"
BENCH_KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}  # for moto's DynamoDB server
NAIVE_MARKETS = 50  # the naive way asks for each token's book, one after another: 100 tokens, 10 s at 100 ms

# One invocation as Lambda's python runtime makes it, in this fresh interpreter: the runtime client
# first, then the handler's module (Init), then the handler. Prints its own CPU at each point.
DRIVER = """
import json, os, resource, sys, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
import awslambdaric.bootstrap
module, name = os.environ["_HANDLER"].rsplit(".", 1)
handler = getattr(__import__(module), name)
init_cpu, started = cpu(), time.perf_counter()
class Context:
    function_name, function_version, memory_limit_in_mb = "bench", "$LATEST", "256"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id, log_group_name, log_stream_name = "bench", "/aws/lambda/bench", "bench"
    def get_remaining_time_in_millis(self):
        return int((started + 300 - time.perf_counter()) * 1000)
result = handler(json.load(open(sys.argv[1])), Context())
print(json.dumps({"init_cpu": init_cpu, "cpu": cpu(), "handler_s": time.perf_counter() - started, "result": result}))
"""


@dataclass(frozen=True)
class Process:
    """One fresh process: its whole CPU (user + system), wall time, peak memory, and what it printed."""

    cpu_s: float
    wall_s: float
    peak_mb: float
    output: str


def cpu_quota_cgroup() -> Path | None:
    """A cgroup with Lambda's 256 MB CPU share, or None where this machine does not allow one."""
    quota = int(QUOTA_PERIOD_US * LAMBDA_VCPU_SHARE)
    name = f"bench-lambda-{uuid.uuid4().hex[:8]}"
    try:
        if (CGROUP_CPU / "cpu.cfs_quota_us").exists():
            group = CGROUP_CPU / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(QUOTA_PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
            return group
        if (CGROUP_V2 / "cgroup.controllers").exists():
            group = CGROUP_V2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {QUOTA_PERIOD_US}")
            return group
    except OSError:
        return None
    return None


@contextlib.contextmanager
def lambda_cpu() -> Iterator[Path | None]:
    group = cpu_quota_cgroup()
    try:
        yield group
    finally:
        if group is not None:
            with contextlib.suppress(OSError):
                group.rmdir()


# Linux carries a process's resident high-water mark across fork and exec: a process forked from this
# bench (large by the time B runs: 220 MB after the other groups) reports at least the bench's size as
# its own peak. So each measured process is the child of a small one, which reports its rusage.
_SPAWN = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({"status": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime,
               "wall_s": time.perf_counter() - started, "peak_kb": usage.ru_maxrss}, report)
"""


def run_process(command: list[str], env: dict[str, str], cwd: Path, group: Path | None = None) -> Process:
    """Runs ``command`` to its end (in ``group`` when given), measuring it as Lambda would bill it:
    its own rusage (os.wait4 in the small process that started it), so CPU and peak memory are this
    process's alone."""

    def enter() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "rusage.json"
        spawn = [sys.executable, "-S", "-c", _SPAWN, str(report), *command]
        subprocess.run(spawn, cwd=cwd, env=env, stdout=out, stderr=err, preexec_fn=enter, check=False)
        out.seek(0)
        err.seek(0)
        measured: dict[str, float] = json.loads(report.read_text()) if report.exists() else {"status": -1}
        assert measured["status"] == 0, err.read()[-3000:].decode(errors="replace")
        return Process(measured["cpu_s"], measured["wall_s"], measured["peak_kb"] / 1024, out.read().decode())


def handler_process(
    function: str, env: dict[str, str], group: Path | None = None, prefix: tuple[str, ...] = (), before: str = ""
) -> tuple[Process, dict[str, Any]]:
    """The function once in a fresh interpreter, configured as tools/local/invoke.py configures it
    (``prefix``: a command to run it under, such as a profiler; ``before``: code the driver runs first)."""
    template = ROOT / "template.yaml"
    config = function_config(load_template(template), function, ROOT, {}, "us-east-1")
    caller = {**os.environ, **env, "KAFKA_TOPIC": env.get("KAFKA_TOPIC", f"b-{uuid.uuid4().hex}")}
    declared = effective_environment(config.environment, function, {}, caller)
    full = {
        **caller,
        **declared,
        "_HANDLER": config.handler,
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "PYTHONPATH": os.pathsep.join(str(path) for path in config.layer_dirs),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json") as driver, tempfile.NamedTemporaryFile("w") as event:
        driver.write(before + DRIVER)
        driver.flush()
        event.write((ROOT / "events" / "schedule.json").read_text())
        event.flush()
        process = run_process(
            [*prefix, sys.executable, "-c", f"exec(open({driver.name!r}).read())", event.name],
            full,
            config.code_dir,
            group,
        )
    printed = next(line for line in reversed(process.output.splitlines()) if line.startswith('{"init_cpu"'))
    return process, json.loads(printed)


def naive_process(arguments: list[str], group: Path | None = None) -> tuple[Process, int]:
    """The naive script (tools/bench/baselines.py) with ``arguments``, and how many messages it sent."""
    process = run_process([sys.executable, "-m", "tools.bench.baselines", *arguments], {**os.environ}, ROOT, group)
    return process, int(process.output.strip().splitlines()[-1])


@contextlib.contextmanager
def feed_hosts(feeds: int, items: int, hosts: int) -> Iterator[list[str]]:
    """``feeds`` distinct synthetic feeds spread over ``hosts`` loopback addresses, 100 ms a request."""
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                FixtureServer(latency_ms=100, synthetic_feeds=feeds, items=items, host=f"127.0.0.{2 + n}")
            )
            for n in range(hosts)
        ]
        yield [servers[index % hosts].synthetic_feed_urls()[index] for index in range(feeds)]


@dataclass
class Measured:
    """Start-up and large-run processes of one producer, each repeated."""

    startup: list[Process]
    large: list[Process]
    items: int
    billed: list[float]  # wall seconds of the large run under the quota (or CPU / share)
    quota: bool

    def per_thousand(self) -> list[float]:
        base = statistics.median(p.cpu_s for p in self.startup)
        return [(p.cpu_s - base) / self.items * 1000 for p in self.large]


def repeated(repeat: int, sizes: tuple[int, int], run: Any, group: Path | None) -> Measured:
    """``run(size, group)`` -> (process, items sent): the small and large size ``repeat`` times, then
    the large one again under the quota (when there is one) for its billed Duration."""
    startup: list[Process] = []
    large: list[Process] = []
    billed: list[float] = []
    sent: dict[int, int] = {}
    run(sizes[0], None)  # writes the bytecode the measured runs load, as Lambda loads what the build shipped
    for _ in range(repeat):
        for size, runs in zip(sizes, (startup, large), strict=True):
            process, sent[size] = run(size, None)
            runs.append(process)
        if group is not None:
            billed.append(run(sizes[1], group)[0].wall_s)
        else:
            billed.append(max(large[-1].wall_s, large[-1].cpu_s / LAMBDA_VCPU_SHARE))
    return Measured(startup, large, sent[sizes[1]] - sent[sizes[0]], billed, group is not None)


def rss_measured(bootstrap: str, repeat: int, naive: bool) -> Measured:
    with tempfile.TemporaryDirectory() as state_dir, feed_hosts(FEEDS, ITEMS, HOSTS) as urls, lambda_cpu() as group:

        def run(count: int, quota: Path | None) -> tuple[Process, int]:
            if naive:
                topic = f"b-{uuid.uuid4().hex}"
                return naive_process(["rss", bootstrap, topic, *urls[:count]], quota)
            env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(urls[:count])}
            env["STATE_PATH"] = f"{state_dir}/{uuid.uuid4().hex}.sqlite"  # fresh state every run
            process, summary = handler_process("RssProducerFunction", env, quota)
            assert summary["result"]["produced"] == count * ITEMS, summary
            return process, summary["result"]["produced"]

        return repeated(repeat, (1, FEEDS), run, group)


def state_table(endpoint: str, name: str) -> Any:
    """A boto3 client of ``endpoint``, holding a new state table ``name`` (the template's key schema)."""
    import boto3

    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=BENCH_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=BENCH_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def rss_on_dynamodb(bootstrap: str, repeat: int) -> Measured:
    """The RSS runs as the template deploys them: state in DynamoDB (``STATE_TABLE``), so a run
    builds the store's DynamoDB client and sends its state reads and writes through it, as every
    cold start of the function does. A fresh table a run."""
    with moto_server() as endpoint, feed_hosts(FEEDS, ITEMS, HOSTS) as urls:

        def run(count: int, quota: Path | None) -> tuple[Process, int]:
            table = f"b-{uuid.uuid4().hex}"
            client = state_table(endpoint, table)
            env = {**BENCH_KEYS, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "STATE_TABLE": table, "STATE_PATH": ""}
            env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "FEED_URLS": ",".join(urls[:count])}
            process, summary = handler_process("RssProducerFunction", env, quota)
            assert summary["result"]["produced"] == count * ITEMS, summary
            assert client.scan(TableName=table, Select="COUNT")["Count"] >= count * ITEMS  # state went there
            client.delete_table(TableName=table)
            return process, summary["result"]["produced"]

        return repeated(repeat, (1, FEEDS), run, None)


def polymarket_measured(bootstrap: str, repeat: int, naive: bool) -> Measured:
    with FixtureServer(latency_ms=100, synthetic_markets=MARKETS) as server, lambda_cpu() as group:
        gamma, clob = f"{server.url}/gamma", f"{server.url}/clob"

        def run(count: int, quota: Path | None) -> tuple[Process, int]:
            if naive:
                topic = f"b-{uuid.uuid4().hex}"
                return naive_process(["polymarket", bootstrap, gamma, clob, str(count), topic], quota)
            env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "POLYMARKET_GAMMA_URL": gamma}
            env |= {"POLYMARKET_CLOB_URL": clob, "MAX_MARKETS": str(count)}
            process, summary = handler_process("PolymarketProducerFunction", env, quota)
            assert summary["result"]["failed"] == 0, summary
            return process, summary["result"]["produced"]

        return repeated(repeat, (1, NAIVE_MARKETS if naive else MARKETS), run, group)


# The figures of the last b_rows run, which tools/bench/cost.py's scale table reads.
MEASURED: dict[str, Measured] = {}


def rows_for(label: str, measured: Measured, unit: str) -> list[list[str]]:
    def cells(figure: str, samples: list[float], fmt: str) -> list[str]:
        median, low, high = (fmt.format(v) for v in (statistics.median(samples), min(samples), max(samples)))
        return ["B", f"{label}: {figure}", median, low, high]

    how = "wall under a 14.5 % CPU quota" if measured.quota else "CPU / 0.145 (no cgroup here)"
    large = f"{measured.items:,} {unit} more"
    return [
        cells(f"CPU per 1,000 {unit} past start-up", [s * 1000 for s in measured.per_thousand()], "{:.0f} ms"),
        cells(
            "start-up CPU (a one-feed or one-market run, whole process)",
            [p.cpu_s for p in measured.startup],
            "{:.3f} s",
        ),
        cells(f"whole-process CPU of the run with {large}", [p.cpu_s for p in measured.large], "{:.3f} s"),
        cells("peak memory of that run", [p.peak_mb for p in measured.large], "{:.0f} MB"),
        cells(f"billed Duration of that run at 256 MB ({how})", measured.billed, "{:.2f} s"),
    ]


def b_rows(args: Any, bootstrap: str) -> list[list[str]]:
    repeat = max(1, args.repeat)
    rows: list[list[str]] = []
    for name, measure, unit, label in (
        ("rss", rss_measured, "items", f"RSS {FEEDS} feeds x {ITEMS} items, {HOSTS} hosts"),
        ("polymarket", polymarket_measured, "tokens", f"Polymarket {MARKETS * 2:,} tokens"),
    ):
        MEASURED[name] = measure(bootstrap, repeat, False)
        rows += rows_for(label, MEASURED[name], unit)
        if name == "rss":  # and as deployed, on DynamoDB
            MEASURED["rss dynamodb"] = rss_on_dynamodb(bootstrap, repeat)
            rows += rows_for(f"{label}, DynamoDB state (moto's server)", MEASURED["rss dynamodb"], unit)[:2]
        MEASURED[f"{name} naive"] = measure(bootstrap, max(1, repeat // 2), True)
        naive_label = "naive script" + (f" ({NAIVE_MARKETS * 2} tokens)" if name == "polymarket" else "")
        rows += rows_for(f"{label}, {naive_label}", MEASURED[f"{name} naive"], unit)
    return rows


def scale_cost() -> str | None:
    """tools/bench/cost.py's compute-at-scale table from the last b_rows figures (None before them)."""
    from tools.bench.cost import Workload, deployment, scale_table

    if "rss dynamodb" not in MEASURED or "polymarket" not in MEASURED:
        return None

    def workload(name: str, label: str, schedule: str, items: int) -> Workload:
        measured = MEASURED[name]
        startup = statistics.median(p.cpu_s for p in measured.startup)
        wall = statistics.median(p.wall_s for p in measured.large) - statistics.median(
            p.wall_s for p in measured.startup
        )
        per_item = statistics.median(measured.per_thousand()) / 1000
        return Workload(label, schedule, items, startup, per_item, max(0.0, wall) / measured.items)

    workloads = [
        workload("rss dynamodb", f"RSS, {feeds:,} feeds x {ITEMS} items", "rate(15 minutes)", feeds * ITEMS)
        for feeds in (100, 1000, 10_000)
    ]
    workloads.append(
        workload("rss naive", f"RSS, 1,000 feeds x {ITEMS} items, naive script", "rate(15 minutes)", 30_000)
    )
    workloads.append(workload("polymarket", "Polymarket, 1,000 tokens", "rate(5 minutes)", 1000))
    return scale_table(workloads, deployment(ROOT / "template.yaml")["architecture"])
