"""ExecutorService end to end without the broker: the http node against a local server,
error mapping, timing and result fields."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from portico_contracts.nodes import MergeConfig
from portico_executors.http_guard import HostPolicy, guarded_client
from portico_executors.nodes import RUNNERS
from portico_executors.nodes.base import NodeRunner, Outcome, RunContext
from portico_executors.sandbox import SandboxPool
from portico_executors.service import ExecutorService, result_message_id

from .support import executor_settings, make_ready


@pytest.fixture
async def service(sandbox: SandboxPool) -> AsyncIterator[ExecutorService]:
    settings = executor_settings("amqp://unused/", http_max_response_bytes=4096)
    async with guarded_client(HostPolicy(settings.http_allow_hosts), "portico-test") as http:
        yield ExecutorService(settings, http, sandbox)


async def run_http(service: ExecutorService, **config: Any) -> Any:
    return await service.execute(make_ready("http", config, trigger={"id": 7, "q": "a b"}))


async def test_get_with_query_and_headers(service: ExecutorService, http_base: str) -> None:
    result = await run_http(
        service,
        url=http_base + "/echo?fixed=1",
        query={"id": "{{ trigger.id }}", "q": "{{ trigger.q }}", "many": [1, 2]},
        headers={"X-Trace": "t-{{ trigger.id }}"},
    )
    assert result.status == "succeeded", result.error
    output = result.output
    assert output["status"] == 200
    assert output["headers"]["x-echo"] == "yes"
    assert output["body"]["method"] == "GET"
    assert output["body"]["query"] == [
        ["fixed", "1"],
        ["id", "7"],
        ["q", "a b"],
        ["many", "1"],
        ["many", "2"],
    ]
    assert output["body"]["headers"]["x-trace"] == "t-7"
    assert result.input["query"]["id"] == 7  # the rendered config is recorded


@pytest.mark.parametrize(
    ("body_type", "body", "content_type", "sent"),
    [
        ("json", {"id": "{{ trigger.id }}", "ok": True}, "application/json", '{"id":7,"ok":true}'),
        (
            "form",
            {"a": "{{ trigger.q }}", "b": 2},
            "application/x-www-form-urlencoded",
            "a=a+b&b=2",
        ),
        ("raw", "id={{ trigger.id }}", "text/plain; charset=utf-8", "id=7"),
    ],
)
async def test_post_bodies(
    service: ExecutorService,
    http_base: str,
    body_type: str,
    body: Any,
    content_type: str,
    sent: str,
) -> None:
    result = await run_http(
        service, method="POST", url=http_base + "/echo", body_type=body_type, body=body
    )
    echoed = result.output["body"]
    assert echoed["headers"]["content-type"] == content_type
    assert echoed["body"].replace(", ", ",").replace(": ", ":") == sent


@pytest.mark.parametrize(
    ("path", "response_format", "expected"),
    [
        ("/text", "auto", "hello, world"),
        ("/json-as-text", "auto", '{"a": 1}'),
        ("/json-as-text", "json", {"a": 1}),
        ("/echo", "text", None),  # checked below: a string
        ("/problem", "auto", {"title": "x"}),
        ("/badjson", "auto", "not json {"),
        ("/empty", "auto", ""),
    ],
)
async def test_response_formats(
    service: ExecutorService, http_base: str, path: str, response_format: str, expected: Any
) -> None:
    result = await run_http(service, url=http_base + path, response_format=response_format)
    assert result.status == "succeeded", result.error
    if expected is None:
        assert json.loads(result.output["body"])["path"] == "/echo"
    else:
        assert result.output["body"] == expected


async def test_invalid_json_when_json_is_required(service: ExecutorService, http_base: str) -> None:
    result = await run_http(service, url=http_base + "/badjson", response_format="json")
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpInvalidResponse", False)


async def test_head_has_no_body(service: ExecutorService, http_base: str) -> None:
    result = await run_http(service, method="HEAD", url=http_base + "/echo")
    assert (result.output["status"], result.output["body"]) == (200, None)


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (429, True), (500, True), (503, True)]
)
async def test_non_2xx_fails(
    service: ExecutorService, http_base: str, status: int, retryable: bool
) -> None:
    result = await run_http(service, url=f"{http_base}/status/{status}")
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpStatusError", retryable)
    assert result.error.details is not None
    assert result.error.details["status"] == status
    assert json.loads(result.error.details["body"]) == {"error": f"status {status}"}
    if status in (429, 503):
        assert result.error.details["retry_after_s"] == 7.0


async def test_allow_non_2xx_succeeds(service: ExecutorService, http_base: str) -> None:
    result = await run_http(service, url=http_base + "/status/404", allow_non_2xx=True)
    assert result.status == "succeeded"
    assert result.output["status"] == 404
    assert result.output["body"] == {"error": "status 404"}


async def test_request_timeout_is_retryable(service: ExecutorService, http_base: str) -> None:
    result = await run_http(service, url=http_base + "/slow?s=2", timeout_s=0.2)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("Timeout", True)
    assert "timed out after 0.2 s" in result.error.message


async def test_node_timeout_bounds_the_run(service: ExecutorService, http_base: str) -> None:
    ready = make_ready("http", {"url": http_base + "/slow?s=2"}, timeout_s=0.2)
    result = await service.execute(ready)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("Timeout", True)
    assert "0.2 s" in result.error.message
    assert (result.finished_at - result.started_at).total_seconds() < 1


async def test_redirects_are_followed(service: ExecutorService, http_base: str) -> None:
    target = http_base + "/echo?after=redirect"
    result = await run_http(service, url=http_base + "/redirect", query={"to": target})
    assert result.output["status"] == 200
    assert result.output["body"]["query"] == [["after", "redirect"]]


async def test_redirects_can_be_left_alone(service: ExecutorService, http_base: str) -> None:
    url = http_base + "/redirect"
    result = await run_http(
        service, url=url, query={"to": "/echo"}, follow_redirects=False, allow_non_2xx=True
    )
    assert result.output["status"] == 302
    assert result.output["headers"]["location"] == "/echo"


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:9/", "http://10.0.0.1/"]
)
async def test_redirect_to_private_address_is_refused(
    service: ExecutorService, http_base: str, target: str
) -> None:
    result = await run_http(service, url=http_base + "/redirect", query={"to": target})
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpRequestBlocked", False)
    assert "PORTICO_HTTP_ALLOW_HOSTS" in result.error.message


async def test_redirect_to_other_scheme_is_refused(
    service: ExecutorService, http_base: str
) -> None:
    result = await run_http(
        service, url=http_base + "/redirect", query={"to": "file:///etc/passwd"}
    )
    assert result.error is not None
    assert result.error.retryable is False


@pytest.mark.parametrize("url", ["ftp://example.com/file", "not a url", "http:///nohost"])
async def test_bad_urls_fail_without_retry(service: ExecutorService, url: str) -> None:
    result = await run_http(service, url=url)
    assert result.error is not None
    assert result.error.retryable is False


async def test_connection_refused_is_retryable(service: ExecutorService) -> None:
    result = await run_http(service, url="http://127.0.0.1:9/")  # allowed, nothing listens
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpConnectionError", True)


async def test_broken_connection_is_named_in_words(service: ExecutorService) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()  # the request arrived: reset the connection, answer nothing
        linger_off = struct.pack("ii", 1, 0)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_off)
        writer.transport.abort()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        result = await run_http(service, url=f"http://127.0.0.1:{port}/")
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpConnectionError", True)
    assert not result.error.message.endswith(": ")  # httpx gives some errors no words
    assert "127.0.0.1" in result.error.message


@pytest.mark.parametrize("declared", [True, False])
async def test_response_size_is_capped(
    service: ExecutorService, http_base: str, declared: bool
) -> None:
    query = {"n": 10_000, **({"declared": 1} if declared else {})}
    result = await run_http(service, url=http_base + "/big", query=query)
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("HttpResponseTooLarge", False)
    small = await run_http(service, url=http_base + "/big", query={"n": 4000})
    assert len(small.output["body"]) == 4000


async def test_result_echoes_the_delivery(service: ExecutorService) -> None:
    ready = make_ready("merge", {"mode": "by_node"}, attempt=3, tenant_id="t-9", inputs={"a": 1})
    before = datetime.now(UTC)
    result = await service.execute(ready)
    assert (result.status, result.output, result.attempt, result.tenant_id) == (
        "succeeded",
        {"a": 1},
        3,
        "t-9",
    )
    assert (result.execution_id, result.node_id) == (ready.execution_id, ready.node_id)
    assert before <= result.started_at <= result.finished_at <= datetime.now(UTC)
    assert result.message_id == result_message_id(ready, "succeeded")
    assert result.input == {"mode": "by_node"}


async def test_unknown_node_type_fails(service: ExecutorService) -> None:
    result = await service.execute(make_ready("teleport", {"to": "mars"}))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("UnknownNodeType", False)


async def test_unexpected_exceptions_become_failures(service: ExecutorService) -> None:
    async def explode(config: Any, ctx: RunContext) -> Outcome:
        raise KeyError("boom")

    service.runners = {**RUNNERS, "merge": NodeRunner("merge", MergeConfig, explode)}
    result = await service.execute(make_ready("merge", {}))
    assert result.error is not None
    assert (result.error.type, result.error.retryable) == ("KeyError", False)
    assert "boom" in result.error.message


async def test_unserializable_output_fails_the_node(service: ExecutorService) -> None:
    async def odd(config: Any, ctx: RunContext) -> Outcome:
        return Outcome(output={"x": object()})

    service.runners = {**RUNNERS, "merge": NodeRunner("merge", MergeConfig, odd)}
    result, body = await service.execute_encoded(make_ready("merge", {}))
    assert result.error is not None
    assert result.error.type == "BadOutput"
    assert json.loads(body)["status"] == "failed"


# --- http: idempotency keys and Retry-After -----------------------------------------------


async def test_requests_carry_an_idempotency_key(service: ExecutorService, http_base: str) -> None:
    ready = make_ready("http", {"method": "POST", "url": http_base + "/echo"}, attempt=3)
    result = await service.execute(ready)
    sent = result.output["body"]["headers"]
    assert sent["idempotency-key"] == f"{ready.execution_id}:{ready.node_id}:3"


async def test_an_explicit_idempotency_key_wins(service: ExecutorService, http_base: str) -> None:
    config = {"url": http_base + "/echo", "headers": {"idempotency-KEY": "mine-{{ trigger.id }}"}}
    result = await service.execute(make_ready("http", config, trigger={"id": 7}))
    sent = result.output["body"]["headers"]
    assert sent["idempotency-key"] == "mine-7"


def _http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (503, "2.5", (2.5, 2.5)),
        (429, "99999", (3600.0, 3600.0)),  # capped at an hour
        (503, 30, (28.0, 30.5)),  # numbers here stand for an HTTP-date that many seconds ahead
        (429, -60, (0.0, 0.0)),  # a date in the past: now
        (503, "soon", None),
        (500, "5", None),  # only 429 and 503 mean "come back later"
    ],
)
async def test_retry_after_is_passed_on(
    service: ExecutorService,
    http_base: str,
    status: int,
    retry_after: str | int,
    expected: tuple[float, float] | None,
) -> None:
    if isinstance(retry_after, int):
        retry_after = _http_date(retry_after)
    result = await run_http(
        service, url=f"{http_base}/status/{status}", query={"retry_after": retry_after}
    )
    assert result.error is not None
    assert result.error.retryable is True
    assert result.error.details is not None
    if expected is None:
        assert "retry_after_s" not in result.error.details
    else:
        value = result.error.details["retry_after_s"]
        assert isinstance(value, float)
        assert expected[0] <= value <= expected[1]
