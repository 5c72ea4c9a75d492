"""The monthly cost of the default deployment in us-east-1, from measured runs and list prices.

`make bench` (group I) measures what one run of each function costs in time, memory, log bytes,
metrics and DynamoDB request units; this module multiplies by the template's default schedules
and the prices below, one line per billed item, with its arithmetic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local.cfn_template import Resolver, load_template

# AWS's published list prices for us-east-1 as of 2025 (aws.amazon.com/<service>/pricing/), before
# free tiers; update the date and figures together.
PRICES_AS_OF = "2025"
PRICES = {
    "lambda_gb_s": 0.0000166667,  # x86_64, first 6 billion GB-s a month
    "lambda_gb_s_arm64": 0.0000133334,  # arm64 (Graviton), first 7.5 billion GB-s a month: 20 % less
    "scheduler_invocation": 1.00 / 1e6,  # EventBridge Scheduler, after 14 million free a month
    "lambda_request": 0.20 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,  # on demand (since the November 2024 reduction)
    "dynamodb_write_unit": 0.625 / 1e6,
    "alarm": 0.10,  # standard resolution, per alarm metric and month
    "custom_metric": 0.30,  # per metric and month, first 10,000
    "log_gb_ingested": 0.50,  # CloudWatch Logs, standard class
    "sqs_request": 0.40 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "secret": 0.40,  # per secret and month
    "secret_call": 0.05 / 10_000,
}
HOURS_PER_MONTH = 730
FUNCTIONS = {"rss": "RssProducerFunction", "polymarket": "PolymarketProducerFunction"}
SCHEDULES = {"rss": "RssSchedule", "polymarket": "PolymarketSchedule"}
ARCHITECTURES = ("arm64", "x86_64")
GB_S_PRICE = {"arm64": "lambda_gb_s_arm64", "x86_64": "lambda_gb_s"}


@dataclass(frozen=True)
class Run:
    """One measured invocation of a function: what Lambda bills it and what it leaves behind."""

    billed_ms: float  # Init Duration + Duration: both are billed
    log_bytes: int  # everything the invocation writes to its log group
    metrics: frozenset[str]  # EMF metric name and dimensions, each a custom metric
    read_units: int = 0  # DynamoDB
    write_units: int = 0


def runs_per_month(schedule: str) -> int:
    """``rate(N minutes|hours|days)`` as invocations in a 730-hour month."""
    found = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule.strip())
    if not found:
        raise ValueError(f"{schedule!r}: only rate(...) expressions are priced here")
    minutes = int(found.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[found.group(2)]
    return HOURS_PER_MONTH * 60 // minutes


def deployment(template_path: Path) -> dict[str, Any]:
    """What the template deploys with its default parameters: schedules, memory, alarms, queues, secrets."""
    template = load_template(template_path)
    resolver = Resolver(template, region="us-east-1")
    resources = [
        spec
        for spec in (template.get("Resources") or {}).values()
        if "Condition" not in spec or resolver.condition(spec["Condition"])
    ]
    memory = (template.get("Globals") or {}).get("Function", {}).get("MemorySize", 128)

    def count(kind: str) -> int:
        return sum(spec.get("Type") == kind for spec in resources)

    return {
        "schedules": {name: resolver.parameters[SCHEDULES[name]] for name in FUNCTIONS},
        "memory_mb": int(memory),
        "architecture": resolver.parameters.get("Architecture", "x86_64"),
        "alarms": count("AWS::CloudWatch::Alarm"),
        "queues": count("AWS::SQS::Queue"),
        "topics": count("AWS::SNS::Topic"),
        "secrets": 1 if resolver.parameters.get("KafkaSecretArn") else 0,
    }


def monthly_cost(runs: Mapping[str, Run], deployed: Mapping[str, Any]) -> list[tuple[str, str, float]]:
    """(item, arithmetic, US$ a month) for each billed item of the deployment."""
    gb = deployed["memory_mb"] / 1024
    counts = {name: runs_per_month(deployed["schedules"][name]) for name in FUNCTIONS}
    compute: list[tuple[str, str, float]] = []
    architecture = deployed.get("architecture", "x86_64")
    gb_s_price = PRICES[GB_S_PRICE[architecture]]
    for name, run in runs.items():
        count = counts[name]
        gb_s = count * math.ceil(run.billed_ms) / 1000 * gb
        compute.append(
            (
                f"Lambda compute, {name} ({architecture})",
                f"{count:,} runs ({deployed['schedules'][name]}) x {math.ceil(run.billed_ms):,} ms billed "
                f"(Init + Duration, a cold start every run) x {gb:g} GB = {gb_s:,.0f} GB-s x ${gb_s_price:.10f}",
                gb_s * gb_s_price,
            )
        )
    dynamodb: list[tuple[str, str, float]] = []
    for label, price in (("reads", "dynamodb_read_unit"), ("writes", "dynamodb_write_unit")):
        per_function = {name: getattr(run, label[:-1] + "_units") for name, run in runs.items()}
        units = sum(counts[name] * count for name, count in per_function.items())
        per_run = ", ".join(f"{counts[name]:,} x {count}" for name, count in per_function.items() if count)
        dynamodb.append(
            (
                f"DynamoDB on-demand {label}",
                f"{per_run} request units (every item new every run: an upper bound) = {units:,} "
                f"x ${PRICES[price] * 1e6:.3f} per million",
                units * PRICES[price],
            )
        )
    requests = sum(counts.values())
    metrics = set().union(*(run.metrics for run in runs.values()))
    log_gb = sum(counts[name] * run.log_bytes for name, run in runs.items()) / 1e9
    logged = ", ".join(f"{counts[n]:,} x {r.log_bytes:,} B" for n, r in runs.items())
    secrets = deployed["secrets"]
    cold_starts = requests if secrets else 0
    return [
        *compute,
        (
            "Lambda requests",
            f"{requests:,} invocations x ${PRICES['lambda_request'] * 1e6:.2f} per million",
            requests * PRICES["lambda_request"],
        ),
        (
            "EventBridge Scheduler",
            f"{requests:,} scheduled invocations x ${PRICES['scheduler_invocation'] * 1e6:.2f} per million "
            "(the first 14 million a month are free)",
            requests * PRICES["scheduler_invocation"],
        ),
        *dynamodb,
        (
            "CloudWatch custom metrics (EMF)",
            f"{len(metrics)} metrics, each name with its dimensions ({', '.join(sorted(metrics))}) "
            f"x ${PRICES['custom_metric']:.2f}",
            len(metrics) * PRICES["custom_metric"],
        ),
        (
            "CloudWatch alarms",
            f"{deployed['alarms']} standard alarms x ${PRICES['alarm']:.2f}",
            deployed["alarms"] * PRICES["alarm"],
        ),
        (
            "CloudWatch Logs ingested",
            f"{logged} = {log_gb:.3f} GB x ${PRICES['log_gb_ingested']:.2f} per GB",
            log_gb * PRICES["log_gb_ingested"],
        ),
        (
            "SQS",
            f"{deployed['queues']} queues, no requests while runs succeed (only a failed invocation or "
            f"schedule event is sent; nothing polls them) x ${PRICES['sqs_request'] * 1e6:.2f} per million",
            0.0,
        ),
        (
            "SNS",
            f"{deployed['topics']} topic, a publish only when an alarm changes state "
            f"x ${PRICES['sns_publish'] * 1e6:.2f} per million",
            0.0,
        ),
        (
            "Secrets Manager",
            f"{secrets} secrets (KafkaSecretArn is empty by default; one costs ${PRICES['secret']:.2f} a month "
            f"and a GetSecretValue per cold start, at most {requests:,} "
            f"x ${PRICES['secret_call'] * 1e4:.2f} per 10,000)",
            secrets * PRICES["secret"] + cold_starts * PRICES["secret_call"],
        ),
    ]


def by_architecture(runs: Mapping[str, Run], deployed: Mapping[str, Any]) -> dict[str, list[tuple[str, str, float]]]:
    """The month's lines with the functions on each architecture, the deployed one first."""
    order = sorted(ARCHITECTURES, key=lambda arch: arch != deployed.get("architecture", "x86_64"))
    return {arch: monthly_cost(runs, {**deployed, "architecture": arch}) for arch in order}


