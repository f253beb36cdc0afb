"""permessage-deflate on the WebSocket: off unless PORTICO_WS_COMPRESSION turns it on.

Run as `python -m portico_gateway` serves it, since the setting reaches uvicorn, not the app.
The client offers the extension (the `websockets` library and browsers always do); what the
handshake's answer says is what the connection uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import (
    connect,
    gateway_process,
    new_user,
    no_rate_limits_env,
    receive,
    send,
)

pytestmark = pytest.mark.asyncio


async def _negotiated_extensions(base_url: str) -> str | None:
    user = await new_user(base_url)
    try:
        async with connect(user) as ws:
            assert ws.response is not None
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            # The connection works either way.
            await send(ws, {"type": "ping"})
            assert (await receive(ws))["type"] == "pong"
            return extensions
    finally:
        await user.client.aclose()


@pytest.mark.parametrize(("setting", "deflate"), [(None, False), ("false", False), ("true", True)])
async def test_websocket_compression_follows_the_setting(
    infra: Any, tmp_path: Path, setting: str | None, deflate: bool
) -> None:
    env = no_rate_limits_env()
    if setting is not None:
        env["PORTICO_WS_COMPRESSION"] = setting
    with gateway_process(infra, tmp_path, env) as gateway:
        extensions = await _negotiated_extensions(gateway.base_url)
    assert ("permessage-deflate" in (extensions or "")) is deflate, extensions
