"""`Idempotency-Key` on POST /api/workflows/{id}/run: a repeat within 24 h gets the first
answer and starts nothing new, even when the repeats arrive at the same time."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from portico_gateway.runs import fingerprint
from portico_gateway.schemas import RunAccepted, RunRequest
from tests.gateway.conftest import (
    User,
    create,
    gateway_settings,
    new_user,
    serve,
    trigger_only_graph,
)

pytestmark = pytest.mark.usefixtures("live_orchestrator")

HEADER = "Idempotency-Key"


async def _run(user: User, workflow_id: str, key: str | None, **body: Any) -> httpx.Response:
    headers = {} if key is None else {HEADER: key}
    return await user.client.post(f"/api/workflows/{workflow_id}/run", json=body, headers=headers)


async def _execution_ids(user: User, workflow_id: str) -> set[str]:
    page = await user.client.get("/api/executions", params={"workflow_id": workflow_id})
    assert page.status_code == 200, page.text
    return {item["id"] for item in page.json()["items"]}


def _key() -> str:
    return str(uuid.uuid4())


async def _sql(infra: Any, statement: str, *args: Any) -> None:
    connection = await asyncpg.connect(infra.asyncpg_dsn)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def test_a_repeat_gets_the_first_answer_and_starts_nothing(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    key = _key()
    first = await _run(alice, workflow_id, key, payload={"n": 1})
    assert first.status_code == 202, first.text
    again = await _run(alice, workflow_id, key, payload={"n": 1})
    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    # Defaults left out or written out, in any order: the same request.
    written_out = await _run(alice, workflow_id, key, version=None, payload={"n": 1})
    assert written_out.json() == first.json()
    assert await _execution_ids(alice, workflow_id) == {first.json()["execution_id"]}
    # Without a key, every request is a run of its own.
    plain = [await _run(alice, workflow_id, None, payload={"n": 1}) for _ in range(2)]
    assert len({response.json()["execution_id"] for response in plain}) == 2


async def test_concurrent_repeats_share_one_execution(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    key = _key()
    answers = await asyncio.gather(*(_run(alice, workflow_id, key) for _ in range(20)))
    assert {response.status_code for response in answers} == {202}
    ids = {response.json()["execution_id"] for response in answers}
    assert len(ids) == 1
    assert await _execution_ids(alice, workflow_id) == ids


async def test_the_same_key_for_another_request_is_refused(alice: User) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    other_workflow = await create(alice, trigger_only_graph("other"))
    key = _key()
    assert (await _run(alice, workflow_id, key, payload={"n": 1})).status_code == 202
    for response in [
        await _run(alice, workflow_id, key, payload={"n": 2}),
        await _run(alice, other_workflow, key, payload={"n": 1}),
    ]:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert HEADER in error["message"]
    assert len(await _execution_ids(alice, workflow_id)) == 1
    assert await _execution_ids(alice, other_workflow) == set()


async def test_keys_belong_to_their_tenant(alice: User, bob: User) -> None:
    key = _key()
    alices = await _run(alice, await create(alice, trigger_only_graph()), key)
    bobs = await _run(bob, await create(bob, trigger_only_graph()), key)
    assert alices.status_code == bobs.status_code == 202
    assert alices.json()["execution_id"] != bobs.json()["execution_id"]


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tinside", "caf\u00e9", "two words"])
async def test_invalid_keys_are_a_422_naming_the_header(alice: User, key: str) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    response = await alice.client.post(
        f"/api/workflows/{workflow_id}/run",
        json={},
        headers=[(HEADER.encode(), key.encode())],
    )
    assert response.status_code == 422, response.text
    assert HEADER in response.json()["error"]["message"]
    assert await _execution_ids(alice, workflow_id) == set()
    longest = await _run(alice, workflow_id, "k" * 255)
    assert longest.status_code == 202, longest.text


async def test_an_expired_key_starts_a_new_run(alice: User, infra: Any) -> None:
    workflow_id = await create(alice, trigger_only_graph())
    key = _key()
    first = (await _run(alice, workflow_id, key)).json()
    await _sql(
        infra,
        "UPDATE gateway.idempotency_keys SET created_at = now() - interval '25 hours' "
        "WHERE key = $1",
        key,
    )
    second = await _run(alice, workflow_id, key)
    assert second.status_code == 202
    assert second.json()["execution_id"] != first["execution_id"]
    # ...and that new answer is the one a repeat gets now.
    assert (await _run(alice, workflow_id, key)).json() == second.json()


async def test_a_repeat_starts_the_run_if_the_first_request_never_did(
    alice: User, infra: Any
) -> None:
    """A gateway that stored the key and died before queueing the start command: the
    client's repeat gets the stored answer, and the execution does start."""
    workflow_id = await create(alice, trigger_only_graph())
    key = _key()
    request = RunRequest(payload={"healed": True})
    stored = RunAccepted(
        execution_id=str(uuid.uuid4()),
        workflow_id=workflow_id,
        workflow_version=1,
        trigger_node_id="start",
    )
    tenant_id = (await alice.client.get("/api/me")).json()["tenant_id"]
    await _sql(
        infra,
        "INSERT INTO gateway.idempotency_keys "
        "(tenant_id, key, fingerprint, execution_id, response) VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        key,
        fingerprint(workflow_id, request),
        stored.execution_id,
        stored.model_dump_json(),
    )
    repeat = await _run(alice, workflow_id, key, payload={"healed": True})
    assert repeat.status_code == 202, repeat.text
    assert repeat.json() == stored.model_dump()
    execution = await alice.client.get(f"/api/executions/{stored.execution_id}")
    assert execution.status_code == 200, execution.text
    assert execution.json()["payload"] == {"healed": True}


@pytest.fixture
async def quick_cleanup_url(infra: Any) -> AsyncIterator[str]:
    async with serve(gateway_settings(infra, idempotency_cleanup_interval_s=1)) as url:
        yield url


async def test_expired_keys_are_deleted(quick_cleanup_url: str, infra: Any) -> None:
    user = await new_user(quick_cleanup_url)
    try:
        workflow_id = await create(user, trigger_only_graph())
        old, fresh = _key(), _key()
        for key in (old, fresh):
            assert (await _run(user, workflow_id, key)).status_code == 202
        await _sql(
            infra,
            "UPDATE gateway.idempotency_keys SET created_at = now() - interval '25 hours' "
            "WHERE key = $1",
            old,
        )
        connection = await asyncpg.connect(infra.asyncpg_dsn)
        try:
            deadline = time.monotonic() + 15
            while True:
                left = await connection.fetch(
                    "SELECT key FROM gateway.idempotency_keys WHERE key = ANY($1::text[])",
                    [old, fresh],
                )
                if {row["key"] for row in left} == {fresh}:
                    break
                assert time.monotonic() < deadline, f"still there: {left}"
                await asyncio.sleep(0.2)
        finally:
            await connection.close()
    finally:
        await user.client.aclose()
