"""An AI step and chat messages end to end, every service a process: each provider's real SDK
talks to a local server speaking its wire format, the answer streams to a WebSocket viewer, and
the result is posted to Slack and Discord stand-ins, which count what they received."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from tests.e2e.client import TERMINAL, Portico, node_runs, receive
from tests.fakes.ai_servers import AiReply, FakeAiServer, fake_ai
from tests.fakes.chat_servers import FakeWebhook, fake_discord, fake_slack
from tests.harness.cluster import LocalCluster

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.0-flash",
}


def _graph(provider: str, ai_credential: str, slack: str, discord: str) -> dict[str, Any]:
    return {
        "name": f"greet with {provider}",
        "nodes": [
            {"id": "signup", "type": "trigger.manual"},
            {
                "id": "greet",
                "type": "ai",
                "credential_id": ai_credential,
                "config": {
                    "provider": provider,
                    "model": MODELS[provider],
                    "system": "You write one friendly line.",
                    "prompt": "Write a welcome line for {{ trigger.name }}",
                    "temperature": 0.2,
                    "max_tokens": 200,
                },
            },
            {
                "id": "post",
                "type": "slack",
                "credential_id": slack,
                "config": {"text": "{{ nodes.greet.output.text }}"},
            },
            {
                "id": "announce",
                "type": "discord",
                "credential_id": discord,
                "config": {"content": "New signup: {{ nodes.greet.output.text }}"},
            },
        ],
        "edges": [
            {"source": "signup", "target": "greet"},
            {"source": "greet", "target": "post"},
            {"source": "greet", "target": "announce"},
        ],
    }


async def _watch(client: Portico, workflow_id: str, ready: asyncio.Event) -> list[dict[str, Any]]:
    """Every frame a viewer of the workflow is sent, until an execution of it ends."""
    frames: list[dict[str, Any]] = []
    async with await client.ws() as ws:
        await ws.send(json.dumps({"type": "subscribe", "workflow_id": workflow_id}))
        frames.append(await receive(ws))  # the snapshot: from here on, frames are live
        ready.set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            frame = await receive(ws)
            frames.append(frame)
            event = frame.get("event") or {}
            if event.get("type", "").removeprefix("execution.") in TERMINAL:
                return frames
    raise TimeoutError("the execution did not end within 60 s")


async def _credentials(
    user: Portico, provider: str, ai: FakeAiServer, slack: FakeWebhook, discord: FakeWebhook
) -> tuple[str, str, str, str]:
    api_key = f"key-{uuid.uuid4().hex}"
    ai_credential = await user.create_credential(
        f"{provider} key", provider, {"api_key": api_key, "base_url": ai.base_url}
    )
    slack_credential = await user.create_credential(
        f"slack {provider}", "slack_webhook", {"url": slack.url}
    )
    discord_credential = await user.create_credential(
        f"discord {provider}", "discord_webhook", {"url": discord.url}
    )
    return api_key, ai_credential, slack_credential, discord_credential


@pytest.mark.parametrize("provider", sorted(MODELS))
async def test_a_model_answer_streams_live_and_is_posted_to_chat(
    cluster: LocalCluster, user: Portico, provider: str
) -> None:
    answer = "Welcome aboard, Ada! We are glad you are here."
    async with fake_ai(provider) as ai, fake_slack() as slack, fake_discord() as discord:
        ai.script(AiReply(text=answer, input_tokens=21, output_tokens=13, chunk_delay_s=0.05))
        api_key, ai_cred, slack_cred, discord_cred = await _credentials(
            user, provider, ai, slack, discord
        )
        workflow_id = await user.create_workflow(
            _graph(provider, ai_cred, slack_cred, discord_cred)
        )
        ready = asyncio.Event()
        viewer = asyncio.create_task(_watch(user, workflow_id, ready))
        await asyncio.wait_for(ready.wait(), 10)
        execution_id = await user.run(workflow_id, {"name": "Ada"})
        frames = await viewer
        record = await user.wait_finished(execution_id)

        assert record["status"] == "succeeded", record
        output = node_runs(record)["greet"]["output"]
        assert output["text"] == answer
        assert output["usage"] == {"input_tokens": 21, "output_tokens": 13, "total_tokens": 34}
        assert output["cost_usd"] > 0
        assert record["usage"] == output["usage"]
        assert record["cost_usd"] == pytest.approx(output["cost_usd"])

        # What each outside service received, counted there: once each, with the answer.
        assert len(ai.requests) == 1
        sent = json.dumps(ai.requests[0].json)
        assert "Write a welcome line for Ada" in sent
        assert "You write one friendly line." in sent
        assert api_key in json.dumps(ai.requests[0].headers) + ai.requests[0].query.get("key", "")
        assert [r.json["text"] for r in slack.requests] == [answer]
        assert [r.json["content"] for r in discord.requests] == [f"New signup: {answer}"]
        for request in (*slack.requests, *discord.requests):
            key = f"{execution_id}:{request_node(request)}:1"
            assert request.headers["idempotency-key"] == key

    chunks = [
        f["progress"]
        for f in frames
        if f.get("type") == "progress" and f["progress"]["execution_id"] == execution_id
    ]
    assert len(chunks) >= 2, "the answer did not stream"
    assert "".join(c["text"] for c in sorted(chunks, key=lambda c: c["index"])) == answer
    assert api_key not in json.dumps(frames) + json.dumps(record)


def request_node(request: Any) -> str:
    return "post" if "text" in request.json else "announce"


async def test_a_rate_limited_chat_post_waits_and_is_sent_once(
    cluster: LocalCluster, user: Portico
) -> None:
    async with fake_ai("openai") as ai, fake_slack() as slack, fake_discord() as discord:
        _, ai_cred, slack_cred, discord_cred = await _credentials(
            user, "openai", ai, slack, discord
        )
        graph = _graph("openai", ai_cred, slack_cred, discord_cred)
        graph["nodes"][2]["retry"] = {"max_attempts": 3, "initial_delay_ms": 10}
        slack.fail_next(1, status=429, retry_after=1)
        workflow_id = await user.create_workflow(graph)
        started = time.monotonic()
        record = await user.wait_finished(await user.run(workflow_id, {"name": "Bob"}))

        assert record["status"] == "succeeded", record
        assert node_runs(record)["post"]["attempt"] == 2
        statuses = (
            [r.status for r in slack.requests] if hasattr(slack.requests[0], "status") else []
        )
        assert len(slack.requests) == 2, statuses  # the refused one, then the real one
        assert time.monotonic() - started >= 1.0  # the Retry-After was honoured
        assert len(discord.requests) == 1


async def test_generate_config_writes_a_valid_config_from_plain_english(
    cluster: LocalCluster, user: Portico
) -> None:
    async with fake_ai("openai") as ai, fake_slack() as slack, fake_discord() as discord:
        _, ai_cred, _, _ = await _credentials(user, "openai", ai, slack, discord)
        wrong = {"config": {"method": "FETCH", "url": "https://api.example.com/users"}}
        right = {
            "config": {"method": "GET", "url": "https://api.example.com/users/{{ trigger.id }}"},
            "explanation": "Fetches the user whose id the trigger carries.",
        }
        ai.script(json.dumps(wrong), json.dumps(right))
        response = await user.http.post(
            "/api/ai/generate-config",
            json={
                "node_type": "http",
                "description": "get the user with the trigger's id from api.example.com",
                "provider": "openai",
                "credential_id": ai_cred,
            },
            timeout=120,
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["config"] == right["config"]
        assert body["tries"] == 2
        assert "method" in json.dumps(ai.requests[1].json)  # the error was fed back
        assert (await user.http.get("/api/workflows")).json()["total"] == 0  # nothing saved
