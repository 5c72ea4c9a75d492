"""`make start-lambda` for a tier: tools/local/start_lambda.py on a free port (the integration and
Airflow tiers call it through boto3 and Airflow's Lambda operator)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tools.services.supervisor import dies_with_parent

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def start_lambda(environ: Mapping[str, str], logs: Path, parameter_overrides: str = "") -> Iterator[str]:
    """Yields the endpoint's URL once it listens; the invocations' logs go under ``logs``, its own to logs.log."""
    logs.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(ROOT / "tools" / "local" / "start_lambda.py"), "--port", "0", "--log-dir", str(logs)]
    argv += ["--parameter-overrides", parameter_overrides] if parameter_overrides else []
    with open(logs.with_suffix(".log"), "wb") as log:
        server = subprocess.Popen(
            dies_with_parent(argv), cwd=ROOT, env=dict(environ), stdout=subprocess.PIPE, stderr=log
        )
    try:
        assert server.stdout is not None
        yield json.loads(server.stdout.readline())["url"]  # printed once it listens
    finally:
        server.terminate()
        server.wait(30)
