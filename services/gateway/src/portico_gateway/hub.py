"""In-memory fan-out of status events and node progress to this replica's WebSocket
subscriptions.

The hub only routes: by execution id and by workflow id, and never across tenants. Ordering,
gap filling and de-duplication of status events are the subscriptions' business (see
ws_subscriptions.py); progress is passed on as it comes, outside all of that.

Watchers register through `watch_*`, which also binds the status queue to what they watch
(status_bindings.py), so this replica receives only events someone here waits for. Each
event is parsed once, and its WebSocket frame encoded once, whatever the number of
subscribers (`LiveEvent`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from pydantic import TypeAdapter, ValidationError

from portico_contracts.messages import NodeProgress, StatusEvent, StatusMessage
from portico_gateway.status_bindings import StatusBindings, execution_keys, workflow_keys

logger = logging.getLogger("portico.gateway.hub")

_STATUS_MESSAGE: TypeAdapter[StatusMessage] = TypeAdapter(StatusMessage)


class LiveEvent:
    """A status event, with its WebSocket frame (`{"type": "event", "event": …}`) encoded at
    most once however many subscribers send it."""

    __slots__ = ("_frame", "event")

    def __init__(self, event: StatusEvent) -> None:
        self.event = event
        self._frame: str | None = None

    @property
    def frame(self) -> str:
        if self._frame is None:
            self._frame = f'{{"type":"event","event":{self.event.model_dump_json()}}}'
        return self._frame


class Listener(Protocol):
    @property
    def tenant_id(self) -> str: ...

    def offer(self, event: LiveEvent) -> None: ...

    def offer_progress(self, progress: NodeProgress) -> None: ...

    def resync(self) -> None: ...


class StatusHub:
    def __init__(self, bindings: StatusBindings | None = None) -> None:
        self.bindings = bindings or StatusBindings()
        self._by_execution: defaultdict[str, set[Listener]] = defaultdict(set)
        self._by_workflow: defaultdict[str, set[Listener]] = defaultdict(set)

    def watch_execution(
        self, execution_id: str, listener: Listener, *, progress: bool = True
    ) -> asyncio.Future[None]:
        """Register now (live events queue up at once); await the result before looking
        (snapshot, start): then the status queue is bound to the execution too. Pair with
        `unwatch_execution`, even when cancelled while waiting."""
        self.add_execution(execution_id, listener)
        keys = execution_keys(listener.tenant_id, execution_id, progress=progress)
        return self.bindings.acquire(keys)

    def unwatch_execution(
        self, execution_id: str, listener: Listener, *, progress: bool = True
    ) -> None:
        self.remove_execution(execution_id, listener)
        keys = execution_keys(listener.tenant_id, execution_id, progress=progress)
        self.bindings.release(keys)

    def watch_workflow(self, workflow_id: str, listener: Listener) -> asyncio.Future[None]:
        """Like `watch_execution`, for every execution of one workflow."""
        self.add_workflow(workflow_id, listener)
        return self.bindings.acquire(workflow_keys(listener.tenant_id, workflow_id))

    def unwatch_workflow(self, workflow_id: str, listener: Listener) -> None:
        self.remove_workflow(workflow_id, listener)
        self.bindings.release(workflow_keys(listener.tenant_id, workflow_id))

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
        """Entry point of the status consumer: one raw status message (a transaction's
        `StatusEvents`, or a single `StatusEvent`) or progress chunk."""
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
            message = _STATUS_MESSAGE.validate_json(body)
        except ValidationError as exc:
            logger.warning("dropping unreadable status event (%s): %s", routing_key, exc)
            return
        if isinstance(message, StatusEvent):  # one event alone, as sent before batches
            self.dispatch(message)
            return
        # A transaction's events, in seq order: handed on one by one, as if each had come alone.
        for event in message.events:
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
        live = LiveEvent(event)  # one per event: its frame is encoded once for everyone
        for listener in self._listeners(event.tenant_id, event.execution_id, event.workflow_id):
            listener.offer(live)

    def dispatch_progress(self, progress: NodeProgress) -> None:
        ids = (progress.tenant_id, progress.execution_id, progress.workflow_id)
        for listener in self._listeners(*ids):
            listener.offer_progress(progress)

    async def reconnected(self) -> None:
        """After a broker reconnect: fix the bindings, then let every subscription ask for
        what it may have missed (asked after binding, so nothing falls in between)."""
        await self.bindings.resettle()
        self.resync_all()

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
