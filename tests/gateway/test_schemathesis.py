"""Schemathesis over the whole OpenAPI document: a few generated requests per operation, valid
and invalid, authenticated with an API key; no answer may be a 5xx.

The gateway runs as a process of its own (the generated requests are sent synchronously)
against the real orchestrator and credentials service, so their queries are answered rather
than 503. No executor runs `ai` here: generate-config may answer its 503 `ai_unavailable`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.gateway.conftest import (
    PASSWORD,
    GatewayProcess,
    gateway_process,
    no_rate_limits_env,
)

EXAMPLES_PER_MODE = 5


@pytest.fixture
def gateway(
    infra: Any, tmp_path: Path, orchestrator: object, credentials_service: object
) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    with gateway_process(infra, tmp_path, no_rate_limits_env()) as process:
        yield process, _api_key_headers(process.base_url)


def _api_key_headers(base_url: str) -> dict[str, str]:
    """An account's API key, once the orchestrator answers through this gateway."""
    account = {"email": f"fuzz-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.post("/api/auth/signup", json=account).status_code == 201
        assert client.post("/api/auth/login", json=account).status_code == 200
        secret = client.post("/api/api-keys", json={"name": "fuzz"}).json()["secret"]
        headers = {"Authorization": f"Bearer {secret}"}
        deadline = time.monotonic() + 30
        while client.get("/api/executions", headers=headers).status_code != 200:
            assert time.monotonic() < deadline, "the orchestrator does not answer"
            time.sleep(0.2)
    return headers


def _server_errors(operation: Any, base_url: str, headers: dict[str, str]) -> list[str]:
    found: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_MODE,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            if _expected_unavailable(response):
                return
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except AssertionError:
                found.append(
                    f"{operation.label}: {response.status_code} {response.text[:300]}\n"
                    f"  {case.as_curl_command(headers=headers)}"
                )

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
    return found


def _expected_unavailable(response: Any) -> bool:
    if response.status_code != 503:
        return False
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return code == "ai_unavailable"


def test_no_operation_answers_5xx(gateway: tuple[GatewayProcess, dict[str, str]]) -> None:
    process, headers = gateway
    schema = schemathesis.openapi.from_url(f"{process.base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has a broken operation: {result}"
        operations.append(result.ok())
    assert len(operations) >= 20, [operation.label for operation in operations]
    errors = [
        error
        for operation in operations
        for error in _server_errors(operation, process.base_url, headers)
    ]
    assert not errors, "\n".join(errors)
