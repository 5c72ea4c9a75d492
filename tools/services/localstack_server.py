"""LocalStack's runtime in host mode, adjusted to run offline: started by tools/services/localstack.py.

Runs under the emulator's own Python 3.13 virtual environment (`make localstack-venv`), never the
project's. Configuration arrives in the environment (tools/services/localstack.py sets it); what cannot be
configured is patched here, before the runtime loads its providers:

- DynamoDB: the default provider forwards every call to DynamoDB Local, a Java server it downloads
  on first use. Served instead by the moto backend LocalStack bundles, through the same fallback
  dispatcher its other moto-backed services use. CloudFormation's table provider needs no more.
- Lambda: preparing a function version pulls the runtime's container image and the runtime-init
  binary. Skipped: functions reach `Active` with their code, layers and configuration stored, and
  are never invoked (no Docker here), which the deploy tests do not need.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root in place of tools/, whose localstack.py would shadow the localstack package.
sys.path[0] = str(Path(__file__).resolve().parents[2])

from tools.services.loopback import guard  # noqa: E402


def serve_dynamodb_from_moto() -> None:
    from localstack.aws.api.dynamodb import DynamodbApi
    from localstack.services import providers
    from localstack.services.moto import MotoFallbackDispatcher
    from localstack.services.plugins import Service, aws_provider

    class MotoDynamoDB(DynamodbApi):
        """No operation of its own: each raises NotImplementedError, which the dispatcher sends to moto."""

    @aws_provider(api="dynamodb")
    def dynamodb() -> Service:
        return Service.for_provider(MotoDynamoDB(), dispatch_table_factory=MotoFallbackDispatcher)

    # The entry point `dynamodb:default` names this attribute; it is read when the service first loads.
    providers.dynamodb = dynamodb


def skip_lambda_version_preparation() -> None:
    from localstack.services.lambda_.invocation.docker_runtime_executor import DockerRuntimeExecutor

    DockerRuntimeExecutor.prepare_version = classmethod(lambda cls, function_version: None)  # type: ignore[method-assign,assignment]


def main() -> None:
    guard()
    serve_dynamodb_from_moto()
    skip_lambda_version_preparation()
    from localstack.runtime.main import main as run_localstack

    run_localstack()


if __name__ == "__main__":
    main()
