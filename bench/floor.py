"""The machine's floor for one durable workflow step, in plain Python: asyncpg and aio-pika only.

A step of any engine that keeps its state in PostgreSQL and moves work through RabbitMQ must at
least, durably:

1. commit one transaction (synchronous_commit on, so it is fsync'd) that marks the previous
   step done and records the next one as queued;
2. publish "run this" as a persistent message and wait for the broker's confirm;
3. on the worker side, take that message (manual ack), publish "done" persistently with a
   confirm, then ack;
4. on the engine side, take "done" (manual ack) and go on to the next step.

`measure_floor` chains `nodes` such steps `repeats` times on the servers it is given and
reports, in ms, per node (a chain's total / `nodes`, as a chain of Portico nodes is measured)
and per hop (each step alone). Each side has its own connection, as two services would.
`python -m bench.floor` measures it on the local servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from bench.infra import LOCAL_AMQP_ROOT, LOCAL_PG_ADMIN
from bench.stats import percentile

_WARMUP_CHAINS = 2
_PERSISTENT = aio_pika.DeliveryMode.PERSISTENT


@dataclass(frozen=True)
class FloorFigures:
    per_node_ms: list[float]  # one per chain: its total / nodes
    per_hop_ms: list[float]  # every step of every chain

    def summary(self) -> dict[str, float]:
        return {
            "per_node_p50_ms": percentile(self.per_node_ms, 50),
            "per_node_p99_ms": percentile(self.per_node_ms, 99),
            "per_hop_p50_ms": percentile(self.per_hop_ms, 50),
            "per_hop_p99_ms": percentile(self.per_hop_ms, 99),
        }


async def _publish(channel: AbstractChannel, body: bytes, queue: str) -> None:
    # A channel opened with publisher confirms returns from publish once the broker confirmed.
    await channel.default_exchange.publish(
        aio_pika.Message(body, delivery_mode=_PERSISTENT), routing_key=queue
    )


async def _worker(channel: AbstractChannel, ready: str, done: str) -> None:
    """The executor side: every "run this" becomes a confirmed "done", then is acked."""

    async def on_ready(message: AbstractIncomingMessage) -> None:
        await _publish(channel, message.body, done)
        await message.ack()

    queue = await channel.declare_queue(ready, durable=True, auto_delete=True)
    await queue.consume(on_ready)


class _Engine:
    """The orchestrator side: one transaction and one confirmed publish per step."""

    def __init__(self, db: asyncpg.Connection, channel: AbstractChannel, ready: str) -> None:
        self.db = db
        self.channel = channel
        self.ready = ready
        self.results: asyncio.Queue[bytes] = asyncio.Queue()

    async def listen(self, done: str) -> None:
        async def on_done(message: AbstractIncomingMessage) -> None:
            await self.results.put(message.body)
            await message.ack()

        queue = await self.channel.declare_queue(done, durable=True, auto_delete=True)
        await queue.consume(on_done)

    async def step(self, execution: uuid.UUID, index: int, previous: uuid.UUID | None) -> uuid.UUID:
        step_id = uuid.uuid4()
        async with self.db.transaction():
            if previous is not None:
                await self.db.execute(
                    "UPDATE bench_floor_steps SET status = 'succeeded', output = '{}'"
                    " WHERE id = $1",
                    previous,
                )
            await self.db.execute(
                "INSERT INTO bench_floor_steps VALUES ($1, $2, $3, 'queued', NULL)",
                step_id,
                execution,
                index,
            )
        await _publish(self.channel, str(index).encode(), self.ready)
        await self.results.get()
        return step_id

    async def chain(self, nodes: int) -> list[float]:
        """Per-step durations (ms) of one chain of `nodes` steps."""
        execution, previous = uuid.uuid4(), None
        hops: list[float] = []
        for index in range(nodes):
            started = time.perf_counter()
            previous = await self.step(execution, index, previous)
            hops.append((time.perf_counter() - started) * 1000)
        return hops


_TABLE = """CREATE TABLE IF NOT EXISTS bench_floor_steps
    (id uuid PRIMARY KEY, execution uuid, node int, status text, output jsonb)"""


async def measure_floor(
    postgres_dsn: str, amqp_url: str, nodes: int = 40, repeats: int = 20
) -> FloorFigures:
    db = await asyncpg.connect(postgres_dsn)
    engine_side = await aio_pika.connect(amqp_url)
    worker_side = await aio_pika.connect(amqp_url)
    try:
        await db.execute(_TABLE)
        tag = uuid.uuid4().hex[:8]
        ready, done = f"bench.floor.ready.{tag}", f"bench.floor.done.{tag}"
        await _worker(await worker_side.channel(publisher_confirms=True), ready, done)
        engine = _Engine(db, await engine_side.channel(publisher_confirms=True), ready)
        await engine.listen(done)
        per_node: list[float] = []
        per_hop: list[float] = []
        for index in range(_WARMUP_CHAINS + repeats):
            hops = await engine.chain(nodes)
            if index >= _WARMUP_CHAINS:
                per_hop += hops
                per_node.append(sum(hops) / nodes)
        await db.execute("DROP TABLE bench_floor_steps")
        return FloorFigures(per_node, per_hop)
    finally:
        await worker_side.close()
        await engine_side.close()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--postgres", default=LOCAL_PG_ADMIN, help="asyncpg DSN")
    parser.add_argument("--amqp", default=LOCAL_AMQP_ROOT)
    args = parser.parse_args()
    figures = asyncio.run(measure_floor(args.postgres, args.amqp, args.nodes, args.repeats))
    print(json.dumps({key: round(value, 3) for key, value in figures.summary().items()}))


if __name__ == "__main__":
    main()
