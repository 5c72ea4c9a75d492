"""Two commits' RSS CPU figures side by side: `make bench ONLY=B`'s RSS measurement (``rss_measured``)
on a `git archive` of each commit, alternated round by round against one broker, so the machine's
drift hits both alike. Medians per commit.

    python -m tools.bench.ab BASE [OTHER] [--rounds 5] [--repeat 2] [--dynamodb] [--python PATH]

OTHER is HEAD by default. ``--dynamodb`` measures the runs with state in DynamoDB
(``rss_on_dynamodb``, moto's server), as the template deploys them, instead of SQLite. ``--python``
runs OTHER's side on another interpreter with the same libraries (say, a venv of the Lambda
runtime's Python 3.12: ``make venv VENV=... PYTHON=python3.12``); ``ab HEAD HEAD --python ...``
then compares interpreters on one tree.

Each round runs each tree in a fresh interpreter (its own code, its own ``tools``); a tree from
before tools/ had rooms (issue 27) is measured through its ``tools.bench_cpu``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.services.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parents[2]
ONE_RUN = """
import json, sys
sys.path.insert(0, ".")
try:
    from tools.bench import cpu
except ImportError:
    from tools import bench_cpu as cpu
if sys.argv[3] == "dynamodb":
    m = cpu.rss_on_dynamodb(sys.argv[1], int(sys.argv[2]))
else:
    m = cpu.rss_measured(sys.argv[1], int(sys.argv[2]), False)
print(json.dumps({"per_1000_ms": [s * 1000 for s in m.per_thousand()], "startup_s": [p.cpu_s for p in m.startup],
                  "large_s": [p.cpu_s for p in m.large], "peak_mb": [p.peak_mb for p in m.large]}))
"""
FIGURES = (
    ("per_1000_ms", "CPU per 1,000 items past start-up", "{:.1f} ms"),
    ("startup_s", "start-up CPU", "{:.3f} s"),
    ("large_s", "whole-process CPU of the 200-feed run", "{:.3f} s"),
    ("peak_mb", "peak memory of that run", "{:.0f} MB"),
)


def tree(revision: str, into: Path) -> Path:
    """The files of ``revision`` (as git archive gives them) under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def version(python: str) -> str:
    """``3.12.1``: the version of the interpreter at ``python``."""
    done = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True)
    return done.stdout.decode().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("other", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each size per tree and round")
    parser.add_argument("--dynamodb", action="store_true", help="state in DynamoDB (moto's server), not SQLite")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of OTHER's runs")
    args = parser.parse_args(argv)
    labels = [args.base, args.other]
    if args.python != sys.executable:  # each side named by its interpreter too
        labels = [f"{args.base}, Python {version(sys.executable)}", f"{args.other}, Python {version(args.python)}"]
    if labels[0] == labels[1]:  # the same tree twice: an A/A run, to see the noise
        labels = [f"{labels[0]} (A)", f"{labels[1]} (B)"]
    sides = dict(zip(labels, ((args.base, sys.executable), (args.other, args.python)), strict=True))
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in labels}
    with tempfile.TemporaryDirectory() as scratch, EmbeddedBroker() as broker:
        trees = {label: tree(sides[label][0], Path(scratch) / f"tree-{n}") for n, label in enumerate(sides)}
        for round_ in range(args.rounds):
            for label, root in trees.items():
                done = subprocess.run(
                    [
                        sides[label][1],
                        "-c",
                        ONE_RUN,
                        broker.bootstrap,
                        str(args.repeat),
                        "dynamodb" if args.dynamodb else "sqlite",
                    ],
                    cwd=root,
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    print(done.stderr[-3000:], file=sys.stderr)
                    return 1
                for name, values in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    samples[label].setdefault(name, []).extend(values)
                print(f"round {round_ + 1} of {args.rounds}: {label} measured", file=sys.stderr, flush=True)
    print(f"| figure (medians of {args.rounds} rounds x {args.repeat}) | " + " | ".join(samples) + " |")
    print("| --- | --- | --- |")
    for key, figure, shape in FIGURES:
        cells = [shape.format(statistics.median(samples[label][key])) for label in samples]
        print(f"| {figure} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
