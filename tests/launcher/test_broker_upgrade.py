"""A work queue declared otherwise (here: without its dead-letter exchange) is re-declared as
the services declare it, its messages kept."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import aio_pika
import pytest

from portico.broker_upgrade import upgrade_queues, work_queues


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost() -> Iterator[str]:
    """A vhost of this test's own: nothing else may consume the queues it upgrades."""
    name = f"portico_upgrade_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    _rabbitmqctl("delete_vhost", name)


async def test_queues_of_another_shape_are_replaced_and_keep_their_messages(vhost: str) -> None:
    connection = await aio_pika.connect_robust(vhost)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        old = await channel.declare_queue("executor.http", durable=True)  # no DLX
        for index in range(3):
            await channel.default_exchange.publish(
                aio_pika.Message(f"m{index}".encode(), message_id=f"id{index}"),
                routing_key=old.name,
            )

        upgraded = await upgrade_queues(vhost)
        assert upgraded == {"executor.http": 3}
        assert await upgrade_queues(vhost) == {}  # the second time there is nothing to do

        channel = await connection.channel()
        for queue, _ in work_queues():  # each declares as the services declare it
            await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
        http = await channel.declare_queue("executor.http", passive=True)
        bodies = []
        while (message := await http.get(no_ack=True, fail=False)) is not None:
            bodies.append((message.body, message.message_id))
        assert bodies == [(b"m0", "id0"), (b"m1", "id1"), (b"m2", "id2")]
