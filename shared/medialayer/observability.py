"""Powertools wiring for the Lambda entry points: structured logs with the API Gateway request id as
correlation id, EMF metrics (cold start, per-medium latency, error codes) and X-Ray tracing.

    lambda_handler = lambda_entry(app_factory, medium="image")

Locally nothing here runs: the local server mounts the same ASGI apps without Lambda wrappers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from fastapi import FastAPI
from mangum import Mangum

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "medialayer-match")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MediaLayerMatch")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def record_result(medium: str, status: int, code: str | None, elapsed_ms: float) -> None:
    """The API's result hook: latency per medium, and a count per error code."""
    metrics.add_dimension(name="medium", value=medium)
    metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if code is not None:
        metrics.add_metric(name=f"Error_{code}", unit=MetricUnit.Count, value=1)
    logger.info("match finished", extra={"medium": medium, "status": status, "code": code, "ms": round(elapsed_ms)})


def lambda_entry(app_factory: Callable[..., FastAPI], medium: str) -> Callable[[dict[str, Any], Any], dict]:
    """A Lambda handler serving the medium's ASGI app through Mangum, wrapped with powertools."""
    app = app_factory(on_result=record_result)
    asgi = Mangum(app, lifespan="off", api_gateway_base_path="/")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict:
        tracer.put_annotation(key="medium", value=medium)
        return asgi(event, context)

    return lambda_handler
