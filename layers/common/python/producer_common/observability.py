"""Powertools Logger and Metrics, configured the same way for every producer."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from .producer import DeliveryReport

DEFAULT_NAMESPACE = "KafkaDataProducers"
QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def build_logger(service: str) -> Logger:
    """A JSON logger (level from LOG_LEVEL) shared by this package's and the function's loggers.

    The function's modules log to ``logging.getLogger(<service with underscores>)``.
    """
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"producer_common", service.replace("-", "_")})
    # botocore logs response bodies (a secret's value among them) at DEBUG, whatever handler the
    # runtime puts on the root logger: keep it and its HTTP stack at INFO.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))
    # A server's malformed headers are that source's error, reported with a plain reason; urllib3
    # would log a warning with a stack trace for them as well.
    logging.getLogger("urllib3.connection").setLevel(logging.ERROR)
    return logger


def build_metrics(service: str) -> Metrics:
    """EMF metrics; the namespace comes from POWERTOOLS_METRICS_NAMESPACE when set."""
    metrics = Metrics(service=service)
    if not metrics.namespace:
        metrics.namespace = DEFAULT_NAMESPACE
    return metrics


def record_delivery(metrics: Metrics, report: DeliveryReport) -> None:
    metrics.add_metric(name="MessagesProduced", unit=MetricUnit.Count, value=len(report.acknowledged))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="MessagesRefused", unit=MetricUnit.Count, value=len(report.failed) - len(report.transient))
