"""How long the run may still spend, from the Lambda context's remaining time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Deadline:
    """Seconds left before the Lambda would be stopped, less a safety margin.

    Without a context (a script, a test) the budget is ``fallback_s`` from now.
    """

    def __init__(
        self,
        remaining_ms: Callable[[], int] | None = None,
        margin_s: float = 0.0,
        fallback_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if remaining_ms is None:
            end = clock() + fallback_s
            remaining_ms = lambda: int((end - clock()) * 1000)  # noqa: E731
        self._remaining_ms = remaining_ms
        self.margin_s = margin_s

    @classmethod
    def from_context(cls, context: Any, margin_s: float) -> Deadline:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        return cls(getter if callable(getter) else None, margin_s)

    def remaining_s(self) -> float:
        return max(0.0, self._remaining_ms() / 1000.0 - self.margin_s)

    @property
    def expired(self) -> bool:
        return self.remaining_s() <= 0.0
