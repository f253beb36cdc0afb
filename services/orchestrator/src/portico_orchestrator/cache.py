"""What this replica remembers of the executions it drives, to keep reads off the hot path.

Two parts are immutable once known, so a cached copy can never be stale: the parsed graph
snapshot, and the outputs of nodes that finished (a node's output never changes after its run
is terminal). Another replica may have finished nodes this one has not seen; those are read
from the database when needed and remembered too. Outputs are learned only after the
transaction that recorded them committed.

The third may be stale: the execution row as this replica last saved it, with its version.
The next result is applied to it without the row lock, and its save only takes effect while
the row is still at that version (see `ExecutionService.apply_results_unlocked`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portico_orchestrator.readiness import GraphIndex

if TYPE_CHECKING:  # step.py imports this module
    from portico_orchestrator.step import ExecutionRow

Outputs = dict[str, tuple[Any, Any]]  # node_id -> (output, error)


@dataclass
class CachedExecution:
    index: GraphIndex
    outputs: Outputs = field(default_factory=dict)
    size: int = 0  # approximate bytes of the outputs, for the memory bound
    row: ExecutionRow | None = None  # as last saved here; never changed in place


class ExecutionCache:
    """Least recently used executions, bounded by count and by approximate output bytes."""

    def __init__(self, max_executions: int, max_output_bytes: int) -> None:
        self._max_executions = max_executions
        self._max_bytes = max_output_bytes
        self._bytes = 0
        self._items: OrderedDict[str, CachedExecution] = OrderedDict()

    def get(self, execution_id: str) -> CachedExecution | None:
        entry = self._items.get(execution_id)
        if entry is not None:
            self._items.move_to_end(execution_id)
        return entry

    def put(self, execution_id: str, index: GraphIndex) -> CachedExecution:
        entry = self._items.get(execution_id)
        if entry is None:
            entry = self._items[execution_id] = CachedExecution(index)
            self._evict()
        return entry

    def learn(self, execution_id: str, outputs: Outputs, size: int) -> None:
        entry = self._items.get(execution_id)
        if entry is None or not outputs:
            return
        entry.outputs.update(outputs)
        entry.size += size
        self._bytes += size
        self._evict()

    def remember_row(self, execution_id: str, row: ExecutionRow) -> None:
        """Keep `row` as saved, unless a later save of this replica is already kept (two
        commits' after-commit work may come in either order)."""
        entry = self._items.get(execution_id)
        if entry is not None and (entry.row is None or row.version > entry.row.version):
            entry.row = row

    def drop(self, execution_id: str) -> None:
        entry = self._items.pop(execution_id, None)
        if entry is not None:
            self._bytes -= entry.size

    def _evict(self) -> None:
        while self._items and (
            len(self._items) > self._max_executions or self._bytes > self._max_bytes
        ):
            _, entry = self._items.popitem(last=False)
            self._bytes -= entry.size
