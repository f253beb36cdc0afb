"""Targets are judged on the figures of the same run, ratios included."""

from __future__ import annotations

import pytest

from bench.report import Outcome, comparison_targets, format_outcome, target_rows


def _outcome(workload: str, **figures: float) -> Outcome:
    outcome = Outcome(workload, workload)
    for key, value in figures.items():
        outcome.add(key, key, value, "ms")
    return outcome


def test_chain_targets_are_ratios_to_the_floor_of_the_same_run() -> None:
    outcomes = {
        "floor": _outcome("floor", per_node_p50_ms=3.0, per_node_p99_ms=4.0),
        "chain": _outcome("chain", per_node_p50_ms=3.6, per_node_p99_ms=13.0),
    }
    rows = {row["target"]: row for row in target_rows(outcomes)}
    p50, p99 = rows["chain per-node p50 / floor p50"], rows["chain per-node p99 / floor p99"]
    assert p50["measured"] == pytest.approx(1.2)
    assert p50["met"]
    assert p99["measured"] == pytest.approx(3.25)
    assert not p99["met"]
    assert len(rows) == 2  # workloads that did not run are not judged


def test_a_failed_check_is_shown() -> None:
    outcome = _outcome("throughput", runs_per_s=100.0)
    outcome.check("node runs persisted: 9 of 10", ok=False)
    assert "[FAILED] node runs persisted: 9 of 10" in format_outcome(outcome)


def test_a_comparison_judges_throughput_against_the_baseline() -> None:
    before = {"throughput": _outcome("throughput", runs_per_s=90.0)}
    after = {"throughput": _outcome("throughput", runs_per_s=280.0)}
    assert "current / baseline: 3.11x (target ≥ 3x): yes" in comparison_targets(before, after)
