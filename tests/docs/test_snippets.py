"""Every fenced block of the README and docs/ runs, or is checked as what it is.

- ``bash``: each command is checked without side effects, and what is cheap and local runs for real.
  ``make <target> ...`` runs as ``make -n`` with the same variables (the target exists and its recipe
  expands); ``python -m <module>`` imports the module; ``sam <command>`` asks the SAM CLI in .venv for
  that command's help; ``aws <service> <command>`` must be an operation botocore knows; ``airflow dags
  trigger <dag>`` must name the DAG in orchestration/airflow. Commands against real AWS (``make deploy
  DEPLOY_ARGS=--guided``, ``sam deploy``, ``aws s3 cp``) are only checked that way, never run. ``make
  register-schemas`` and ``make invoke`` run for real in the Python test below, against the suite's
  registry and broker.
- ``python``: the consumers of docs/schemas.md run, one page in one namespace, against Apache Kafka
  (its consumer groups join at once, Tansu's after about 23 s) and the registry, after ``make
  register-schemas`` and ``make invoke`` wrote Avro messages; only the addresses are changed.
- ``json`` must parse with json.loads; ``text`` shows a diagram or output and is not run. Any other
  language, or none, fails: a new kind of snippet needs a way to run here.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.docs.pages import ROOT, Block, all_blocks
from tools.services.fixture_server import FixtureServer
from tools.services.kafka import ApacheKafka
from tools.services.registry import EmbeddedRegistry

LANGUAGES = {"bash", "python", "json", "text"}
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
VENV_BIN = Path(sys.executable).parent
# The documented addresses, and the page whose Python blocks run against the suite's services.
DOC_BOOTSTRAP = "127.0.0.1:9092"
DOC_REGISTRY = "http://127.0.0.1:8080/apis/ccompat/v7"
CONSUMER_PAGE = ROOT / "docs" / "schemas.md"
S3_HIGH_LEVEL = {"cp", "ls", "mv", "rm", "sync", "mb", "rb", "presign"}
SEPARATORS = {"&&", "&", ";"}


def commands(block: Block) -> list[list[str]]:
    """The block's commands as argument lists: continuations joined, comments dropped, split at && and &."""
    text = re.sub(r"\\\n\s*", " ", block.text)
    return [
        list(command)
        for line in text.splitlines()
        for separator, command in itertools.groupby(shlex.split(line, comments=True), SEPARATORS.__contains__)
        if not separator
    ]


def split_assignments(command: list[str]) -> tuple[dict[str, str], list[str]]:
    assignments = list(itertools.takewhile(ASSIGNMENT.match, command))
    return dict(word.split("=", 1) for word in assignments), command[len(assignments) :]


def check_python_module(arguments: list[str]) -> None:
    module = arguments[arguments.index("-m") + 1]
    run = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, f"python -m {module} does not import: {run.stderr}"


def check_sam(arguments: list[str]) -> None:
    subcommand = [word for word in arguments[1:3] if not word.startswith("-")][:1]
    run = subprocess.run([str(VENV_BIN / "sam"), *subcommand, "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"sam {' '.join(subcommand)}: {run.stderr}"


def check_aws(arguments: list[str]) -> None:
    service, operation = arguments[1], arguments[2]
    if service == "s3" and operation in S3_HIGH_LEVEL:
        return
    model = botocore.session.get_session().get_service_model(service)
    names = {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in model.operation_names}
    assert operation in names, f"aws {service} {operation} is not an operation of {service}"


def check_airflow(arguments: list[str]) -> None:
    assert arguments[1:3] == ["dags", "trigger"], arguments
    dags = "".join(path.read_text() for path in (ROOT / "orchestration" / "airflow" / "dags").glob("*.py"))
    assert f'dag_id="{arguments[3]}"' in dags, f"no DAG {arguments[3]}"


CHECKS = {"sam": check_sam, "aws": check_aws, "airflow": check_airflow}


def check_command(command: list[str]) -> None:
    env, arguments = split_assignments(command)
    program = Path(arguments[0]).name
    if program == "make":
        make(["-n", *arguments[1:]], env, timeout_s=60)  # the target exists and its recipe expands
    elif program.startswith("python") and "-m" in arguments:
        check_python_module(arguments)
    elif program in CHECKS:
        CHECKS[program](arguments)
    else:
        pytest.fail(f"{' '.join(command)}: no check for {program}; use a make target in the docs")


def test_every_block_has_a_language_this_test_can_check() -> None:
    blocks = all_blocks()
    assert len(blocks) > 15
    assert [str(block) for block in blocks if block.language not in LANGUAGES] == []


@pytest.mark.parametrize("block", all_blocks("bash"), ids=str)
def test_shell_blocks(block: Block) -> None:
    found = commands(block)
    assert found, f"{block} has no command"
    for command in found:
        check_command(command)


@pytest.mark.parametrize("block", all_blocks("json"), ids=str)
def test_json_blocks_parse(block: Block) -> None:
    json.loads(block.text)


def test_python_blocks_are_only_where_they_run() -> None:
    pages = {block.page for block in all_blocks("python")}
    assert pages == {CONSUMER_PAGE}, "a Python snippet on another page needs a test that runs it"


def make(arguments: list[str], env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert run.returncode == 0, f"make {' '.join(arguments)}: {run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    return run


def test_the_consumers_of_the_schemas_page_read_what_the_producers_wrote(
    apache_kafka: ApacheKafka, registry: EmbeddedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap, registry_url = apache_kafka.plaintext, registry.url
    # Given the schemas registered as the page says, and both producers run once in Avro
    make(["register-schemas", "FORMAT=avro"], {"SCHEMA_REGISTRY_URL": registry_url})
    with FixtureServer() as sources:
        env = {
            **sources.producer_environment(),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_VALUE_FORMAT": "avro",
            "SCHEMA_REGISTRY_URL": registry_url,
            "STATE_PATH": str(tmp_path / "state.sqlite"),
        }
        produced = {}
        for function in ("RssProducerFunction", "PolymarketProducerFunction"):
            run = make(["invoke", f"FUNCTION={function}", "EVENT=events/schedule.json"], env)
            produced[function] = json.loads(run.stdout.strip().splitlines()[-1])["produced"]
    assert produced["RssProducerFunction"] > 0 and produced["PolymarketProducerFunction"] > 0
    # When the page's Python blocks run in order, in one namespace, from the repository's root
    monkeypatch.chdir(ROOT)
    blocks = all_blocks("python")
    assert DOC_BOOTSTRAP in blocks[0].text and DOC_REGISTRY in blocks[0].text
    namespace: dict[str, Any] = {}
    printed = []
    try:
        for block in blocks:
            code = block.text.replace(DOC_BOOTSTRAP, bootstrap).replace(DOC_REGISTRY, registry_url)
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(compile(code, str(block), "exec"), namespace)
            printed.append(output.getvalue().splitlines())
    finally:
        if "consumer" in namespace:
            namespace["consumer"].close()
    # Then the first reads every RSS item with its schema header, the second every price through v1's schema
    rss, prices = printed
    assert len(rss) == produced["RssProducerFunction"]
    assert all(line.startswith("b'rss_item/1'") for line in rss)
    assert len(prices) == produced["PolymarketProducerFunction"]
    assert all(line.split()[-1] in ("clob", "gamma", "clob_last_trade", "gamma_last_trade") for line in prices)
