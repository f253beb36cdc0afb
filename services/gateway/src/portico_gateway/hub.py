"""In-memory fan-out of status events to the WebSocket subscriptions of this replica.

The hub only routes: by execution id and by workflow id, and never across tenants. Ordering,
gap filling and de-duplication are the subscriptions' business (see ws_subscriptions.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Protocol

from pydantic import ValidationError

from portico_contracts.messages import StatusEvent

logger = logging.getLogger("portico.gateway.hub")


class Listener(Protocol):
    @property
    def tenant_id(self) -> str: ...

    def offer(self, event: StatusEvent) -> None: ...

    def resync(self) -> None: ...


class StatusHub:
    def __init__(self) -> None:
        self._by_execution: defaultdict[str, set[Listener]] = defaultdict(set)
        self._by_workflow: defaultdict[str, set[Listener]] = defaultdict(set)

    def add_execution(self, execution_id: str, listener: Listener) -> None:
        self._by_execution[execution_id].add(listener)

    def remove_execution(self, execution_id: str, listener: Listener) -> None:
        _discard(self._by_execution, execution_id, listener)

    def add_workflow(self, workflow_id: str, listener: Listener) -> None:
        self._by_workflow[workflow_id].add(listener)

    def remove_workflow(self, workflow_id: str, listener: Listener) -> None:
        _discard(self._by_workflow, workflow_id, listener)

    @property
    def subscription_count(self) -> int:
        return sum(map(len, self._by_execution.values())) + sum(
            map(len, self._by_workflow.values())
        )

    def feed(self, routing_key: str, body: bytes) -> None:
        """Entry point of the status consumer: one raw event from RabbitMQ."""
        # status.<tenant>.<workflow>.<execution>: most events interest no socket here, and
        # the routing key says so without parsing the body.
        parts = routing_key.split(".")
        if (
            len(parts) == 4
            and parts[2] not in self._by_workflow
            and parts[3] not in self._by_execution
        ):
            return
        try:
            event = StatusEvent.model_validate_json(body)
        except ValidationError as exc:
            logger.warning("dropping unreadable status event (%s): %s", routing_key, exc)
            return
        self.dispatch(event)

    def dispatch(self, event: StatusEvent) -> None:
        targets = [
            *self._by_execution.get(event.execution_id, ()),
            *self._by_workflow.get(event.workflow_id, ()),
        ]
        for listener in targets:
            # The tenant check is the isolation boundary: ids alone are not trusted.
            if listener.tenant_id == event.tenant_id:
                listener.offer(event)

    def resync_all(self) -> None:
        """After a broker reconnect: events may have been missed, let every subscription ask."""
        for index in (self._by_execution, self._by_workflow):
            for listeners in list(index.values()):
                for listener in list(listeners):
                    listener.resync()


def _discard(index: defaultdict[str, set[Listener]], key: str, listener: Listener) -> None:
    listeners = index.get(key)
    if listeners is None:
        return
    listeners.discard(listener)
    if not listeners:
        del index[key]
