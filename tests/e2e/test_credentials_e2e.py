"""Credentials end to end, every service a process: a secret reaches the outside service that
needs it and nowhere else; another tenant cannot use it, even with a forged or replayed grant;
the key ring rotates while executions keep running."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from portico_contracts.grants import (
    CredentialGrant,
    generate_signing_key,
    load_signing_key,
    sign_grant,
)
from portico_contracts.topology import CREDENTIALS_RPC_QUEUE_NAME, ORCHESTRATOR_RPC_QUEUE_NAME
from tests.e2e.client import Portico, node_runs, receive
from tests.e2e.outside import _Server
from tests.e2e.rpc import rpc_call
from tests.harness.cluster import LocalCluster


def _private_call_graph(outside: _Server, credential_id: str) -> dict[str, Any]:
    return {
        "name": "private call",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "call",
                "type": "http",
                "credential_id": credential_id,
                "config": {"url": f"{outside.url}/private?who={{{{ trigger.who }}}}"},
            },
        ],
        "edges": [{"source": "start", "target": "call"}],
    }


async def _tenant_of(client: Portico) -> str:
    me: dict[str, Any] = (await client.http.get("/api/me")).json()
    tenant: str = me["tenant_id"]
    return tenant


def _dump_database(cluster: LocalCluster) -> str:
    dsn = cluster.infra.asyncpg_dsn
    dumped = subprocess.run(
        ["pg_dump", "--no-owner", "--data-only", dsn],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dumped.stdout.decode(errors="replace")


async def _all_events(client: Portico, execution_id: str) -> list[dict[str, Any]]:
    """Everything a WebSocket subscriber is sent for the execution: snapshot and replay."""
    frames: list[dict[str, Any]] = []
    async with await client.ws() as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "execution_id": execution_id, "after_seq": 0})
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                frame = await receive(ws, timeout_s=1)
            except TimeoutError:
                break
            frames.append(frame)
    return frames


async def test_a_secret_reaches_its_service_and_nowhere_else(
    cluster: LocalCluster, user: Portico, outside: _Server
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    outside.expected_token = canary
    credential_id = await user.create_credential("crm token", "http_bearer", {"token": canary})
    workflow_id = await user.create_workflow(_private_call_graph(outside, credential_id))
    execution_ids = [await user.run(workflow_id, {"who": f"run-{i}"}) for i in range(3)]
    records = [await user.wait_finished(e) for e in execution_ids]

    # The test could fail: the secret did travel, to the one place it should.
    assert all(r["status"] == "succeeded" for r in records), records
    assert all(node_runs(r)["call"]["output"]["body"] == {"authorized": True} for r in records)
    sent = [h for path, h in outside.headers_seen if path == "/private"]
    assert any(h.get("Authorization") == f"Bearer {canary}" for h in sent)

    listed = (await user.http.get("/api/credentials")).text
    shown = (await user.http.get(f"/api/credentials/{credential_id}")).text
    events = [await _all_events(user, e) for e in execution_ids]
    executions = (await user.http.get(f"/api/executions?workflow_id={workflow_id}")).text
    seen_by_api = [listed, shown, executions, json.dumps(records), json.dumps(events)]
    assert all(canary not in text for text in seen_by_api)
    assert canary not in _dump_database(cluster)
    for name, text in _logs(cluster).items():
        assert canary not in text, f"the secret is in the {name} log"


def _logs(cluster: LocalCluster) -> dict[str, str]:
    return {
        log.stem: log.read_text(errors="replace") for log in Path(cluster.log_dir).glob("*.log")
    }


async def test_another_tenant_cannot_see_use_or_resolve_a_credential(
    cluster: LocalCluster, user: Portico, other_user: Portico, outside: _Server
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    credential_id = await user.create_credential("mine", "http_bearer", {"token": secret})
    owner, intruder = await _tenant_of(user), await _tenant_of(other_user)

    assert (await other_user.http.get(f"/api/credentials/{credential_id}")).status_code == 404
    assert credential_id not in (await other_user.http.get("/api/credentials")).text
    assert (await other_user.http.delete(f"/api/credentials/{credential_id}")).status_code == 404
    saved = await other_user.http.post(
        "/api/workflows", json=_private_call_graph(outside, credential_id)
    )
    assert saved.status_code == 422, saved.text
    assert credential_id in saved.text

    amqp = cluster.infra.amqp_url
    signing_key = load_signing_key(cluster.env()["PORTICO_GRANT_SIGNING_KEY"])

    async def resolve(tenant: str, grant: str, execution_id: str = "e-1") -> dict[str, Any]:
        request = {
            "op": "resolve",
            "tenant_id": tenant,
            "credential_id": credential_id,
            "execution_id": execution_id,
            "node_id": "call",
            "grant": grant,
            "requester": "test-intruder",
        }
        return await rpc_call(amqp, CREDENTIALS_RPC_QUEUE_NAME, request)

    def grant_for(tenant: str, key: Any = signing_key, expires_in: float = 300) -> str:
        grant = CredentialGrant(
            tenant_id=tenant,
            execution_id="e-1",
            node_id="call",
            attempt=1,
            credential_id=credential_id,
            expires_at=time.time() + expires_in,
        )
        return sign_grant(key, grant)

    forged_key = load_signing_key(generate_signing_key()[0])
    denied = [
        await resolve(intruder, grant_for(intruder, forged_key)),  # forged: not our key
        await resolve(owner, grant_for(owner, forged_key)),
        await resolve(intruder, grant_for(owner)),  # the owner's real grant, replayed
        await resolve(intruder, grant_for(intruder)),  # a real grant, but not their credential
        await resolve(owner, grant_for(owner, expires_in=-5)),  # expired
        await resolve(owner, grant_for(owner), execution_id="e-2"),  # for another execution
    ]
    for reply in denied:
        assert reply.get("result") is None, "a resolve that should fail answered plaintext"
        assert reply["error"]["code"] in ("forbidden", "not_found"), reply
    assert secret not in json.dumps(denied)

    # A grant the orchestrator issued to the owner (generate-config) does not serve the intruder.
    issued = await rpc_call(
        amqp,
        ORCHESTRATOR_RPC_QUEUE_NAME,
        {
            "op": "issue_grant",
            "tenant_id": owner,
            "credential_id": credential_id,
            "requested_by": "test",
        },
    )
    real = issued["result"]
    replayed = await rpc_call(
        amqp,
        CREDENTIALS_RPC_QUEUE_NAME,
        {
            "op": "resolve",
            "tenant_id": intruder,
            "credential_id": credential_id,
            "execution_id": real["execution_id"],
            "node_id": real["node_id"],
            "grant": real["grant"],
        },
    )
    assert replayed["error"]["code"] in ("forbidden", "not_found"), replayed
    # ...while the owner's own use of it works, so the refusals above are not a broken service.
    honest = await rpc_call(
        amqp,
        CREDENTIALS_RPC_QUEUE_NAME,
        {
            "op": "resolve",
            "tenant_id": owner,
            "credential_id": credential_id,
            "execution_id": real["execution_id"],
            "node_id": real["node_id"],
            "grant": real["grant"],
        },
    )
    assert honest["result"]["data"] == {"token": secret}

    audit = await _audit_rows(cluster, credential_id)
    assert {row["outcome"] for row in audit} == {"granted", "denied"}
    assert len(audit) == len(denied) + 2


async def _audit_rows(cluster: LocalCluster, credential_id: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(cluster.infra.asyncpg_dsn)
    try:
        return await connection.fetch(
            "SELECT * FROM credentials.access_audit WHERE credential_id = $1", credential_id
        )
    finally:
        await connection.close()


async def test_the_key_ring_rotates_while_executions_keep_running(
    cluster: LocalCluster, user: Portico, outside: _Server
) -> None:
    token = f"rotating-{uuid.uuid4().hex}"
    outside.expected_token = token
    credential_id = await user.create_credential("rotating", "http_bearer", {"token": token})
    workflow_id = await user.create_workflow(_private_call_graph(outside, credential_id))
    keys_file = cluster.env()["PORTICO_CREDENTIALS_KEYS_FILE"]
    kids_before = await _kids(cluster)

    stop = asyncio.Event()

    async def keep_running() -> list[str]:
        started = []
        while not stop.is_set():
            started.append(await user.run(workflow_id, {"who": "load"}))
            await asyncio.sleep(0.05)
        return started

    load = asyncio.create_task(keep_running())
    await asyncio.sleep(1.0)
    rotate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "portico",
        "credentials",
        "rotate-key",
        "--keys-file",
        keys_file,
        env=cluster.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(rotate.communicate(), 120)
    assert rotate.returncode == 0, output.decode()
    await asyncio.sleep(1.0)
    stop.set()
    started = await load
    records = [await user.wait_finished(e) for e in started]

    assert len(started) > 10
    assert [r["status"] for r in records] == ["succeeded"] * len(records)
    kids_after = await _kids(cluster)
    assert len(kids_after) == 1, kids_after
    assert kids_after.isdisjoint(kids_before), (kids_before, kids_after)
    assert len(_ring_entries(keys_file)) >= 2  # old keys kept unless retired
    after = await user.wait_finished(await user.run(workflow_id, {"who": "after"}))
    assert after["status"] == "succeeded"  # rows sealed before the rotation still open


def _ring_entries(keys_file: str) -> list[str]:
    lines = Path(keys_file).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


async def _kids(cluster: LocalCluster) -> set[str]:
    connection = await asyncpg.connect(cluster.infra.asyncpg_dsn)
    try:
        rows = await connection.fetch("SELECT DISTINCT kid FROM credentials.credentials")
        return {row["kid"] for row in rows}
    finally:
        await connection.close()