def table(lines: list[tuple[str, str, float]], *others: list[tuple[str, str, float]]) -> str:
    """The lines and their total; each of ``others`` (the month on another architecture) adds the
    lines that differ and its own total."""
    total = sum(cost for _, _, cost in lines)
    text = "| item | arithmetic | US$ / month |\n| --- | --- | --- |\n"
    text += "".join(f"| {item} | {arithmetic} | {cost:.4f} |\n" for item, arithmetic, cost in lines)
    text += f"| **total**{_architecture_of(lines)} | free tiers not deducted | **{total:.2f}** |\n"
    for other in others:
        text += "".join(
            f"| {item} | {arithmetic} | {cost:.4f} |\n"
            for item, arithmetic, cost in other
            if (item, arithmetic, cost) not in lines
        )
        other_total = sum(cost for _, _, cost in other)
        text += f"| **total**{_architecture_of(other)} | the same, the functions on it | **{other_total:.2f}** |\n"
    return text


def _architecture_of(lines: list[tuple[str, str, float]]) -> str:
    found = re.search(
        r"\((arm64|x86_64)\)$", next((item for item, _, _ in lines if item.startswith("Lambda compute")), "")
    )
    return f" on {found.group(1)}" if found else ""


# --- Compute at scale (issue 26): what a run's measured CPU costs as the work grows ----------------
LAMBDA_MB_PER_VCPU = 1769  # Lambda allots CPU in proportion to memory: one vCPU at 1,769 MB
MEMORY_SIZES_MB = (128, 256, 512, 1024, 1769)
TIMEOUT_S = 300


