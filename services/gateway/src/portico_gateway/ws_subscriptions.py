"""One WebSocket subscription = one task with an inbox, so the ordering logic runs sequentially.

Every execution's events reach the client once each, in seq order, without gaps, whether the
client follows one execution or a whole workflow. RabbitMQ does not promise that order: the
orchestrator publishes each transaction's events as one message, but the messages of
successive transactions go out concurrently and replicas race. So each
execution gets a `Sequencer`: an event that skips ahead is parked while a short grace period
lets the missing ones arrive, and after that EventsSince fetches them from the orchestrator.

Start-up follows "listen first, then look": the subscription registers with the hub (live
events queue in the inbox) and waits until the status queue is bound to what it watches,
then takes the snapshot or replay, then drains the inbox dropping whatever the snapshot
already covered.

Node progress (`NodeProgress`, an AI node's text as it streams) skips all of this: it has no
seq, is sent as it comes once the snapshot is out, and may be dropped (see WsConnection).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from portico_contracts.messages import NodeProgress
from portico_contracts.queries import ListExecutions
from portico_gateway.errors import PorticoError
from portico_gateway.hub import LiveEvent, StatusHub
from portico_gateway.orchestrator_client import OrchestratorClient

logger = logging.getLogger("portico.gateway.ws")

GAP_GRACE_S = 0.25
MAX_GAP_ATTEMPTS = 5
INBOX_LIMIT = 10_000
WORKFLOW_SNAPSHOT_LIMIT = 50
FINISHED_MEMORY = 1_000
TERMINAL_EVENTS = frozenset({"execution.succeeded", "execution.failed", "execution.cancelled"})


class Connection(Protocol):
    """What a subscription needs from its socket."""

    tenant_id: str
    hub: StatusHub
    orchestrator: OrchestratorClient

    def send(self, frame: dict[str, Any]) -> None: ...

    def send_text(self, frame: str) -> None:
        """A frame already encoded as JSON (an event's, shared by every subscriber)."""

    def send_progress(self, frame: str) -> None: ...

    def overflow(self) -> None: ...

    def follows_execution(self, execution_id: str) -> bool: ...


class ResyncFailedError(PorticoError):
    code = "resync_failed"


def progress_frame(progress: NodeProgress) -> str:
    return f'{{"type":"progress","progress":{progress.model_dump_json()}}}'


def error_frame(code: str, message: str, target: tuple[str, str] | None = None) -> dict[str, Any]:
    """An error; `target` (kind, id) names the subscription it ended, as `<kind>_id`."""
    frame = {"type": "error", "code": code, "message": message}
    if target is not None:
        kind, target_id = target
        frame[f"{kind}_id"] = target_id
    return frame


class Sequencer:
    """Delivers one execution's events once each, in seq order, starting after `last_seq`."""

    def __init__(
        self, execution_id: str, last_seq: int, deliver: Callable[[LiveEvent], None]
    ) -> None:
        self.execution_id = execution_id
        self.last_seq = last_seq
        self.deliver = deliver
        self.pending: dict[int, LiveEvent] = {}
        self.failures = 0
        self.finished = False

    def accept(self, live: LiveEvent) -> None:
        seq = live.event.seq
        if seq <= self.last_seq:
            return  # a duplicate, or already covered by the snapshot
        self.pending[seq] = live
        while (ready := self.pending.pop(self.last_seq + 1, None)) is not None:
            self.deliver(ready)
            self.last_seq = ready.event.seq
            self.finished = self.finished or ready.event.type in TERMINAL_EVENTS

    async def catch_up(
        self, orchestrator: OrchestratorClient, tenant_id: str, *, strict: bool = False
    ) -> None:
        """Fetch everything after `last_seq`. On failure keep what is parked and count it,
        unless `strict`, which passes the error on."""
        try:
            while True:
                before = self.last_seq
                page = await orchestrator.events_since(tenant_id, self.execution_id, before)
                for event in page.events:
                    self.accept(LiveEvent(event))
                # Stop when caught up, or when a page brought nothing new (never spin).
                if self.last_seq >= page.last_seq or self.last_seq == before:
                    break
        except PorticoError as exc:
            self.failures += 1
            if strict or exc.code == "not_found":
                raise
            if self.failures >= MAX_GAP_ATTEMPTS:
                raise ResyncFailedError(
                    f"lost track of execution {self.execution_id} ({exc.message}); subscribe "
                    f"again with after_seq={self.last_seq}"
                ) from exc
            return
        self.failures = 0


class _Subscription:
    kind = ""

    def __init__(self, conn: Connection, target_id: str) -> None:
        self.conn = conn
        self.target_id = target_id
        self.inbox: asyncio.Queue[LiveEvent | None] = asyncio.Queue()
        # Progress waits for the snapshot: a chunk sent before it would come out of nowhere.
        self.live = False

    @property
    def tenant_id(self) -> str:
        return self.conn.tenant_id

    def offer(self, event: LiveEvent) -> None:
        if self.inbox.qsize() >= INBOX_LIMIT:
            self.conn.overflow()
            return
        self.inbox.put_nowait(event)

    def offer_progress(self, progress: NodeProgress) -> None:
        if self.live and self.wants_progress(progress):
            self.conn.send_progress(progress_frame(progress))

    def wants_progress(self, progress: NodeProgress) -> bool:
        return True

    def resync(self) -> None:
        # None in the inbox means "ask the orchestrator what I may have missed".
        self.inbox.put_nowait(None)

    def deliver(self, live: LiveEvent) -> None:
        self.conn.send_text(live.frame)

    async def run(self) -> None:
        bound = self._register()  # registered before the first await: always unregistered
        try:
            await bound
            await self._start()
            self.live = True
            await self._pump()
        except PorticoError as exc:
            self.conn.send(error_frame(exc.code, exc.message, (self.kind, self.target_id)))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("subscription to %s %s failed", self.kind, self.target_id)
            failed = f"subscription to {self.kind} {self.target_id} failed"
            self.conn.send(error_frame("internal_error", failed, (self.kind, self.target_id)))
        finally:
            self._unregister()

    async def _pump(self) -> None:
        while True:
            waiting = [s for s in self._sequencers() if s.pending]
            timeout = None
            if waiting:
                timeout = GAP_GRACE_S * 2 ** max(s.failures for s in waiting)
            try:
                event = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                for sequencer in waiting:  # the grace period is over: ask for the rest
                    await sequencer.catch_up(self.conn.orchestrator, self.tenant_id)
                self._tidy()
                continue
            if event is None:
                for sequencer in self._sequencers():
                    await sequencer.catch_up(self.conn.orchestrator, self.tenant_id)
            else:
                self._route(event)
            self._tidy()

    def _register(self) -> asyncio.Future[None]:
        raise NotImplementedError

    def _unregister(self) -> None:
        raise NotImplementedError

    async def _start(self) -> None:
        raise NotImplementedError

    def _sequencers(self) -> list[Sequencer]:
        raise NotImplementedError

    def _route(self, event: LiveEvent) -> None:
        raise NotImplementedError

    def _tidy(self) -> None:
        """Drop state that can no longer matter (finished executions)."""


class ExecutionSubscription(_Subscription):
    """A snapshot (or, with `after_seq`, a replay of what came after it), then live events."""

    kind = "execution"

    def __init__(self, conn: Connection, execution_id: str, after_seq: int | None) -> None:
        super().__init__(conn, execution_id)
        self.after_seq = after_seq
        self.sequencer = Sequencer(execution_id, after_seq or 0, self.deliver)

    def _register(self) -> asyncio.Future[None]:
        return self.conn.hub.watch_execution(self.target_id, self)

    def _unregister(self) -> None:
        self.conn.hub.unwatch_execution(self.target_id, self)

    async def _start(self) -> None:
        orchestrator = self.conn.orchestrator
        if self.after_seq is None:
            detail = await orchestrator.get_execution(self.tenant_id, self.target_id)
            self.sequencer.last_seq = detail.last_seq
            self.conn.send({"type": "snapshot", "execution": detail.model_dump(mode="json")})
            return
        # Unknown and foreign executions both come back not_found from the orchestrator.
        await self.sequencer.catch_up(orchestrator, self.tenant_id, strict=True)

    def _sequencers(self) -> list[Sequencer]:
        return [self.sequencer]

    def _route(self, event: LiveEvent) -> None:
        self.sequencer.accept(event)


class WorkflowSubscription(_Subscription):
    """Recent executions of one workflow, then every live event of any of its executions.

    Events of an execution the same socket follows directly are left to that subscription,
    so a client never gets one event twice. They are still sequenced here (only not sent):
    once the socket stops following the execution, this picks up where it stands instead
    of fetching and sending again what the other subscription already sent.
    """

    kind = "workflow"

    def __init__(self, conn: Connection, workflow_id: str) -> None:
        super().__init__(conn, workflow_id)
        self.sequencers: dict[str, Sequencer] = {}
        # Where finished (or snapshotted) executions stand, so late duplicates are dropped.
        self.known: OrderedDict[str, int] = OrderedDict()

    def deliver(self, live: LiveEvent) -> None:
        if not self.conn.follows_execution(live.event.execution_id):
            super().deliver(live)

    def wants_progress(self, progress: NodeProgress) -> bool:
        # Like events: the socket's own subscription to that execution sends it.
        return not self.conn.follows_execution(progress.execution_id)

    def _register(self) -> asyncio.Future[None]:
        return self.conn.hub.watch_workflow(self.target_id, self)

    def _unregister(self) -> None:
        self.conn.hub.unwatch_workflow(self.target_id, self)

    async def _start(self) -> None:
        query = ListExecutions(
            tenant_id=self.tenant_id, workflow_id=self.target_id, limit=WORKFLOW_SNAPSHOT_LIMIT
        )
        page = await self.conn.orchestrator.list_executions(query)
        for summary in page.items:
            self._remember(summary.id, summary.last_seq)
        executions = [item.model_dump(mode="json") for item in page.items]
        self.conn.send(
            {"type": "snapshot", "workflow_id": self.target_id, "executions": executions}
        )

    def _sequencers(self) -> list[Sequencer]:
        return list(self.sequencers.values())

    def _route(self, event: LiveEvent) -> None:
        execution_id = event.event.execution_id
        sequencer = self.sequencers.get(execution_id)
        if sequencer is None:
            # An execution not seen before starts at seq 1, even if a later event came first.
            start = self.known.pop(execution_id, 0)
            sequencer = Sequencer(execution_id, start, self.deliver)
            self.sequencers[execution_id] = sequencer
        sequencer.accept(event)

    def _tidy(self) -> None:
        for execution_id, sequencer in list(self.sequencers.items()):
            if sequencer.finished and not sequencer.pending:
                del self.sequencers[execution_id]
                self._remember(execution_id, sequencer.last_seq)

    def _remember(self, execution_id: str, last_seq: int) -> None:
        self.known[execution_id] = last_seq
        self.known.move_to_end(execution_id)
        while len(self.known) > FINISHED_MEMORY:
            self.known.popitem(last=False)
