"""How long and how hard each workload runs; `--quick` shrinks everything for a smoke run."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Options:
    floor_repeats: int = 20
    chain_length: int = 40
    chain_runs: int = 20
    parallel_runs: int = 20
    clients: int = 32
    throughput_seconds: float = 20.0
    webhook_seconds: float = 10.0
    credential_runs: int = 10
    scale_seconds: float = 15.0
    # Nodes one executor process runs at once in the scale-out workload: small, so that the
    # executors' capacity — not the machine's 2 cores — is what the workload measures.
    scale_prefetch: int = 1
    soak_minutes: float = 10.0
    soak_clients: int = 8

    def quick(self) -> Options:
        return replace(
            self,
            floor_repeats=5,
            chain_runs=5,
            parallel_runs=5,
            throughput_seconds=4.0,
            webhook_seconds=3.0,
            credential_runs=2,
            scale_seconds=4.0,
            soak_minutes=min(self.soak_minutes, 0.5),
        )
