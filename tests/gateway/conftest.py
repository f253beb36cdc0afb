"""Gateway test fixtures: a real gateway served by uvicorn on a free port, over real HTTP.

The gateway talks to this run's own PostgreSQL database and RabbitMQ vhost (`infra`). Tests
that need executions start the real orchestrator (`python -m portico_orchestrator`) and skip,
saying why, while that package has no app yet.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection

from bench.stack import stop_processes
from portico_gateway.app import create_app
from portico_gateway.config import Settings
from tests.harness.services import service_process

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serve(settings: Settings, app: FastAPI | None = None) -> AsyncIterator[str]:
    """Run a gateway app (by default `create_app(settings)`) under uvicorn in this event loop;
    yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
            raise RuntimeError("gateway stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("gateway did not start within 20s")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# Every test signs up and logs in from 127.0.0.1: the tests of the limits set them themselves.
NO_RATE_LIMITS: dict[str, Any] = {
    "rate_limit_runs_per_tenant": "",
    "rate_limit_login_per_ip": "",
    "rate_limit_login_per_account": "",
    "rate_limit_signup_per_ip": "",
    "rate_limit_signup_per_account": "",
    "rate_limit_ws_connect_per_ip": "",
    "rate_limit_ai_generate_per_tenant": "",
}


def gateway_settings(infra: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "amqp_url": infra.amqp_url,
        "rpc_timeout_s": 3.0,
        **NO_RATE_LIMITS,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
async def gateway_url(infra: Any) -> AsyncIterator[str]:
    async with serve(gateway_settings(infra)) as url:
        yield url


@pytest.fixture
async def anon(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20) as client:
        yield client


@dataclass
class User:
    client: httpx.AsyncClient
    email: str
    id: str
    base_url: str

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())


async def new_user(base_url: str) -> User:
    """Sign up a fresh account and log in; the returned client carries the session cookie."""
    client = httpx.AsyncClient(base_url=base_url, timeout=20)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return User(client, email, response.json()["id"], base_url)


@pytest.fixture
async def alice(gateway_url: str) -> AsyncIterator[User]:
    user = await new_user(gateway_url)
    yield user
    await user.client.aclose()


@pytest.fixture
async def bob(gateway_url: str) -> AsyncIterator[User]:
    user = await new_user(gateway_url)
    yield user
    await user.client.aclose()


def graph(name: str = "Test flow", **extra: Any) -> dict[str, Any]:
    """A small valid graph: a manual trigger feeding a transform."""
    return {
        "name": name,
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "shape",
                "type": "transform",
                "config": {"mapping": {"greeting": "Hello {{ trigger.name }}"}},
            },
        ],
        "edges": [{"source": "start", "target": "shape"}],
        **extra,
    }


def graph_with_raw_json(raw: str) -> str:
    """A graph as JSON text whose trigger's sample_payload is `raw`, which json.dumps could not
    produce (NaN, nesting deeper than the encoder recurses)."""
    body = graph()
    body["nodes"][0]["config"] = {"sample_payload": {"value": "__RAW__"}}
    return json.dumps(body).replace('"__RAW__"', raw)


