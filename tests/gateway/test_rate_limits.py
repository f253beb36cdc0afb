"""Rate limits: 429 with Retry-After per tenant on runs, per address and per account on login
and signup, per address on WebSocket connects. Each test runs a gateway with small limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from pydantic import ValidationError

from portico_gateway.config import Settings
from tests.gateway.conftest import (
    PASSWORD,
    create,
    gateway_settings,
    new_user,
    serve,
    trigger_only_graph,
    ws_url,
)


@asynccontextmanager
async def limited_gateway(infra: Any, **limits: str) -> AsyncIterator[str]:
    async with serve(gateway_settings(infra, rpc_timeout_s=0.2, **limits)) as url:
        yield url


def _assert_limited(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert what in error["message"]
    assert error["details"]["retry_after_s"] == retry_after


def _email() -> str:
    return f"limited-{uuid.uuid4().hex[:10]}@example.com"


async def test_login_is_limited_per_account(infra: Any) -> None:
    async with (
        limited_gateway(infra, rate_limit_login_per_account="3/minute") as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        victim, other = _email(), _email()
        for email in (victim, other):
            signed_up = await client.post(
                "/api/auth/signup", json={"email": email, "password": PASSWORD}
            )
            assert signed_up.status_code == 201
        for _ in range(3):
            wrong = {"email": victim, "password": "guess guess"}
            assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        # Even the right password waits now: guessing must not go on by other means.
        right = {"email": victim.upper(), "password": PASSWORD}
        _assert_limited(await client.post("/api/auth/login", json=right), "login attempts")
        # Another account from the same address is not affected.
        other_login = {"email": other, "password": PASSWORD}
        assert (await client.post("/api/auth/login", json=other_login)).status_code == 200


async def test_login_and_signup_are_limited_per_address(infra: Any) -> None:
    async with (
        limited_gateway(
            infra, rate_limit_login_per_ip="4/minute", rate_limit_signup_per_ip="2/minute"
        ) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        for _ in range(2):
            body = {"email": _email(), "password": PASSWORD}
            assert (await client.post("/api/auth/signup", json=body)).status_code == 201
        body = {"email": _email(), "password": PASSWORD}
        _assert_limited(await client.post("/api/auth/signup", json=body), "signups")
        for _ in range(4):
            unknown = {"email": _email(), "password": PASSWORD}
            assert (await client.post("/api/auth/login", json=unknown)).status_code == 401
        unknown = {"email": _email(), "password": PASSWORD}
        _assert_limited(await client.post("/api/auth/login", json=unknown), "login attempts")


async def test_signup_is_limited_per_account(infra: Any) -> None:
    async with (
        limited_gateway(infra, rate_limit_signup_per_account="2/minute") as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        email = _email()
        body = {"email": email, "password": PASSWORD}
        assert (await client.post("/api/auth/signup", json=body)).status_code == 201
        assert (await client.post("/api/auth/signup", json=body)).status_code == 409
        _assert_limited(await client.post("/api/auth/signup", json=body), "signups")
        other = {"email": _email(), "password": PASSWORD}
        assert (await client.post("/api/auth/signup", json=other)).status_code == 201


async def test_runs_are_limited_per_tenant(infra: Any) -> None:
    async with limited_gateway(infra, rate_limit_runs_per_tenant="3/minute") as url:
        alice, bob = await new_user(url), await new_user(url)
        try:
            workflow_id = await create(alice, trigger_only_graph())
            run_path = f"/api/workflows/{workflow_id}/run"
            for _ in range(3):
                assert (await alice.client.post(run_path, json={})).status_code == 202
            _assert_limited(await alice.client.post(run_path, json={}), "runs")
            retry = await alice.client.post(f"/api/executions/{uuid.uuid4()}/retry")
            _assert_limited(retry, "runs")
            # Reads are not limited, and another tenant runs as usual.
            assert (await alice.client.get(f"/api/workflows/{workflow_id}")).status_code == 200
            bobs = await create(bob, trigger_only_graph())
            assert (await bob.client.post(f"/api/workflows/{bobs}/run", json={})).status_code == 202
        finally:
            await alice.client.aclose()
            await bob.client.aclose()


async def test_websocket_connects_are_limited_per_address(infra: Any) -> None:
    async with limited_gateway(infra, rate_limit_ws_connect_per_ip="2/minute") as url:
        user = await new_user(url)
        headers = {"Cookie": user.cookie_header}
        try:
            for _ in range(2):
                async with websockets.connect(ws_url(url), additional_headers=headers) as ws:
                    await ws.send('{"type": "ping"}')
                    assert "pong" in str(await ws.recv())
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(ws_url(url), additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 429
            assert int(refused.value.response.headers["Retry-After"]) >= 1
            assert b"rate_limited" in refused.value.response.body
        finally:
            await user.client.aclose()


@pytest.mark.parametrize("value", ["lots", "10/fortnight", "-1/minute", "10 per"])
def test_a_bad_limit_stops_start_up_naming_it(value: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        Settings(rate_limit_login_per_ip=value)
    assert "rate_limit_login_per_ip" in str(invalid.value)


def test_limits_can_be_combined_or_turned_off() -> None:
    settings = Settings(
        rate_limit_runs_per_tenant="10/second; 500/hour", rate_limit_login_per_ip=""
    )
    assert settings.rate_limit_runs_per_tenant == "10/second; 500/hour"
    assert settings.rate_limit_login_per_ip == ""
