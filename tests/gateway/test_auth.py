"""Accounts, sessions and API keys over real HTTP."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from tests.gateway.conftest import PASSWORD, User


def _email() -> str:
    return f"Someone-{uuid.uuid4().hex[:10]}@Example.COM"


async def _pg(infra_url: str) -> asyncpg.Connection:
    url = make_url(infra_url).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False))


async def test_signup_login_me_logout(anon: httpx.AsyncClient) -> None:
    email = _email()
    signed_up = await anon.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed_up.status_code == 201
    user = signed_up.json()
    assert user["email"] == email.lower()
    assert user["tenant_id"] == user["id"]

    assert (await anon.get("/api/me")).status_code == 401
    login = await anon.post("/api/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    me = await anon.get("/api/me")
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]

    assert (await anon.post("/api/auth/logout")).status_code == 204
    assert (await anon.get("/api/me")).status_code == 401


async def test_logged_out_token_is_dead_server_side(alice: User, gateway_url: str) -> None:
    stolen = dict(alice.client.cookies)
    assert (await alice.client.post("/api/auth/logout")).status_code == 204
    async with httpx.AsyncClient(base_url=gateway_url, cookies=stolen) as replay:
        assert (await replay.get("/api/me")).status_code == 401


async def test_signup_refusals(anon: httpx.AsyncClient) -> None:
    email = _email()
    assert (
        await anon.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    ).status_code == 201
    duplicate = await anon.post(
        "/api/auth/signup", json={"email": email.lower(), "password": PASSWORD}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"

    short = await anon.post("/api/auth/signup", json={"email": _email(), "password": "short"})
    assert short.status_code == 422
    assert short.json()["error"]["details"][0]["field"] == "body.password"

    bad_email = await anon.post(
        "/api/auth/signup", json={"email": "not-an-email", "password": PASSWORD}
    )
    assert bad_email.status_code == 422
    assert "body.email" in bad_email.json()["error"]["message"]


async def test_login_refusals_do_not_say_which_part_was_wrong(anon: httpx.AsyncClient) -> None:
    email = _email()
    await anon.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    wrong_password = await anon.post(
        "/api/auth/login", json={"email": email, "password": "wrong password"}
    )
    unknown_email = await anon.post(
        "/api/auth/login", json={"email": _email(), "password": PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert "set-cookie" not in wrong_password.headers


async def test_passwords_and_sessions_are_stored_hashed(alice: User, infra: object) -> None:
    token = alice.client.cookies.get("portico_session")
    assert token
    connection = await _pg(infra.database_url)  # type: ignore[attr-defined]
    try:
        row = await connection.fetchrow(
            "SELECT password_hash FROM gateway.users WHERE id = $1", uuid.UUID(alice.id)
        )
        assert row["password_hash"].startswith("$argon2id$")
        hashes = await connection.fetch(
            "SELECT token_hash FROM gateway.sessions WHERE user_id = $1", uuid.UUID(alice.id)
        )
        assert [r["token_hash"] for r in hashes] == [hashlib.sha256(token.encode()).hexdigest()]
    finally:
        await connection.close()


async def test_api_key_lifecycle(alice: User, gateway_url: str, infra: object) -> None:
    created = await alice.client.post("/api/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    secret = key["secret"]
    assert secret.startswith("pk_")
    assert secret.startswith(key["prefix"])

    listed = (await alice.client.get("/api/api-keys")).json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    assert listed[0]["last_used_at"] is None

    async with httpx.AsyncClient(base_url=gateway_url) as bearer:
        headers = {"Authorization": f"Bearer {secret}"}
        me = await bearer.get("/api/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["id"] == alice.id
        bad = await bearer.get("/api/me", headers={"Authorization": f"Bearer {secret}x"})
        assert bad.status_code == 401
        assert (
            await bearer.get("/api/me", headers={"Authorization": "Basic abc"})
        ).status_code == 401

        assert (await alice.client.get("/api/api-keys")).json()[0]["last_used_at"] is not None
        connection = await _pg(infra.database_url)  # type: ignore[attr-defined]
        try:
            stored = await connection.fetchval(
                "SELECT key_hash FROM gateway.api_keys WHERE id = $1", uuid.UUID(key["id"])
            )
        finally:
            await connection.close()
        assert stored == hashlib.sha256(secret.encode()).hexdigest()

        assert (await alice.client.delete(f"/api/api-keys/{key['id']}")).status_code == 204
        assert (await bearer.get("/api/me", headers=headers)).status_code == 401
        assert (await alice.client.get("/api/api-keys")).json() == []
        again = await alice.client.delete(f"/api/api-keys/{key['id']}")
        assert again.status_code == 404


async def test_api_keys_are_per_tenant(alice: User, bob: User) -> None:
    key = (await alice.client.post("/api/api-keys", json={"name": "mine"})).json()
    assert (await bob.client.get("/api/api-keys")).json() == []
    assert (await bob.client.delete(f"/api/api-keys/{key['id']}")).status_code == 404
    for odd_id in ("not-a-uuid", "urn:uuid:" + key["id"], "{" + key["id"] + "}"):
        assert (await bob.client.delete(f"/api/api-keys/{odd_id}")).status_code == 404
    assert len((await alice.client.get("/api/api-keys")).json()) == 1


async def test_everything_under_api_needs_auth(anon: httpx.AsyncClient) -> None:
    some_id = str(uuid.uuid4())
    for method, path in [
        ("GET", "/api/me"),
        ("GET", "/api/api-keys"),
        ("POST", "/api/api-keys"),
        ("GET", "/api/workflows"),
        ("POST", "/api/workflows"),
        ("GET", f"/api/workflows/{some_id}"),
        ("POST", f"/api/workflows/{some_id}/run"),
        ("GET", "/api/executions"),
        ("GET", f"/api/executions/{some_id}"),
        ("GET", "/api/node-types"),
    ]:
        response = await anon.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
