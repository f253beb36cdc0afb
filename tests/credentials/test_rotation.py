"""`rotate-key`: every row moves under a new key while resolves keep succeeding; rows opened
before and after; ciphertexts untouched; unused keys retired; the env ring variant.

Re-wrapping is database-wide, so this module's service reads a keys file that starts as the
run's own ring, and the fixture puts every row back under the run's key at the end: other
suites' services (reading the run's ring) must still open what they sealed.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.infra import Infra
from portico_credentials.app import Runtime, running
from portico_credentials.config import KeySettings
from portico_credentials.keyring import entries_of, read_ring_file
from portico_credentials.rotation import rotate

from .support import Rpc, fetch, grant_for, new_tenant, resolve_fields

RELOAD_S = 0.5


@dataclass
class Ring:
    path: Path
    run_entry: str  # the run's own ring entry, which every other suite uses

    @property
    def run_kid(self) -> str:
        return self.run_entry.split(":", 1)[0]


@pytest.fixture(scope="module")
async def ring(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ring]:
    run_entry = infra.keys["PORTICO_CREDENTIALS_KEYS"]
    path = tmp_path_factory.mktemp("ring") / "credentials.keys"
    path.write_text(f"# the run's ring\n{run_entry}\n")
    path.chmod(0o600)
    yield Ring(path, run_entry)
    # Back under the run's key, with every key this module made available to open rows.
    every_key = ",".join([run_entry, *entries_of(path.read_text())])
    settings = KeySettings(
        database_url=infra.database_url, credentials_keys=every_key, credentials_keys_file=None
    )
    report = await rotate(settings, retire=False, say=lambda _: None)
    assert not report.unopenable


@pytest.fixture(scope="module")
async def file_service(infra: Infra, amqp_url: str, ring: Ring) -> AsyncIterator[Runtime]:
    from .support import service_settings

    settings = service_settings(
        infra,
        amqp_url,
        credentials_keys=None,
        credentials_keys_file=ring.path,
        credentials_keys_reload_s=RELOAD_S,
    )
    async with running(settings) as runtime:
        yield runtime


async def _rotate_key(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "portico_credentials",
        "rotate-key",
        *args,
        env={
            **os.environ,
            "PORTICO_CREDENTIALS_KEYS_RELOAD_S": str(RELOAD_S),
            "PORTICO_CREDENTIALS_ROTATION_BATCH": "7",  # several short transactions
            **(env or {}),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


@dataclass
class Load:
    """Resolves (and a few creates) in a loop, as executors would during a rotation."""

    rpc: Rpc
    signing_key: str
    tenant: str
    ids: list[str]
    resolved: int = 0
    failures: list[dict[str, object]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            credential_id = self.ids[turn % len(self.ids)]
            grant = grant_for(self.signing_key, self.tenant, credential_id)
            reply = await self.rpc.call(
                "resolve", self.tenant, **resolve_fields(credential_id, grant)
            )
            if reply.get("error") is None and reply["result"]["data"] == {
                "token": credential_id[-8:]
            }:
                self.resolved += 1
            else:
                self.failures.append(reply)
            if turn % 10 == 0:  # sealed under whichever key the service holds right now
                await self.rpc.create(self.tenant, f"during-{turn}", "http_bearer", {"token": "x"})
            turn += 1
            await asyncio.sleep(0.01)


async def _kids(infra: Infra) -> dict[str, int]:
    rows = await fetch(infra, "SELECT kid, count(*) AS n FROM credentials.credentials GROUP BY kid")
    return {row["kid"]: row["n"] for row in rows}


async def _ciphertexts(infra: Infra, ids: list[str]) -> dict[str, bytes]:
    rows = await fetch(
        infra,
        "SELECT id, ciphertext FROM credentials.credentials WHERE id = ANY($1::text[])",
        ids,
    )
    return {row["id"]: bytes(row["ciphertext"]) for row in rows}


async def _seed(rpc: Rpc, tenant: str, count: int) -> list[str]:
    ids = []
    for number in range(count):
        credential_id = await rpc.create(tenant, f"seed-{number}", "http_bearer", {"token": "?"})
        # Each token is its id's tail, so a resolve can check it got the right plaintext.
        await rpc.result(
            "update", tenant, credential_id=credential_id, data={"token": credential_id[-8:]}
        )
        ids.append(credential_id)
    return ids


async def test_rotate_key_rewraps_every_row_while_resolves_keep_working(
    rpc: Rpc, infra: Infra, ring: Ring, file_service: Runtime
) -> None:
    tenant = new_tenant()
    ids = await _seed(rpc, tenant, 25)
    before = await _ciphertexts(infra, ids)
    rows_before = sum((await _kids(infra)).values())
    load = Load(rpc, infra.keys["PORTICO_GRANT_SIGNING_KEY"], tenant, ids)
    running_load = asyncio.create_task(load.run())
    await asyncio.sleep(0.5)

    status, output = await _rotate_key("--keys-file", str(ring.path))

    await asyncio.sleep(0.3)
    load.stop.set()
    await running_load
    assert status == 0, output
    new_kid = read_ring_file(ring.path).active_kid
    assert new_kid != ring.run_kid
    assert read_ring_file(ring.path).kids == (new_kid, ring.run_kid)  # the old key is kept
    assert ring.path.stat().st_mode & 0o777 == 0o600
    counted = re.search(r"re-wrapped (\d+) credential", output)
    assert counted is not None, output
    assert int(counted.group(1)) >= rows_before
    assert set(await _kids(infra)) == {new_kid}
    assert load.failures == []
    assert load.resolved > 20
    assert await _ciphertexts(infra, ids) == before  # only the data keys were re-wrapped
    assert file_service.service.ring.active()[0] == new_kid  # the service followed the file
    assert load.signing_key not in output


async def test_rotate_key_retire_drops_keys_no_row_uses(
    rpc: Rpc, infra: Infra, ring: Ring, file_service: Runtime
) -> None:
    tenant = new_tenant()
    [credential_id] = await _seed(rpc, tenant, 1)
    old_kids = read_ring_file(ring.path).kids

    status, output = await _rotate_key("--keys-file", str(ring.path), "--retire")

    assert status == 0, output
    new_kid = read_ring_file(ring.path).active_kid
    assert read_ring_file(ring.path).kids == (new_kid,)
    assert f"retired keys no credential uses: {', '.join(old_kids)}" in output
    assert set(await _kids(infra)) == {new_kid}
    grant = grant_for(infra.keys["PORTICO_GRANT_SIGNING_KEY"], tenant, credential_id)
    resolved = await rpc.result("resolve", tenant, **resolve_fields(credential_id, grant))
    assert resolved["data"] == {"token": credential_id[-8:]}


async def test_with_an_env_ring_rows_move_to_its_first_key(
    infra: Infra, ring: Ring, file_service: Runtime
) -> None:
    file_entries = entries_of(ring.path.read_text())
    env_ring = ",".join([ring.run_entry, *file_entries])

    status, output = await _rotate_key(
        "--retire", env={"PORTICO_CREDENTIALS_KEYS": env_ring, "PORTICO_CREDENTIALS_KEYS_FILE": ""}
    )

    assert status == 0, output
    assert f"under key '{ring.run_kid}'" in output
    assert set(await _kids(infra)) == {ring.run_kid}
    file_kids = [entry.split(":", 1)[0] for entry in file_entries]
    assert f"(remove them from PORTICO_CREDENTIALS_KEYS): {', '.join(file_kids)}" in output
