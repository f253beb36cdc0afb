"""Prometheus metrics, and the pure-ASGI middleware that measures every HTTP request.

Requests are labelled by route template (`/api/workflows/{workflow_id}`), never by the raw
path, and by method only from a fixed set (anything else is "other"), so label cardinality
stays bounded whatever URLs and methods clients make up. Each app gets its own
registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "portico_gateway_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "portico_gateway_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.ws_connections = Gauge(
            "portico_gateway_websocket_connections",
            "Open WebSocket connections",
            registry=self.registry,
        )
        self.ws_subscriptions = Gauge(
            "portico_gateway_websocket_subscriptions",
            "Active WebSocket subscriptions",
            registry=self.registry,
        )
        self.status_events = Counter(
            "portico_gateway_status_events",
            "Status events received from RabbitMQ",
            registry=self.registry,
        )

    def bind_subscriptions(self, count: Callable[[], int]) -> None:
        self.ws_subscriptions.set_function(lambda: float(count()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The router writes the matched route into the shared scope dict.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = method_label(scope["method"])
            self.metrics.requests.labels(method, route, str(status[0])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