@dataclass(frozen=True)
class Workload:
    """One function's run at a size, from measured figures: CPU = start-up + items x CPU per item;
    the wall time it cannot go below (the sources' latency) grows with the items too."""

    label: str
    schedule: str
    items: int
    startup_cpu_s: float
    cpu_per_item_s: float
    wall_per_item_s: float  # the unthrottled run's wall time past start-up, per item

    @property
    def cpu_s(self) -> float:
        return self.startup_cpu_s + self.items * self.cpu_per_item_s

    def billed_s(self, memory_mb: int) -> float:
        """Duration at ``memory_mb``: the CPU at Lambda's share of a core (one core at most: the work
        is one Python process), or the wall floor, whichever is longer."""
        share = min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)
        return max(self.items * self.wall_per_item_s, self.cpu_s / share)

    def monthly(self, memory_mb: int, architecture: str) -> float:
        runs = runs_per_month(self.schedule)
        gb_s = runs * math.ceil(self.billed_s(memory_mb) * 1000) / 1000 * memory_mb / 1024
        return gb_s * PRICES[GB_S_PRICE[architecture]] + runs * PRICES["lambda_request"]

    def crossover_mb(self) -> float:
        """Below this size a run is bound by CPU and costs the same at any memory (duration x memory is
        constant); above it the run waits on its sources and every MB is paid for waiting."""
        return LAMBDA_MB_PER_VCPU * self.cpu_s / max(self.items * self.wall_per_item_s, 1e-9)


def scale_table(workloads: list[Workload], architecture: str, sizes: tuple[int, ...] = MEMORY_SIZES_MB) -> str:
    """Lambda compute and requests a month for each workload at each memory size, the functions on
    ``architecture`` (the template's default); a size whose run would pass the 300 s timeout is marked."""
    text = f"| workload (on {architecture}) | schedule | CPU a run | " + " | ".join(f"{mb} MB" for mb in sizes)
    text += " | CPU-bound up to |\n| --- | --- | --- |" + " --- |" * len(sizes) + " --- |\n"
    for work in workloads:
        cells = []
        for mb in sizes:
            billed = work.billed_s(mb)
            over = " (over 300 s)" if billed > TIMEOUT_S else ""
            cells.append(f"${work.monthly(mb, architecture):,.2f} ({billed:,.1f} s){over}")
        text += f"| {work.label} | {work.schedule} | {work.cpu_s:,.2f} s | " + " | ".join(cells)
        text += f" | {work.crossover_mb():,.0f} MB |\n"
    return text
