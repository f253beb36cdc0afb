"""The slack and discord nodes, run by ExecutorService against local fakes of both services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from portico_contracts.messages import NodeResult
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.sandbox import SandboxPool
from portico_executors.service import ExecutorService
from tests.fakes.chat_servers import FakeWebhook, fake_discord, fake_slack

from .credential_support import CREDENTIAL_ID, StaticCredentials
from .support import executor_settings, make_ready


@pytest.fixture
async def slack() -> AsyncIterator[FakeWebhook]:
    async with fake_slack() as hook:
        yield hook


@pytest.fixture
async def discord() -> AsyncIterator[FakeWebhook]:
    async with fake_discord() as hook:
        yield hook


async def run_chat(
    sandbox: SandboxPool,
    node_type: str,
    config: dict[str, Any],
    credentials: StaticCredentials | None,
    **fields: Any,
) -> NodeResult:
    settings = executor_settings("amqp://unused/")
    fields.setdefault("credential_id", CREDENTIAL_ID)
    ready = make_ready(node_type, config, trigger={"name": "Ann", "n": 3}, **fields)
    async with guarded_client(HostPolicy(settings.http_allow_hosts), "portico-test") as http:
        service = ExecutorService(settings, http, sandbox, credentials=credentials)
        return await service.execute(ready)


def assert_no_secret(result: NodeResult, hook: FakeWebhook) -> None:
    """Neither the URL nor its secret last path segment anywhere in what is reported."""
    reported = result.model_dump_json()
    assert hook.url not in reported
    assert hook.url.rsplit("/", 1)[1] not in reported


# --- slack ------------------------------------------------------------------------------------


async def test_slack_posts_the_rendered_message(sandbox: SandboxPool, slack: FakeWebhook) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ trigger.n }}* new"}}]
    config = {"text": "Hello {{ trigger.name }}", "blocks": blocks, "unfurl_links": False}
    credentials = StaticCredentials("slack_webhook", {"url": slack.url})
    result = await run_chat(sandbox, "slack", config, credentials)

    assert result.status == "succeeded", result.error
    assert result.output == {"ok": True, "status": 200}
    [request] = slack.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "text": "Hello Ann",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*3* new"}}],
        "unfurl_links": False,
    }
    key = f"{result.execution_id}:{result.node_id}:1"
    assert request.headers["idempotency-key"] == key
    assert result.input is not None
    assert result.input["text"] == "Hello Ann"
    assert_no_secret(result, slack)


async def test_slack_sends_only_what_is_set(sandbox: SandboxPool, slack: FakeWebhook) -> None:
    credentials = StaticCredentials("slack_webhook", {"url": slack.url})
    result = await run_chat(sandbox, "slack", {"text": "plain"}, credentials)
    assert result.status == "succeeded", result.error
    assert slack.requests[0].json == {"text": "plain"}


async def test_slack_rate_limit_is_retryable_after_its_delay(
    sandbox: SandboxPool, slack: FakeWebhook
) -> None:
    slack.fail_next(1, status=429, retry_after=7)
    credentials = StaticCredentials("slack_webhook", {"url": slack.url})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("RateLimited", True)
    assert result.error.details is not None
    assert result.error.details["retry_after_s"] == 7
    assert "rate_limited" in result.error.message
    assert_no_secret(result, slack)


async def test_slack_refusal_is_final_and_names_slack_not_the_url(
    sandbox: SandboxPool, slack: FakeWebhook
) -> None:
    slack.fail_next(1, status=404, error="channel_not_found")
    credentials = StaticCredentials("slack_webhook", {"url": slack.url})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.retryable is False
    assert result.error.type == "SlackError"
    assert "the Slack webhook" in result.error.message
    assert "channel_not_found" in result.error.message
    assert result.error.details == {"status": 404, "error": "channel_not_found"}
    assert_no_secret(result, slack)


async def test_slack_server_error_is_retryable(sandbox: SandboxPool, slack: FakeWebhook) -> None:
    slack.fail_next(1, status=503)
    credentials = StaticCredentials("slack_webhook", {"url": slack.url})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.error is not None
    assert result.error.retryable is True


async def test_unreachable_webhook_is_retryable_without_its_url(sandbox: SandboxPool) -> None:
    async with fake_slack() as gone:  # stopped on leaving: its port now refuses connections
        pass
    credentials = StaticCredentials("slack_webhook", {"url": gone.url})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpConnectionError", True)
    assert "the Slack webhook" in result.error.message
    assert_no_secret(result, gone)


# --- discord ----------------------------------------------------------------------------------


async def test_discord_posts_and_returns_the_created_message(
    sandbox: SandboxPool, discord: FakeWebhook
) -> None:
    config = {
        "content": "Hi {{ trigger.name }}",
        "embeds": [{"title": "Count", "description": "n={{ trigger.n }}", "color": 5814783}],
        "username": "Portico",
    }
    credentials = StaticCredentials("discord_webhook", {"url": discord.url})
    result = await run_chat(sandbox, "discord", config, credentials)

    assert result.status == "succeeded", result.error
    [request] = discord.requests
    assert request.query == {"wait": "true"}
    assert request.json == {
        "content": "Hi Ann",
        "embeds": [{"title": "Count", "description": "n=3", "color": 5814783}],
        "username": "Portico",
        "tts": False,
    }
    assert request.headers["idempotency-key"] == f"{result.execution_id}:{result.node_id}:1"
    output = result.output
    assert output["ok"] is True
    assert output["status"] == 200
    assert output["message"]["content"] == "Hi Ann"
    assert output["message"]["id"]
    assert output["message"]["channel_id"]
    assert_no_secret(result, discord)


async def test_discord_rate_limit_uses_the_precise_retry_after(
    sandbox: SandboxPool, discord: FakeWebhook
) -> None:
    discord.fail_next(1, status=429, retry_after=2.5)
    credentials = StaticCredentials("discord_webhook", {"url": discord.url})
    result = await run_chat(sandbox, "discord", {"content": "x"}, credentials)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("RateLimited", True)
    assert result.error.details is not None
    assert result.error.details["retry_after_s"] == 2.5
    assert "You are being rate limited." in result.error.message


async def test_discord_refusal_is_final_with_discords_message(
    sandbox: SandboxPool, discord: FakeWebhook
) -> None:
    discord.fail_next(1, status=404, error="Unknown Webhook")
    credentials = StaticCredentials("discord_webhook", {"url": discord.url})
    result = await run_chat(sandbox, "discord", {"content": "x"}, credentials)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("DiscordError", False)
    assert "the Discord webhook" in result.error.message
    assert "Unknown Webhook (code 0)" in result.error.message
    assert_no_secret(result, discord)


async def test_discord_wrong_token_is_final(sandbox: SandboxPool, discord: FakeWebhook) -> None:
    wrong = discord.url.rsplit("/", 1)[0] + "/not-the-token"
    credentials = StaticCredentials("discord_webhook", {"url": wrong})
    result = await run_chat(sandbox, "discord", {"content": "x"}, credentials)
    assert result.error is not None
    assert result.error.retryable is False
    assert "Invalid Webhook Token (code 50027)" in result.error.message
    assert "not-the-token" not in result.model_dump_json()


# --- the credential itself --------------------------------------------------------------------


async def test_a_credential_of_another_type_is_refused(
    sandbox: SandboxPool, discord: FakeWebhook
) -> None:
    credentials = StaticCredentials("discord_webhook", {"url": discord.url})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("CredentialMismatch", False)
    assert result.error.message.startswith(
        f"node slack-node takes a slack_webhook credential, {CREDENTIAL_ID} is discord_webhook"
    )
    assert discord.requests == []


async def test_bad_config_fails_before_any_secret_is_read(sandbox: SandboxPool) -> None:
    credentials = StaticCredentials("slack_webhook", {"url": "http://127.0.0.1:9/x"})
    result = await run_chat(sandbox, "slack", {"blocks": []}, credentials)
    assert result.error is not None
    assert "text" in result.error.message
    assert credentials.asked == []


async def test_invalid_credential_data_names_the_field_not_the_value(sandbox: SandboxPool) -> None:
    credentials = StaticCredentials("slack_webhook", {"url": "not a url SECRET-VALUE"})
    result = await run_chat(sandbox, "slack", {"text": "hi"}, credentials)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("CredentialInvalid", False)
    assert "data.url" in result.error.message
    assert "SECRET-VALUE" not in result.model_dump_json()


async def test_without_a_credentials_client_the_node_fails_clearly(sandbox: SandboxPool) -> None:
    result = await run_chat(sandbox, "slack", {"text": "hi"}, None)
    assert result.error is not None
    assert result.error.type == "CredentialUnavailable"
    assert "credentials client" in result.error.message


async def test_a_chat_node_without_a_credential_says_what_it_needs(sandbox: SandboxPool) -> None:
    result = await run_chat(sandbox, "discord", {"content": "x"}, None, credential_id=None)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("CredentialMissing", False)
    assert "discord_webhook" in result.error.message
