"""tools/bench/cost.py: the monthly cost lines, their arithmetic, and what the template deploys by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.bench.cost import (
    PRICES,
    Run,
    Workload,
    by_architecture,
    deployment,
    monthly_cost,
    runs_per_month,
    scale_table,
    table,
)
from tools.bench.idle import emf_metrics

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
SCHEDULES = {"rss": "rate(15 minutes)", "polymarket": "rate(5 minutes)"}
DEPLOYED = {"schedules": SCHEDULES, "memory_mb": 256, "alarms": 8, "queues": 4, "topics": 1, "secrets": 0}


@pytest.mark.parametrize(
    ("schedule", "runs"), [("rate(15 minutes)", 2920), ("rate(5 minutes)", 8760), ("rate(1 hour)", 730)]
)
def test_a_rate_is_runs_in_a_730_hour_month(schedule: str, runs: int) -> None:
    assert runs_per_month(schedule) == runs


def test_a_cron_schedule_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="rate"):
        runs_per_month("cron(0 12 * * ? *)")


def test_the_default_deployment_is_read_from_the_template() -> None:
    deployed = deployment(TEMPLATE)
    assert deployed["schedules"] == SCHEDULES
    assert deployed["memory_mb"] == 256 and deployed["architecture"] == "arm64"
    # RssFanOutFailedAlarm exists only with RssShards > 1; no secret without KafkaSecretArn
    assert deployed["alarms"] == 8 and deployed["queues"] == 4 and deployed["topics"] == 1
    assert deployed["secrets"] == 0


def test_each_line_is_its_arithmetic() -> None:
    # Given one measured run of each function
    runs = {
        "rss": Run(400.2, 2000, frozenset({"A[service=rss]", "M[service=rss]"}), read_units=155, write_units=5),
        "polymarket": Run(1000, 1000, frozenset({"M[service=polymarket]"})),
    }
    # When the month is priced
    lines = {item: cost for item, _, cost in monthly_cost(runs, DEPLOYED)}
    # Then each line is count x unit x price
    assert lines["Lambda compute, rss (x86_64)"] == pytest.approx(2920 * 0.401 * 0.25 * PRICES["lambda_gb_s"])
    assert lines["Lambda compute, polymarket (x86_64)"] == pytest.approx(8760 * 1.0 * 0.25 * PRICES["lambda_gb_s"])
    assert lines["Lambda requests"] == pytest.approx(11680 * PRICES["lambda_request"])
    assert lines["EventBridge Scheduler"] == pytest.approx(11680 * 1.00 / 1e6)
    assert lines["DynamoDB on-demand reads"] == pytest.approx(2920 * 155 * PRICES["dynamodb_read_unit"])
    assert lines["DynamoDB on-demand writes"] == pytest.approx(2920 * 5 * PRICES["dynamodb_write_unit"])
    assert lines["CloudWatch custom metrics (EMF)"] == pytest.approx(3 * 0.30)
    assert lines["CloudWatch alarms"] == pytest.approx(0.80)
    assert lines["CloudWatch Logs ingested"] == pytest.approx((2920 * 2000 + 8760 * 1000) / 1e9 * 0.50)
    assert lines["Secrets Manager"] == 0
    assert "**total**" in table(monthly_cost(runs, DEPLOYED))


def test_the_table_prices_the_functions_on_both_architectures() -> None:
    # Given one measured run of each function, deployed on arm64 (the template's default)
    deployed = {**DEPLOYED, "architecture": "arm64"}
    runs = {"rss": Run(400, 2000, frozenset()), "polymarket": Run(1000, 1000, frozenset())}
    # When the month is priced on each
    months = by_architecture(runs, deployed)
    arm, x86 = ({item: cost for item, _, cost in lines} for lines in months.values())
    # Then the deployed one comes first, arm64 GB-seconds cost 20 % less, and nothing else differs
    assert list(months) == ["arm64", "x86_64"]
    assert arm["Lambda compute, rss (arm64)"] == pytest.approx(0.8 * x86["Lambda compute, rss (x86_64)"], rel=1e-4)
    assert {k: v for k, v in arm.items() if "compute" not in k} == {k: v for k, v in x86.items() if "compute" not in k}
    text = table(*months.values())
    assert "| **total** on arm64 |" in text and "| **total** on x86_64 |" in text
    assert text.count("Lambda requests") == 1 and text.count("Lambda compute, rss") == 2


def test_the_scale_table_prices_compute_on_the_architecture_it_is_given() -> None:
    # Given a CPU-bound run: 0.2 s start-up and 3 s for its items
    work = Workload("RSS", "rate(15 minutes)", 30_000, 0.2, 0.0001, 0.0)
    # When it is priced on each architecture
    arm, x86 = (scale_table([work], arch) for arch in ("arm64", "x86_64"))
    # Then each says its architecture, and at 256 MB compute costs 20 % less on arm64
    assert "(on arm64)" in arm and "(on x86_64)" in x86
    requests = runs_per_month("rate(15 minutes)") * PRICES["lambda_request"]
    at_256 = [w.monthly(256, a) - requests for w, a in ((work, "arm64"), (work, "x86_64"))]
    assert at_256[0] == pytest.approx(0.8 * at_256[1], rel=1e-4)
    assert at_256[1] == pytest.approx(2920 * round(3.2 / (256 / 1769), 3) * 0.25 * PRICES["lambda_gb_s"], rel=1e-3)


def test_a_custom_metric_is_a_name_with_its_dimensions_and_their_values() -> None:
    def emf(service: str, names: list[str]) -> str:
        directive = {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": n} for n in names]}
        return json.dumps({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [directive]}, "service": service})

    log = "\n".join(["START ...", emf("rss", ["A", "B"]), '{"level":"INFO"}', emf("polymarket", ["B"])])
    assert emf_metrics(log) == {"A[service=rss]", "B[service=rss]", "B[service=polymarket]"}
