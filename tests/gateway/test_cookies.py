"""The session cookie is Secure outside local development (PORTICO_SESSION_COOKIE_SECURE)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from portico_gateway.config import Settings
from portico_gateway.cookies import is_loopback_host
from tests.gateway.conftest import PASSWORD, gateway_settings, serve


@pytest.fixture(scope="module")
def account() -> dict[str, str]:
    return {"email": f"cookie-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}


async def _session_cookie(base_url: str, account: dict[str, str], **headers: str) -> str:
    """The Set-Cookie header of a login (signing up first if needed)."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        await client.post("/api/auth/signup", json=account)
        response = await client.post("/api/auth/login", json=account)
        assert response.status_code == 200, response.text
        cookie: str = response.headers["set-cookie"]
        assert cookie.startswith("portico_session=")
        return cookie


def _secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")]


@pytest.fixture(scope="module")
async def auto_url(infra: Any) -> AsyncIterator[str]:
    async with serve(gateway_settings(infra)) as url:  # the default: "auto"
        yield url


async def test_auto_is_secure_unless_plain_http_to_loopback(
    auto_url: str, account: dict[str, str]
) -> None:
    # Plain http to 127.0.0.1 / localhost: a developer's machine, the cookie must work.
    assert not _secure(await _session_cookie(auto_url, account))
    assert not _secure(await _session_cookie(auto_url, account, Host="localhost:8000"))
    # The same gateway reached under a public name, or through a TLS-terminating proxy.
    assert _secure(await _session_cookie(auto_url, account, Host="portico.example.com"))
    assert _secure(await _session_cookie(auto_url, account, Host="10.1.2.3:8000"))
    via_tls = {"X-Forwarded-Proto": "https", "Host": "localhost"}
    assert _secure(await _session_cookie(auto_url, account, **via_tls))


async def test_logout_clears_the_cookie_with_the_same_attributes(
    auto_url: str, account: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=auto_url, headers={"Host": "app.example.org"}) as client:
        response = await client.post("/api/auth/logout")
        assert response.status_code == 204
        assert _secure(response.headers["set-cookie"])


@pytest.mark.parametrize(("setting", "secure"), [(True, True), (False, False)])
async def test_forced_either_way(
    infra: Any, account: dict[str, str], setting: bool, secure: bool
) -> None:
    async with serve(gateway_settings(infra, session_cookie_secure=setting)) as url:
        assert _secure(await _session_cookie(url, account)) is secure
        public = await _session_cookie(url, account, Host="portico.example.com")
        assert _secure(public) is secure


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::1", True),
        ("example.com", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_setting_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().session_cookie_secure == "auto"
    for value, parsed in [("true", True), ("false", False), ("auto", "auto")]:
        monkeypatch.setenv("PORTICO_SESSION_COOKIE_SECURE", value)
        assert Settings().session_cookie_secure == parsed
    monkeypatch.setenv("PORTICO_SESSION_COOKIE_SECURE", "sometimes")
    with pytest.raises(ValidationError, match="session_cookie_secure"):
        Settings()