def trigger_only_graph(name: str = "Trigger only") -> dict[str, Any]:
    """Runs to completion with the orchestrator alone: no executor is involved."""
    return {"name": name, "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []}


async def pipelined_statuses(base_url: str, path: str, cookie: str, count: int) -> list[bytes]:
    """Send `count` GETs on one keep-alive connection in a single write; return the status
    lines of the responses that came back before the server closed the connection."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n\r\n"
    writer.write(request.encode() * count)
    await writer.drain()
    statuses: list[bytes] = []
    try:
        async with asyncio.timeout(15):
            while len(statuses) < count:
                status_line = await reader.readline()
                if not status_line:
                    break  # closed: what was still queued on the connection is lost
                statuses.append(status_line.strip())
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
    finally:
        writer.close()
    return statuses


# --- a gateway process -------------------------------------------------------------------------


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def status(self, field: str) -> int:
        """A number from /proc/<pid>/status: VmHWM (peak RSS, kB), Threads."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
        raise KeyError(field)


@contextmanager
def gateway_process(infra: Any, tmp_path: Path, env: dict[str, str]) -> Iterator[GatewayProcess]:
    """`python -m portico_gateway` on this run's database and vhost, once it answers."""
    port = free_port()
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "portico_gateway", "--port", str(port)],
            env={**os.environ, **infra.env(), **env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while not _answers(gateway.base_url):
            if process.poll() is not None:
                pytest.fail(f"the gateway exited:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the gateway did not start within 30s")
            time.sleep(0.1)
        yield gateway
    finally:
        stop_processes([process], signal.SIGTERM, timeout_s=15)


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def no_rate_limits_env() -> dict[str, str]:
    return {f"PORTICO_{name.upper()}": value for name, value in NO_RATE_LIMITS.items()}


# --- runs and WebSockets ----------------------------------------------------------------------

TERMINAL = {"succeeded", "failed", "cancelled"}
TERMINAL_EVENTS = {"execution.succeeded", "execution.failed", "execution.cancelled"}


async def create(user: User, body: dict[str, Any]) -> str:
    response = await user.client.post("/api/workflows", json=body)
    assert response.status_code == 201, response.text
    workflow_id: str = response.json()["id"]
    return workflow_id


async def run(user: User, workflow_id: str, **body: Any) -> str:
    response = await user.client.post(f"/api/workflows/{workflow_id}/run", json=body)
    assert response.status_code == 202, response.text
    execution_id: str = response.json()["execution_id"]
    return execution_id


async def finished(user: User, execution_id: str, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await user.client.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        if response.json()["status"] in TERMINAL:
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.05)
    raise TimeoutError(f"execution {execution_id} did not finish in {timeout_s}s")


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://") + "/api/ws" + query


@asynccontextmanager
async def connect(
    user: User, *, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    extra = headers if headers is not None else {"Cookie": user.cookie_header}
    async with websockets.connect(ws_url(user.base_url, query), additional_headers=extra) as ws:
        yield ws


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def receive(ws: ClientConnection, timeout_s: float = 15) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return frame


async def events_until_terminal(ws: ClientConnection) -> list[dict[str, Any]]:
    events = []
    while True:
        frame = await receive(ws)
        assert frame["type"] == "event", frame
        events.append(frame["event"])
        if frame["event"]["type"] in TERMINAL_EVENTS:
            return events


# --- the real orchestrator ------------------------------------------------------------------------


def orchestrator_missing() -> str | None:
    """Why the orchestrator cannot be started yet, or None when it can."""
    for module in ("portico_orchestrator.app", "portico_orchestrator.__main__"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet (services/orchestrator is still being written)"
    return None


@pytest.fixture(scope="session")
def orchestrator(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m portico_orchestrator` on this run's database and vhost."""
    reason = orchestrator_missing()
    if reason is not None:
        pytest.skip(reason)
    with service_process("orchestrator", infra, tmp_path_factory.mktemp("orchestrator")) as process:
        yield process


@pytest.fixture(scope="session")
def credentials_service(
    infra: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m portico_credentials` on this run's database and vhost."""
    with service_process("credentials", infra, tmp_path_factory.mktemp("credentials")) as process:
        yield process


@pytest.fixture
async def live_orchestrator(
    orchestrator: subprocess.Popen[bytes], alice: User
) -> subprocess.Popen[bytes]:
    """The orchestrator, once it answers RPC through the gateway."""
    deadline = time.monotonic() + 30
    while True:
        response = await alice.client.get("/api/executions", params={"limit": 1})
        if response.status_code == 200:
            return orchestrator
        if orchestrator.poll() is not None:
            pytest.fail(f"the orchestrator exited (code {orchestrator.returncode})")
        if time.monotonic() > deadline:
            pytest.fail(f"the orchestrator did not answer within 30s: {response.text}")
        await asyncio.sleep(0.2)
