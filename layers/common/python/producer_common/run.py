"""The frame every producer run shares: open the producer, do the work, account, summarise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Metrics

from .backends import Backend, Settle
from .config import KafkaSettings
from .deadline import Deadline
from .exceptions import DeliveryError
from .observability import record_delivery
from .producer import DeliveryReport, MessageProducer, OutgoingMessage, open_producer
from .summary import SourceResult, run_summary

log = logging.getLogger(__name__)

Send = Callable[[OutgoingMessage], None]
# The work sends its messages through the producer (a ``Send``; ``take_settled`` for checkpoints)
# and returns a result per source plus extra summary fields.
Work = Callable[[MessageProducer, Deadline], tuple[Sequence[SourceResult], Mapping[str, Any]]]


def deliver_run(
    function: str,
    kafka: KafkaSettings,
    context: Any,
    metrics: Metrics,
    work: Work,
    backend_factory: Callable[[Settle], Backend] | None = None,
    after_delivery: Callable[[DeliveryReport], None] | None = None,
    value_schema: str | None = None,
) -> dict[str, Any]:
    """Run ``work`` against a producer that is flushed and closed whatever happens.

    ``after_delivery`` sees the final report once the producer is closed (to advance state for
    what was acknowledged). ``value_schema`` (``rss_item/1``) is what ``work`` writes: with a
    registry format it must be registered, or the run fails before it starts. Returns the summary
    unless a message failed for a reason a retry may mend: then it raises ``DeliveryError``, so that
    Lambda retries and the failure destination hears of it. A message the broker refuses for good
    (too large, an invalid record) is counted failed and logged, but does not make Lambda retry a
    run that would fail the same way every time.
    """
    started = time.monotonic()
    deadline = Deadline.from_context(context, kafka.flush_margin_s)
    schemas = (value_schema,) if value_schema else ()
    with open_producer(kafka, deadline, backend_factory=backend_factory, value_schemas=schemas) as producer:
        sources, extra = work(producer, deadline)
    report = producer.report
    record_delivery(metrics, report)
    if after_delivery is not None:
        after_delivery(report)
    summary = run_summary(function, sources, report, time.monotonic() - started, **extra)
    log.info("run finished", extra={key: value for key, value in summary.items() if key != "sources"})
    if report.transient:
        raise DeliveryError(f"{len(report.failed)} of {producer.sent} messages were not delivered: {report.reasons()}")
    if report.failed:
        log.error(
            "messages refused for good, not retried", extra={"failed": len(report.failed), "reasons": report.reasons()}
        )
    return summary
