"""Percentiles as the benchmarks report them."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """The `q`th percentile (1-99) of `values`, interpolated; the value itself if only one."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]
