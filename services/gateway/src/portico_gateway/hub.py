"""In-memory fan-out of status events and node progress to this replica's WebSocket
subscriptions.

The hub only routes: by execution id and by workflow id, and never across tenants. Ordering,
gap filling and de-duplication of status events are the subscriptions' business (see
ws_subscriptions.py); progress is passed on as it comes, outside all of that.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Protocol

from pydantic import ValidationError

from portico_contracts.messages import NodeProgress, StatusEvent

logger = logging.getLogger("portico.gateway.hub")


class Listener(Protocol):
    @property
    def tenant_id(self) -> str: ...

    def offer(self, event: StatusEvent) -> None: ...

    def offer_progress(self, progress: NodeProgress) -> None: ...

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
        """Entry point of the status consumer: one raw status event or progress chunk."""
        # <status|progress>.<tenant>.<workflow>.<execution>: most messages interest no socket
        # here, and the routing key says so without parsing the body.
        parts = routing_key.split(".")
        if (
            len(parts) == 4
            and parts[2] not in self._by_workflow
            and parts[3] not in self._by_execution
        ):
            return
        if parts[0] == "progress":
            self._feed_progress(routing_key, body)
            return
        try:
            event = StatusEvent.model_validate_json(body)
        except ValidationError as exc:
            logger.warning("dropping unreadable status event (%s): %s", routing_key, exc)
            return
        self.dispatch(event)

    def _feed_progress(self, routing_key: str, body: bytes) -> None:
        try:
            progress = NodeProgress.model_validate_json(body)
        except ValidationError as exc:
            logger.warning("dropping unreadable node progress (%s): %s", routing_key, exc)
            return
        self.dispatch_progress(progress)

    def _listeners(self, tenant_id: str, execution_id: str, workflow_id: str) -> list[Listener]:
        targets = [
            *self._by_execution.get(execution_id, ()),
            *self._by_workflow.get(workflow_id, ()),
        ]
        # The tenant check is the isolation boundary: ids alone are not trusted.
        return [listener for listener in targets if listener.tenant_id == tenant_id]

    def dispatch(self, event: StatusEvent) -> None:
        for listener in self._listeners(event.tenant_id, event.execution_id, event.workflow_id):
            listener.offer(event)

    def dispatch_progress(self, progress: NodeProgress) -> None:
        ids = (progress.tenant_id, progress.execution_id, progress.workflow_id)
        for listener in self._listeners(*ids):
            listener.offer_progress(progress)

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
