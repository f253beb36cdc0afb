"""The end-to-end tests drive Portico with the benchmarks' API client: one client, not two."""

from __future__ import annotations

from bench.client import TERMINAL, Portico, node_runs, receive

__all__ = ["TERMINAL", "Portico", "node_runs", "receive"]
