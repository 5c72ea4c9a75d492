"""The naive way to price Polymarket's tokens into Kafka, as a whole process: the baseline of `make bench`'s B rows.

    python -m tools.bench.naive_polymarket BOOTSTRAP GAMMA_URL CLOB_URL MARKETS TOPIC

``tools.bench.baselines.simple_polymarket``: one GET /book per token, one after another, a kafka-python
``send`` each. Prints how many messages it sent.
"""

from __future__ import annotations

import sys

from tools.bench.baselines import simple_polymarket


def main(bootstrap: str, gamma: str, clob: str, markets: str, topic: str) -> int:
    _, sent = simple_polymarket(bootstrap, gamma, clob, int(markets), topic)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
