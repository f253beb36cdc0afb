"""What a node attempt spent (tokens, money), as its executor reported it, for the execution's
running total. AI nodes report it in their output, or in their error's details when the
attempt failed after the provider had already answered (a schema mismatch, say)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from portico_contracts.ai import TokenUsage
from portico_contracts.messages import NodeResult

# Anything above this is not a real bill; a result claiming it is ignored, not summed.
_MAX_COST_USD = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Spent:
    usage: TokenUsage
    cost_usd: float


def spent_by(result: NodeResult) -> Spent | None:
    source: Any = result.output
    if result.error is not None:
        source = result.error.details
    if not isinstance(source, dict) or not isinstance(source.get("usage"), dict):
        return None
    try:
        usage = TokenUsage.model_validate(source["usage"])
    except ValidationError:
        return None
    cost = source.get("cost_usd", 0.0)
    if not isinstance(cost, int | float) or not math.isfinite(cost):
        cost = 0.0
    if not 0 <= cost <= _MAX_COST_USD:
        cost = 0.0
    return Spent(usage, float(cost))
