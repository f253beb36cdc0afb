"""The ai node through RabbitMQ with the executors app running: the result, the NodeProgress
messages its stream publishes on the status exchange, and the generate-config RPC queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest

from portico_contracts.messages import NodeProgress
from portico_contracts.queries import RpcReply
from portico_contracts.topology import AI_RPC_QUEUE_NAME, STATUS_EXCHANGE, progress_key
from portico_executors.app import Runtime
from tests.fakes.ai_servers import AiReply, FakeAiServer, fake_openai

from .credential_support import CREDENTIAL_ID, StaticCredentials
from .support import NodeClient, make_ready

API_KEY = "sk-broker-" + "z" * 24
TEXT = "The quick brown fox jumps over the lazy dog. " * 6


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeAiServer]:
    async with fake_openai() as server:
        yield server


async def _progress_queue(
    client: NodeClient, key: str
) -> asyncio.Queue[aio_pika.abc.AbstractIncomingMessage]:
    exchange = await client.channel.declare_exchange(
        STATUS_EXCHANGE.name, STATUS_EXCHANGE.type.value, durable=True
    )
    queue = await client.channel.declare_queue(exclusive=True)
    await queue.bind(exchange, key)
    received: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    await queue.consume(received.put, no_ack=True)
    return received


async def test_streamed_text_arrives_as_node_progress(
    executors: Runtime, node_client: NodeClient, openai_server: FakeAiServer
) -> None:
    executors.service.credentials = StaticCredentials(
        "openai", {"api_key": API_KEY, "base_url": openai_server.base_url}
    )
    # ~270 characters in 5-character deltas, 10 ms apart: a few batches, not 54 messages.
    openai_server.script(AiReply(text=TEXT, chunk_chars=5, chunk_delay_s=0.01))
    config = {"provider": "openai", "model": "gpt-4o-mini", "prompt": "Tell {{ trigger.who }}"}
    ready = make_ready(
        "ai",
        config,
        trigger={"who": "me"},
        credential_id=CREDENTIAL_ID,
        credential_grant="grant",
        timeout_s=30,
    )
    received = await _progress_queue(
        node_client, progress_key(ready.tenant_id, ready.workflow_id, ready.execution_id)
    )

    result = await node_client.run(ready, within_s=30)

    assert result.status == "succeeded", result.error
    assert result.output["text"] == TEXT
    assert result.output["usage"]["total_tokens"] == 20
    assert openai_server.requests[0].json["messages"][-1]["content"] == "Tell me"
    chunks: list[NodeProgress] = []
    while not received.empty() or "".join(c.text for c in chunks) != TEXT:
        message = await asyncio.wait_for(received.get(), 5)
        assert message.delivery_mode != aio_pika.DeliveryMode.PERSISTENT
        chunks.append(NodeProgress.model_validate_json(message.body))
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert 2 <= len(chunks) <= 20
    assert {(c.node_id, c.attempt, c.execution_id) for c in chunks} == {
        (ready.node_id, 1, ready.execution_id)
    }
    reported = result.model_dump_json()
    assert API_KEY not in reported


async def test_generate_config_queue_answers_with_an_rpc_reply(
    executors: Runtime, node_client: NodeClient
) -> None:
    replies = await node_client.channel.declare_queue(exclusive=True)
    answered: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    await replies.consume(answered.put, no_ack=True)
    correlation_id = str(uuid.uuid4())
    await node_client.channel.default_exchange.publish(
        aio_pika.Message(
            b'{"tenant_id": "tenant-1", "node_type": "http"}',
            reply_to=replies.name,
            correlation_id=correlation_id,
            content_type="application/json",
        ),
        routing_key=AI_RPC_QUEUE_NAME,
    )
    message = await asyncio.wait_for(answered.get(), 10)
    assert message.correlation_id == correlation_id
    reply = RpcReply.model_validate_json(message.body)
    assert reply.error is not None
    assert reply.error.code == "invalid_request"
    assert "description" in reply.error.message
