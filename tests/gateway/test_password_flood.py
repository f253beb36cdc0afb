"""200 concurrent wrong-password logins for one account against a real gateway process.

Each argon2 hash takes 64 MiB and tens of milliseconds. Unbounded, such a flood once took the
gateway from 97 MiB to 1,354 MiB and 124 threads, and an authenticated GET /api/me took 23.8 s
meanwhile. Now the flood is refused early (429 from the login limits, or 503 when the bounded
hashing queue is full) and the gateway stays small and responsive.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import (
    GatewayProcess,
    gateway_process,
    new_user,
    no_rate_limits_env,
)

FLOOD = 200
# Generous for a shared 2-core machine; unbounded hashing reached 1,354 MiB and 23.8 s.
MAX_RSS_MIB = 450
MAX_ME_SECONDS = 3.0
MAX_THREADS = 90


@pytest.fixture(autouse=True)
def _proc() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads memory and threads from /proc")


@pytest.fixture
def default_gateway(infra: Any, tmp_path: Path) -> Iterator[GatewayProcess]:
    with gateway_process(infra, tmp_path, {}) as gateway:
        yield gateway


@pytest.fixture
def unlimited_gateway(infra: Any, tmp_path: Path) -> Iterator[GatewayProcess]:
    """No rate limits at all: only the bounded hashing stands between the flood and argon2."""
    env = no_rate_limits_env() | {
        "PORTICO_PASSWORD_HASH_CONCURRENCY": "2",
        "PORTICO_PASSWORD_HASH_QUEUE": "8",
    }
    with gateway_process(infra, tmp_path, env) as gateway:
        yield gateway


# Measures GET /api/me from a process of its own, so the test's own event loop, busy with
# the flood's 200 requests, does not count as the gateway's slowness. Runs until its stdin
# closes, then prints the slowest answer in seconds.
WATCHER = """
import select, sys, time, httpx
base_url, cookie = sys.argv[1], sys.argv[2]
slowest = 0.0
with httpx.Client(base_url=base_url, headers={"Cookie": cookie}, timeout=60) as client:
    while not select.select([sys.stdin], [], [], 0.05)[0]:
        started = time.monotonic()
        try:
            answered = client.get("/api/me").status_code == 200
        except httpx.HTTPError:
            answered = False
        slowest = max(slowest, time.monotonic() - started if answered else float("inf"))
print(slowest)
"""


@dataclass
class Flood:
    statuses: Counter[int]
    retry_after: Counter[str]
    slowest_me_s: float
    max_threads: int


async def _flood(gateway: GatewayProcess) -> Flood:
    """Sign up one account, then send FLOOD wrong-password logins for it at once while
    another process reads GET /api/me again and again."""
    user = await new_user(gateway.base_url)
    await user.client.aclose()
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WATCHER,
        gateway.base_url,
        user.cookie_header,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    flood = Flood(Counter(), Counter(), 0.0, 0)
    limits = httpx.Limits(max_connections=FLOOD, max_keepalive_connections=FLOOD)
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=120, limits=limits) as client:

        async def wrong_login() -> None:
            body = {"email": user.email, "password": "not the password"}
            response = await client.post("/api/auth/login", json=body)
            flood.statuses[response.status_code] += 1
            if "retry-after" in response.headers:
                flood.retry_after[response.headers["retry-after"]] += 1
            flood.max_threads = max(flood.max_threads, gateway.status("Threads"))

        try:
            await asyncio.gather(*(wrong_login() for _ in range(FLOOD)))
        finally:
            output, _ = await watcher.communicate(b"")
    flood.slowest_me_s = float(output or "inf")
    return flood


def _assert_bounded(gateway: GatewayProcess, flood: Flood) -> None:
    assert flood.slowest_me_s < MAX_ME_SECONDS, (
        f"GET /api/me took {flood.slowest_me_s:.1f}s during the flood"
    )
    peak_mib = gateway.status("VmHWM") / 1024
    assert peak_mib < MAX_RSS_MIB, f"peak RSS {peak_mib:.0f} MiB"
    assert flood.max_threads < MAX_THREADS, f"{flood.max_threads} threads"


async def test_login_flood_with_default_limits_gets_429s(default_gateway: GatewayProcess) -> None:
    flood = await _flood(default_gateway)
    assert flood.statuses[429] >= FLOOD // 2, flood.statuses
    assert set(flood.statuses) <= {401, 429, 503}, flood.statuses
    assert sum(flood.retry_after.values()) == flood.statuses[429] + flood.statuses[503]
    _assert_bounded(default_gateway, flood)


async def test_hashing_is_bounded_even_without_rate_limits(
    unlimited_gateway: GatewayProcess,
) -> None:
    flood = await _flood(unlimited_gateway)
    assert flood.statuses[503] > 0, flood.statuses
    assert flood.statuses[401] >= 10, flood.statuses  # the bounded queue was served
    assert set(flood.statuses) <= {401, 503}, flood.statuses
    assert flood.retry_after == Counter({"1": flood.statuses[503]})
    _assert_bounded(unlimited_gateway, flood)
    # Once the flood is over, signing up and logging in work again.
    user = await new_user(unlimited_gateway.base_url)
    await user.client.aclose()
