"""Prometheus metrics of one orchestrator replica, served on `PORTICO_ORCHESTRATOR_METRICS_PORT`.

What an operator alerts on: messages the system gave up on (dead letters, parked outbox
rows), publishes that had to be retried, and the watchdog stepping in. Label values come
from fixed sets only.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, start_http_server

logger = logging.getLogger("portico.orchestrator.metrics")

LETTER_KINDS = frozenset(
    {"node.ready", "node.result", "execution.start", "execution.cancel", "outbox"}
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.dead_letters = Counter(
            "portico_orchestrator_dead_letters",
            "Messages given up on, by what they were (see GET /api/dead-letters)",
            ["kind"],
            registry=self.registry,
        )
        self.parked = Counter(
            "portico_orchestrator_outbox_parked",
            "Outbox rows that could never be published (too large, or failing for too long)",
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "portico_orchestrator_outbox_publish_failures",
            "Outbox messages whose publish failed and was handed to the relay",
            registry=self.registry,
        )
        self.watchdog = Counter(
            "portico_orchestrator_watchdog_overdue_nodes",
            "Nodes the watchdog found past their deadline (re-dispatched or failed)",
            registry=self.registry,
        )

    def dead_letter(self, kind: str) -> None:
        self.dead_letters.labels(kind if kind in LETTER_KINDS else "other").inc()

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics; a port already taken (a second replica on one host) is a warning."""
        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            logger.warning("metrics not served on %s:%d: %s", host, port, exc)
