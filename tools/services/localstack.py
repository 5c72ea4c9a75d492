"""LocalStack on loopback, and the real SAM CLI pointed at it: a local rehearsal of `sam deploy`.

    python -m tools.services.localstack start [--port 4566]  # background; .run/localstack.json, .run/localstack.log
    python -m tools.services.localstack status | stop
    python -m tools.services.localstack deploy [--stack-name S] [--template-file T] [--parameter-overrides K=V ...]
    python -m tools.services.localstack delete [--stack-name S]
    python -m tools.services.localstack sam ARGS...  # the SAM CLI itself, offline, against $AWS_ENDPOINT_URL

The emulator runs from its own virtual environment (`make localstack-venv`, tools/services/localstack-requirements.txt)
through tools/services/localstack_server.py. `deploy` is `sam deploy` with the project's samconfig.toml, as the
README's deploy runs it, plus what a local endpoint needs: test credentials, the endpoint, no prompt.
As a library, ``LocalStack`` starts one on a free port for a test session.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.services.supervisor import RunFile, Service, Supervised, free_port

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run"
RUN_FILE = RunFile(RUN_DIR / "localstack.json", "LocalStack", "localstack")
LOG_FILE = RUN_DIR / "localstack.log"
VERSION = "2026.3.0"  # localstack-core, as pinned in tools/services/localstack-requirements.txt
# The project's download cache, as for Kafka and the registry: $KAFKA_PRODUCERS_CACHE, else ~/.cache/kafka-producers.
CACHE = Path(os.environ.get("KAFKA_PRODUCERS_CACHE") or Path.home() / ".cache" / "kafka-producers")
DEFAULT_VENV = CACHE / f"localstack-{VERSION}"
REGION = "us-east-1"
SAMCONFIG = ROOT / "samconfig.toml"
DEFAULT_STACK = "kafka-producers-local"


def localstack_python() -> Path:
    """The emulator's interpreter: $LOCALSTACK_PYTHON, else the venv `make localstack-venv` creates."""
    python = Path(os.environ.get("LOCALSTACK_PYTHON") or DEFAULT_VENV / "bin" / "python")
    if not python.exists():
        raise FileNotFoundError(f"no LocalStack interpreter at {python}: run `make localstack-venv` first")
    return python


def server_environment(port: int, root: Path) -> dict[str, str]:
    """The emulator's configuration: loopback only, nothing downloaded, state under ``root``."""
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LOCALSTACK_HOST": f"127.0.0.1:{port}",  # host of the URLs it hands out (queue URLs...)
        "SQS_ENDPOINT_STRATEGY": "path",  # queue URLs on that host, not on a *.localstack.cloud name
        "FILESYSTEM_ROOT": str(root),  # host mode keeps its files here, one folder per instance
        "DNS_ADDRESS": "0",  # no DNS server: it would bind port 53 and forward to upstream resolvers
        "DISABLE_EVENTS": "1",  # no usage analytics
        "SKIP_SSL_CERT_DOWNLOAD": "1",  # never fetch a certificate from the internet
        # Its own certificate code needs pyOpenSSL's X509Extension, which pyOpenSSL 25+ no longer has:
        # the gateway serves the one gateway_certificate() made for this root instead.
        "CUSTOM_SSL_CERT_PATH": str(gateway_certificate_path(root)),
        # In a container LocalStack takes /var/lib/localstack and /tmp/localstack for its directories,
        # which outlive a run (a certificate left there once hid the above); host mode keeps them all
        # under FILESYSTEM_ROOT, so each run starts empty.
        "OVERRIDE_IN_DOCKER": "0",
        "XDG_CACHE_HOME": str(root / "xdg-cache"),  # plux's entry-point cache, ~/.cache otherwise
        # The default (v2) engine resolves !GetAtt of SAM-generated resources before the transform
        # runs, and fails on this template; the legacy engine transforms first.
        "PROVIDER_OVERRIDE_CLOUDFORMATION": "engine-legacy",
        # Its CloudFormation handler of AWS::Scheduler::Schedule makes a boto3 client whose credential
        # chain ends at the EC2 metadata service (169.254.169.254): never asked, as there is none here.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def gateway_certificate_path(root: Path) -> Path:
    return root / "gateway.pem"


