"""The handler's return value, shaped as CONTRACT.md describes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .producer import DeliveryReport

SourceStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class SourceResult:
    """How one source (a feed, an API listing) fared in this run."""

    source: str
    status: SourceStatus
    items: int = 0
    new: int = 0
    error: str | None = None


def run_summary(
    function: str,
    sources: Sequence[SourceResult],
    report: DeliveryReport,
    duration_s: float,
    duplicates: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    healthy = report.ok and all(source.status != "error" for source in sources)
    return {
        "function": function,
        "status": "ok" if healthy else "partial",
        "produced": len(report.acknowledged),
        "failed": len(report.failed),
        "duplicates": duplicates,
        "sources": [asdict(source) for source in sources],
        **extra,
        "duration_ms": round(duration_s * 1000),
    }
