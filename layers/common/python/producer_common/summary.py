"""The handler's return value, shaped as CONTRACT.md describes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .producer import DeliveryReport

SourceStatus = Literal["ok", "not_modified", "not_due", "error"]
RunStatus = Literal["ok", "partial", "error"]


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
    return {
        "function": function,
        "status": run_status(sources, report),
        "produced": len(report.acknowledged),
        "failed": len(report.failed),
        "duplicates": duplicates,
        "sources": [asdict(source) for source in sources],
        **extra,
        "duration_ms": round(duration_s * 1000),
    }


def run_status(sources: Sequence[SourceResult], report: DeliveryReport) -> RunStatus:
    """``error`` when every source failed, ``partial`` when some did (or a message was not delivered),
    else ``ok``. A run with no sources at all is ``ok``: nothing was asked of it."""
    failed = sum(source.status == "error" for source in sources)
    if sources and failed == len(sources):
        return "error"
    return "ok" if report.ok and not failed else "partial"
