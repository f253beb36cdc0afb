"""The executors over real RabbitMQ: NodeReady in on portico.nodes, NodeResult out on
portico.results, malformed messages to the dead-letter exchange."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from portico_contracts.topology import DEAD_LETTER_QUEUE, DEAD_LETTER_REASON_HEADER
from portico_executors.app import Runtime

from .support import NodeClient, make_ready

pytestmark = pytest.mark.usefixtures("executors")


async def test_transform_expression(node_client: NodeClient) -> None:
    ready = make_ready(
        "transform",
        {"expression": '{"emails": trigger.rows.email, "n": $count(trigger.rows)}'},
        trigger={"rows": [{"email": "a@x.test"}, {"email": "b@x.test"}]},
    )
    result = await node_client.run(ready)
    assert result.status == "succeeded", result.error
    assert result.output == {"emails": ["a@x.test", "b@x.test"], "n": 2}


async def test_transform_mapping_with_native_values(node_client: NodeClient) -> None:
    ready = make_ready(
        "transform",
        {"mapping": {"plan": "{{ nodes.lookup.output.plan }}", "ids": "{{ input.a.ids }}"}},
        nodes={"lookup": {"output": {"plan": "pro"}}},
        inputs={"a": {"ids": [1, 2]}},
    )
    result = await node_client.run(ready)
    assert result.output == {"plan": "pro", "ids": [1, 2]}
    assert result.input == {"mapping": {"plan": "pro", "ids": [1, 2]}}


async def test_transform_bad_expression_at_run_time(node_client: NodeClient) -> None:
    result = await node_client.run(make_ready("transform", {"expression": "$number('abc')"}))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("JsonataError", False)


async def test_condition_picks_branch(node_client: NodeClient) -> None:
    config = {
        "rules": [
            {
                "value": "{{ trigger.plan }}",
                "operator": "eq",
                "compare_to": "free",
                "branch": "free",
            },
            {"value": "{{ trigger.seats }}", "operator": "gte", "compare_to": 10, "branch": "big"},
        ],
        "default_branch": "small",
    }
    result = await node_client.run(
        make_ready("condition", config, trigger={"plan": "pro", "seats": "25"})
    )
    assert (result.branch, result.output) == ("big", {"branch": "big", "matched_rule": 1})


async def test_condition_exists_on_undefined(node_client: NodeClient) -> None:
    rule = {"value": "{{ nodes.x.output.missing }}", "operator": "exists", "branch": "has"}
    result = await node_client.run(
        make_ready("condition", {"rules": [rule], "default_branch": "none"})
    )
    assert (result.status, result.branch) == ("succeeded", "none")


async def test_condition_incompatible_types_fail(node_client: NodeClient) -> None:
    rule = {"value": "a", "operator": "gt", "compare_to": 3, "branch": "b"}
    result = await node_client.run(make_ready("condition", {"rules": [rule]}))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("ConditionError", False)


async def test_merge(node_client: NodeClient) -> None:
    inputs = {"b": {"v": 2}, "a": {"v": 1}}
    by_node = await node_client.run(make_ready("merge", {}, inputs=inputs))
    as_list = await node_client.run(make_ready("merge", {"mode": "list"}, inputs=inputs))
    assert by_node.output == {"a": {"v": 1}, "b": {"v": 2}}
    assert as_list.output == [{"v": 1}, {"v": 2}]


async def test_http_round_trip(node_client: NodeClient, http_base: str) -> None:
    config = {
        "method": "POST",
        "url": http_base + "/echo",
        "body_type": "json",
        "body": {"id": "{{ trigger.id }}"},
    }
    result = await node_client.run(make_ready("http", config, trigger={"id": 5}))
    assert result.status == "succeeded", result.error
    assert result.output["status"] == 200
    assert json.loads(result.output["body"]["body"]) == {"id": 5}


async def test_http_server_error_is_retryable(node_client: NodeClient, http_base: str) -> None:
    result = await node_client.run(make_ready("http", {"url": http_base + "/status/502"}))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpStatusError", True)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:80/"]
)
async def test_http_private_destinations_refused(node_client: NodeClient, url: str) -> None:
    result = await node_client.run(make_ready("http", {"url": url}))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpRequestBlocked", False)


async def test_template_error_fails_for_good(node_client: NodeClient) -> None:
    config = {"url": "https://api.test/{{ nodes.lookup.output.id }}"}
    result = await node_client.run(make_ready("http", config))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("TemplateError", False)
    assert "'url'" in result.error.message
    assert result.input is None


async def test_result_metadata(node_client: NodeClient) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ready = make_ready("merge", {}, attempt=2, tenant_id="tenant-42")
    future = await node_client.publish(ready, headers={"traceparent": traceparent})
    result = await asyncio.wait_for(future, 10)
    raw = node_client.raw_results[ready.message_id]
    assert (result.attempt, result.tenant_id, result.execution_id) == (
        2,
        "tenant-42",
        ready.execution_id,
    )
    assert raw.headers["traceparent"] == traceparent
    assert raw.delivery_mode == 2  # persistent
    assert raw.message_id == result.message_id


async def test_wait_inline(node_client: NodeClient) -> None:
    ready = make_ready("wait", {"seconds": 0.3}, dispatched_at=datetime.now(UTC))
    started = time.monotonic()
    result = await node_client.run(ready)
    assert 0.25 < time.monotonic() - started < 2
    deadline = ready.dispatched_at + timedelta(seconds=0.3)
    assert result.output == {"waited_until": deadline.isoformat()}


async def test_wait_counts_from_dispatch(node_client: NodeClient) -> None:
    # A redelivery of a message dispatched 5 s ago waits only what is left of its 5.3 s.
    ready = make_ready(
        "wait", {"seconds": 5.3}, dispatched_at=datetime.now(UTC) - timedelta(seconds=5)
    )
    started = time.monotonic()
    result = await node_client.run(ready)
    assert result.status == "succeeded"
    assert time.monotonic() - started < 1.5


async def test_long_wait_suspends_then_resumes(node_client: NodeClient) -> None:
    dispatched = datetime.now(UTC)
    first = await node_client.run(make_ready("wait", {"seconds": 7200}, dispatched_at=dispatched))
    assert first.status == "suspended"
    assert first.resume_at == dispatched + timedelta(hours=2)
    # The orchestrator's timer re-dispatches the same attempt after the deadline.
    due = dispatched - timedelta(hours=3)
    again = await node_client.run(make_ready("wait", {"seconds": 7200}, dispatched_at=due))
    assert again.status == "succeeded"


async def test_wait_until_in_the_past_succeeds_at_once(node_client: NodeClient) -> None:
    result = await node_client.run(make_ready("wait", {"until": "2001-01-01T00:00:00Z"}))
    assert result.output == {"waited_until": "2001-01-01T00:00:00+00:00"}


async def test_parallel_waits_do_not_block_each_other(node_client: NodeClient) -> None:
    readies = [
        make_ready("wait", {"seconds": 0.1}, dispatched_at=datetime.now(UTC)) for _ in range(20)
    ]
    started = time.monotonic()
    futures = [await node_client.publish(ready) for ready in readies]
    results = await asyncio.wait_for(asyncio.gather(*futures), 10)
    elapsed = time.monotonic() - started
    assert all(result.status == "succeeded" for result in results)
    assert elapsed < 1.0  # one by one it would take 2 s


async def test_repeated_delivery_is_answered_once(node_client: NodeClient) -> None:
    ready = make_ready("transform", {"mapping": {"n": 1}})
    await node_client.run(ready)
    await node_client.publish(ready)  # the outbox sent it again
    await asyncio.sleep(0.3)
    assert node_client.result_counts[ready.message_id] == 1


async def test_repeated_suspended_wait_is_answered_again(node_client: NodeClient) -> None:
    ready = make_ready("wait", {"seconds": 3600}, dispatched_at=datetime.now(UTC))
    assert (await node_client.run(ready)).status == "suspended"
    assert (await node_client.run(ready)).status == "suspended"
    assert node_client.result_counts[ready.message_id] == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid NodeReady"),
        (b'{"tenant_id": "t"}', "execution_id: Field required"),
        (b"\xff\xfe", "invalid NodeReady"),
    ],
)
async def test_malformed_messages_are_dead_lettered(
    node_client: NodeClient, executors: Runtime, body: bytes, reason: str
) -> None:
    await node_client.publish_raw(body, "transform")
    dead = await asyncio.wait_for(node_client.dead.get(), 10)
    assert dead.body == body
    assert reason in str(dead.headers[DEAD_LETTER_REASON_HEADER])
    assert dead.headers["x-portico-original-routing-key"] == "node.ready.transform"
    # …and the consumer keeps serving.
    result = await node_client.run(make_ready("transform", {"mapping": {"ok": True}}))
    assert result.output == {"ok": True}
    queue = await executors.broker.declare_queue(DEAD_LETTER_QUEUE)
    await queue.purge()  # other services' tests in this vhost read portico.dead