def gateway_certificate(root: Path) -> Path:
    """A self-signed certificate for the gateway, made with ``cryptography`` (through trustme) for this
    root: the private key, then the certificate, in one PEM file as CUSTOM_SSL_CERT_PATH expects."""
    import trustme

    path = gateway_certificate_path(root)
    issued = trustme.CA(organization_name="kafka-producers LocalStack").issue_cert("localhost", "127.0.0.1")
    path.write_bytes(issued.private_key_pem.bytes() + b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    path.chmod(0o600)
    return path


def aws_environment(endpoint: str) -> dict[str, str]:
    """What boto3 and the SAM CLI need to talk to the emulator, and nothing to look up elsewhere."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",  # LocalStack's account 000000000000
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
    }


def client(service: str, endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    settings = aws_environment(endpoint)
    factory: Any = boto3.client  # any service by name: the typed overloads want a literal
    return factory(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 2}),
    )


class LocalStack(Supervised):
    """An emulator process on a loopback port (a free one unless given), stopped by ``stop()``."""

    def __init__(self, root: Path, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root = root
        self.log_path = log_path or root / "localstack.log"
        self.service: Service | None = None

    def start(self, *, detached: bool = False, timeout_s: float = 120.0) -> LocalStack:
        self.root.mkdir(parents=True, exist_ok=True)
        gateway_certificate(self.root)
        command = [str(localstack_python()), str(ROOT / "tools" / "services" / "localstack_server.py")]
        env = server_environment(self.port, self.root)
        self.service = Service("LocalStack", command, self.log_path, cwd=self.root, env=env, detached=detached)
        sts = client("sts", self.endpoint)
        # Ready means an AWS API call answered (STS GetCallerIdentity), not an open port.
        self.service.start(lambda: bool(sts.get_caller_identity()), timeout_s)
        return self

    def client(self, service: str) -> Any:
        return client(service, self.endpoint)


# --- the SAM CLI against the emulator ---------------------------------------------------------------


def sam(args: Sequence[str], endpoint: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the SAM CLI (``python -m tools.services.localstack sam ...``) against ``endpoint``; output captured."""
    command = [sys.executable, "-m", "tools.services.localstack", "sam", *args]
    env = {**os.environ, **aws_environment(endpoint)}
    done = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"sam {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def deploy_args(stack: str, template: Path | None = None, parameters: Mapping[str, str] | None = None) -> list[str]:
    """`sam deploy` as the README runs it (samconfig.toml's default deploy: CAPABILITY_IAM, --resolve-s3),
    for ``stack``, without the change-set prompt samconfig asks for."""
    args = ["deploy", "--config-file", str(SAMCONFIG), "--stack-name", stack, "--region", REGION]
    args += ["--no-confirm-changeset", "--no-fail-on-empty-changeset", "--no-progressbar"]
    if template is not None:
        args += ["--template-file", str(template)]
    if parameters:
        args += ["--parameter-overrides", *(f"{name}={value}" for name, value in parameters.items())]
    return args


def delete_args(stack: str) -> list[str]:
    return ["delete", "--config-file", str(SAMCONFIG), "--stack-name", stack, "--region", REGION, "--no-prompts"]


def stack_outputs(endpoint: str, stack: str) -> dict[str, str]:
    described = client("cloudformation", endpoint).describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def run_sam_cli(args: Sequence[str]) -> int:
    """The SAM CLI in this process, kept on loopback (tools/services/loopback.py)."""
    from tools.services.loopback import guard

    guard()
    from samcli.cli.main import cli
    from samcli.lib.utils import version_checker

    # It asks PyPI for a newer SAM CLI once a week; here that would be a blocked connection.
    version_checker.is_version_check_overdue = lambda _last_check: False
    try:
        cli.main(args=list(args), prog_name="sam", standalone_mode=True)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    return 0


# --- the command line (make deploy-local, deploy-local-delete, localstack-stop) ------------------------


def _start(port: int) -> int:
    refused = RUN_FILE.reuse(port, "endpoint", "LOCALSTACK_PORT")
    if refused is not None:
        return refused
    RUN_DIR.mkdir(exist_ok=True)
    root = RUN_DIR / "localstack"
    shutil.rmtree(root, ignore_errors=True)  # nothing from an earlier run: each start is a new machine's
    emulator = LocalStack(root, port=port, log_path=LOG_FILE).start(detached=True)
    assert emulator.service is not None
    state = {"pid": emulator.service.pid, "port": port, "endpoint": emulator.endpoint, "region": REGION}
    RUN_FILE.write(state)
    print(f"LocalStack {VERSION} at {emulator.endpoint} (pid {state['pid']}, log {LOG_FILE})", file=sys.stderr)
    return 0


def _endpoint() -> str:
    state = RUN_FILE.running()
    if state is None:
        raise SystemExit("no LocalStack running: `make deploy-local` starts one")
    return str(state["endpoint"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sam"]:  # everything after is the SAM CLI's
        return run_sam_cli(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start")
    start.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", "4566")))
    commands.add_parser("stop")
    commands.add_parser("status")
    for name in ("deploy", "delete"):
        stack_command = commands.add_parser(name)
        stack_command.add_argument("--stack-name", default=os.environ.get("STACK_NAME") or DEFAULT_STACK)
    commands.choices["deploy"].add_argument("--template-file", type=Path)
    commands.choices["deploy"].add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    commands.add_parser("sam", help="the SAM CLI, offline")
    args = parser.parse_args(argv)
    if args.command == "start":
        return _start(args.port)
    if args.command == "stop":
        return RUN_FILE.stop()
    if args.command == "status":
        state = RUN_FILE.running()
        print(json.dumps(state) if state else "no LocalStack running")
        return 0 if state else 1
    endpoint = _endpoint()
    env = {**os.environ, **aws_environment(endpoint)}
    if args.command == "delete":
        command = delete_args(args.stack_name)
    else:
        overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
        command = deploy_args(args.stack_name, args.template_file, overrides)
    # The CLI's own output goes straight to the terminal, as with `sam deploy`.
    done = subprocess.run([sys.executable, "-m", "tools.services.localstack", "sam", *command], cwd=ROOT, env=env)
    if done.returncode == 0 and args.command == "deploy":
        print(f"\nStack {args.stack_name} at {endpoint}:")
        for key, value in stack_outputs(endpoint, args.stack_name).items():
            print(f"  {key} = {value}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
