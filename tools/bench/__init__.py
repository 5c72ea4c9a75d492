"""The benchmark suite (make bench: python -m tools.bench.suite) and its groups, baselines and cost model."""
