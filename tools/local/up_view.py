"""The terminal view of `make up` (rich): per function its last runs and its next run."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tools.local.scheduler import Clock, Producer

STYLES = {"ok": "green", "partial": "yellow", "error": "red", "running": "cyan", "stopped": "dim"}


class View:
    def __init__(
        self, producers: Sequence[Producer], clock: Clock, kafka: dict[str, Any], sources: str, run_dir: Path
    ) -> None:
        self._producers, self._clock, self._kafka = producers, clock, kafka
        self._sources, self._run_dir = sources, run_dir
        self._console = Console()
        self._live: Live | None = None

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        # transient: the last frame goes when it stops, and print_final() prints the final table once
        with Live(self.render(), console=self._console, auto_refresh=False, transient=True) as live:
            self._live = live
            try:
                yield
            finally:
                self._live = None

    def update(self) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)

    def print_final(self) -> None:
        self._console.print(self.render(final=True))

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "speedup": self._clock.speedup,
            "schedule_time": _short(self._clock.now().isoformat()),
            "broker": self._kafka,
            "sources": self._sources,
            "functions": {producer.spec.function: producer.snapshot() for producer in self._producers},
        }

    def render(self, final: bool = False) -> Group:
        owner = "embedded, started by make up" if self._kafka["own"] else "already running"
        header = Text.assemble(
            ("make up", "bold"),
            f"  schedule time {_short(self._clock.now().isoformat())} (x{self._clock.speedup:g})",
            f"  broker {self._kafka['bootstrap']} ({owner})  sources: {self._sources}",
            f"\nlogs, state and status.json in {self._run_dir}",
            "" if final else "  Ctrl-C stops everything",
        )
        return Group(header, *(self._table(producer, final) for producer in self._producers))

    def _table(self, producer: Producer, final: bool) -> Table:
        snapshot = producer.snapshot()
        if final:
            when = "stopped"
        else:
            wait = self._clock.real_seconds_until(datetime.fromisoformat(snapshot["next_run"]))
            when = f"next run {_short(snapshot['next_run'])} (in {wait:.0f} s)"
        if snapshot["queued"] and not final:
            when += f", {snapshot['queued']} waiting for the run before"
        totals = ", ".join(f"{count} {name}" for name, count in sorted(snapshot["totals"].items())) or "no runs yet"
        # errors go under the table, one line a run: a column would leave them no room in 80 columns
        errors = [f"{_short(run['scheduled'])}: {run['errors']}" for run in reversed(snapshot["runs"]) if run["errors"]]
        table = Table(
            title=f"{producer.spec.function}  {snapshot['schedule']}  {when}",
            title_justify="left",
            caption="\n".join([f"totals: {totals}", *(f"errors {line}" for line in errors)]),
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("scheduled", "started", "duration", "produced", "failed", "duplicates", "status"):
            justify = "left" if column in ("scheduled", "started", "status") else "right"
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for run in reversed(snapshot["runs"]):
            table.add_row(
                _short(run["scheduled"]),
                run["started"],
                f"{run['duration_s']:.1f} s" if run["duration_s"] is not None else "",
                *(_count(run[name]) for name in ("produced", "failed", "duplicates")),
                Text(run["status"], style=STYLES.get(run["status"], "bold red")),
            )
        return table


def _short(iso: str) -> str:
    """2026-12-01T08:15:00Z as 12-01 08:15:00."""
    return iso[5:19].replace("T", " ")


def _count(value: int | None) -> str:
    return "" if value is None else str(value)
