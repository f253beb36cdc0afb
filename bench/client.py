"""A thin client of the public API, as a newcomer would drive it with curl."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import websockets

TERMINAL = {"succeeded", "failed", "cancelled"}


class Portico:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.email = f"user-{uuid.uuid4().hex[:8]}@example.com"

    async def signup(self) -> Portico:
        body = {"email": self.email, "password": "correct horse battery"}
        (await self.http.post("/api/auth/signup", json=body)).raise_for_status()
        (await self.http.post("/api/auth/login", json=body)).raise_for_status()
        return self

    async def close(self) -> None:
        await self.http.aclose()

    async def create_workflow(self, graph: dict[str, Any]) -> str:
        response = await self.http.post("/api/workflows", json=graph)
        assert response.status_code == 201, response.text
        workflow_id: str = response.json()["id"]
        return workflow_id

    async def create_credential(self, name: str, type: str, data: dict[str, Any]) -> str:
        response = await self.http.post(
            "/api/credentials", json={"name": name, "type": type, "data": data}
        )
        assert response.status_code == 201, response.text
        credential_id: str = response.json()["id"]
        return credential_id

    async def run(self, workflow_id: str, payload: Any = None) -> str:
        response = await self.http.post(
            f"/api/workflows/{workflow_id}/run", json={"payload": payload or {}}
        )
        assert response.status_code == 202, response.text
        execution_id: str = response.json()["execution_id"]
        return execution_id

    async def execution(self, execution_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_finished(self, execution_id: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = await self.http.get(f"/api/executions/{execution_id}")
            if response.status_code == 200 and response.json()["status"] in TERMINAL:
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.1)
        raise TimeoutError(f"execution {execution_id} not finished after {timeout_s}s")

    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/ws"

    def ws_headers(self) -> dict[str, str]:
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        return {"Cookie": cookies}

    async def ws(self) -> websockets.ClientConnection:
        return await websockets.connect(self.ws_url(), additional_headers=self.ws_headers())


async def receive(ws: websockets.ClientConnection, timeout_s: float = 30) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return frame


def node_runs(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["node_id"]: run for run in execution["node_runs"]}
