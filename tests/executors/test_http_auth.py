"""The http node's credential: sent as a header, never recorded, never echoed back to us."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from portico_contracts.credentials import HttpBearer
from portico_contracts.messages import NodeResult
from portico_executors.errors import NodeRunError
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.nodes.http_auth import REDACTED, request_auth
from portico_executors.sandbox import SandboxPool
from portico_executors.service import ExecutorService

from .credential_support import CREDENTIAL_ID, StaticCredentials
from .http_server import EFFECTS
from .support import executor_settings, make_ready

TOKEN = "tok-SECRET-4f1c9a"
PASSWORD = "pw-SECRET-77aa"
BASIC = "Basic dXNlcjpwdy1TRUNSRVQtNzdhYQ=="  # user:pw-SECRET-77aa
CASES = [
    ("http_bearer", {"token": TOKEN}, "authorization", f"Bearer {TOKEN}"),
    ("http_basic", {"username": "user", "password": PASSWORD}, "authorization", BASIC),
    ("http_header", {"name": "X-Api-Key", "value": TOKEN}, "x-api-key", TOKEN),
]


@pytest.fixture
async def service_for(sandbox: SandboxPool) -> AsyncIterator[Any]:
    settings = executor_settings("amqp://unused/")
    async with guarded_client(HostPolicy(settings.http_allow_hosts), "portico-test") as http:

        def make(credentials: StaticCredentials) -> ExecutorService:
            return ExecutorService(settings, http, sandbox, credentials=credentials)

        yield make


async def run(service: ExecutorService, config: dict[str, Any]) -> NodeResult:
    ready = make_ready("http", config, credential_id=CREDENTIAL_ID, trigger={"id": 7})
    return await service.execute(ready)


def assert_secret_absent(result: NodeResult) -> None:
    reported = result.model_dump_json()
    for secret in (TOKEN, PASSWORD, BASIC.split()[1]):
        assert secret not in reported


@pytest.mark.parametrize(("credential_type", "data", "header", "sent"), CASES)
async def test_the_credential_is_sent_and_recorded_nowhere(
    service_for: Any,
    http_base: str,
    credential_type: str,
    data: dict[str, Any],
    header: str,
    sent: str,
) -> None:
    service = service_for(StaticCredentials(credential_type, data))
    # A config header of the same name (another case) is overridden by the credential.
    config = {"url": http_base + "/effect", "method": "POST", "headers": {header.upper(): "mine"}}
    result = await run(service, config)
    assert result.status == "succeeded", result.error
    assert EFFECTS[-1][header] == sent
    assert result.input is not None
    assert result.input["headers"] == {header.upper(): "mine"}
    assert_secret_absent(result)


@pytest.mark.parametrize(("credential_type", "data", "header", "sent"), CASES)
async def test_a_server_echoing_the_secret_is_redacted(
    service_for: Any,
    http_base: str,
    credential_type: str,
    data: dict[str, Any],
    header: str,
    sent: str,
) -> None:
    service = service_for(StaticCredentials(credential_type, data))
    result = await run(service, {"url": http_base + "/echo"})
    assert result.status == "succeeded", result.error
    assert result.output["body"]["headers"][header] == REDACTED
    assert_secret_absent(result)


async def test_an_error_echoing_the_secret_is_redacted() -> None:
    auth = request_auth(HttpBearer(token=TOKEN))
    assert auth is not None
    error = NodeRunError(
        f"HTTP 401 from https://api.test/?t={TOKEN}",
        type="HttpStatusError",
        details={"status": 401, "body": f'{{"got": "Bearer {TOKEN}"}}'},
    )
    redacted = auth.redact_error(error)
    assert TOKEN not in redacted.message
    assert TOKEN not in str(redacted.details)
    assert redacted.details == {"status": 401, "body": f'{{"got": "{REDACTED}"}}'}
    assert (redacted.type, redacted.retryable) == ("HttpStatusError", False)


async def test_a_failed_request_reports_no_secret(service_for: Any, http_base: str) -> None:
    service = service_for(StaticCredentials("http_bearer", {"token": TOKEN}))
    result = await run(service, {"url": http_base + "/status/401"})
    assert result.error is not None
    assert result.error.type == "HttpStatusError"
    assert_secret_absent(result)


@pytest.mark.parametrize(
    ("target_host", "kept"), [("127.0.0.1", True), ("localhost", False)], ids=["same", "other"]
)
async def test_redirects_carry_the_credential_only_to_the_same_origin(
    service_for: Any, http_base: str, target_host: str, kept: bool
) -> None:
    service = service_for(StaticCredentials("http_header", {"name": "X-Api-Key", "value": TOKEN}))
    target = http_base.replace("127.0.0.1", target_host) + "/effect"
    config = {"url": f"{http_base}/redirect?to={quote(target)}", "follow_redirects": True}
    result = await run(service, config)
    assert result.status == "succeeded", result.error
    assert result.output["body"] == {"done": len(EFFECTS)}
    assert (EFFECTS[-1].get("x-api-key") == TOKEN) is kept
    assert_secret_absent(result)


async def test_without_follow_redirects_a_redirect_is_the_answer(
    service_for: Any, http_base: str
) -> None:
    service = service_for(StaticCredentials("http_bearer", {"token": TOKEN}))
    before = len(EFFECTS)
    target = quote(http_base + "/effect")
    config: dict[str, Any] = {
        "url": f"{http_base}/redirect?to={target}",
        "follow_redirects": False,
        "allow_non_2xx": True,
    }
    result = await run(service, config)
    assert result.status == "succeeded", result.error
    assert result.output["status"] == 302
    assert len(EFFECTS) == before


async def test_a_credential_of_another_type_is_refused(service_for: Any, http_base: str) -> None:
    service = service_for(StaticCredentials("slack_webhook", {"url": "https://hooks.test/x"}))
    result = await run(service, {"url": http_base + "/effect"})
    assert result.error is not None
    assert result.error.type == "CredentialMismatch"
    assert "http_bearer or http_basic or http_header" in result.error.message
