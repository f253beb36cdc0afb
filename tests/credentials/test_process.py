"""The service as its own process, as `portico up` runs it: it serves, and SIGTERM stops it
cleanly (status 0), without a secret in its output."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from bench.infra import Infra

from .support import Rpc, grant_for, new_tenant, resolve_fields


async def test_serves_and_stops_on_sigterm(infra: Infra, amqp_url: str, rpc: Rpc) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "portico_credentials",
        env={
            **os.environ,
            **infra.env(),
            "PORTICO_AMQP_URL": amqp_url,
            "PORTICO_LOG_LEVEL": "DEBUG",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen = b""
    try:
        while b"credentials service started" not in seen:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"the service exited: {seen.decode()}"
            seen += line
        tenant, secret = new_tenant(), f"secret-{uuid.uuid4().hex}"
        credential_id = await rpc.create(tenant, "api", "http_bearer", {"token": secret})
        grant = grant_for(infra.keys["PORTICO_GRANT_SIGNING_KEY"], tenant, credential_id)
        resolved = await rpc.result("resolve", tenant, **resolve_fields(credential_id, grant))
        assert resolved["data"] == {"token": secret}
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (seen + output).decode()
    assert secret.encode() not in seen + output
