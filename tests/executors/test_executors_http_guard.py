"""Unit tests of the SSRF guard: address classification, allow-list, resolution, transport."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpcore
import httpx
import pytest

from portico_executors.http_guard import (
    BlockedRequestError,
    GuardedNetworkBackend,
    HostPolicy,
    address_problem,
    check_url,
    guarded_client,
)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.5.6.7", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
        # Non-global ranges Python's `ipaddress` calls global.
        ("fec0::1", "site-local"),
        ("feff:ffff::1", "site-local"),
        ("3fff::1", "documentation"),
        ("192.0.0.8", "IETF protocol-assignment"),
        ("::ffff:192.0.0.8", "IETF protocol-assignment"),
        ("192.88.99.1", "6to4 relay"),
    ],
)
def test_non_public_addresses_are_named(address: str, problem: str) -> None:
    found = address_problem(ipaddress.ip_address(address))
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "192.0.1.1", "2001:4860:4860::8888"],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_allow_list_matches_names_addresses_and_networks() -> None:
    policy = HostPolicy(["Internal.Example.", "127.0.0.1", "10.20.0.0/16", "[::1]", " "])
    assert policy.host_allowed("internal.example")
    assert policy.host_allowed("INTERNAL.EXAMPLE.")
    assert not policy.host_allowed("other.example")
    assert policy.address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert policy.address_allowed(ipaddress.ip_address("10.20.30.40"))
    assert policy.address_allowed(ipaddress.ip_address("::1"))
    assert not policy.address_allowed(ipaddress.ip_address("10.21.0.1"))


def test_refusal_names_host_and_setting() -> None:
    with pytest.raises(BlockedRequestError) as caught:
        HostPolicy().check_address("metadata.internal", ipaddress.ip_address("169.254.169.254"))
    message = str(caught.value)
    assert "metadata.internal (169.254.169.254)" in message
    assert "link-local" in message
    assert "PORTICO_HTTP_ALLOW_HOSTS" in message


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/"]
)
def test_only_http_and_https_schemes(url: str) -> None:
    with pytest.raises(BlockedRequestError, match="only http and https"):
        check_url(httpx.URL(url))


def test_http_and_https_urls_pass_the_cheap_check() -> None:
    check_url(httpx.URL("https://example.com/a?b=1"))
    check_url(httpx.URL("http://127.0.0.1:8080/"))


async def test_localhost_is_refused_unless_allowed() -> None:
    with pytest.raises(BlockedRequestError, match="localhost"):
        await HostPolicy().resolve("localhost", 80, 5.0)
    addresses = await HostPolicy(["localhost"]).resolve("localhost", 80, 5.0)
    assert all(address.is_loopback for address in addresses)


async def test_allowing_an_address_allows_names_resolving_to_it() -> None:
    addresses = await HostPolicy(["127.0.0.1"]).resolve("localhost", 80, 5.0)
    assert [str(address) for address in addresses] == ["127.0.0.1"]  # ::1 dropped, not tried


async def test_mixed_records_keep_only_public_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    addresses = await HostPolicy().resolve("rebind.example", 80, 5.0)
    assert [str(address) for address in addresses] == ["93.184.216.34"]


async def test_unresolvable_host_is_a_connect_error() -> None:
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await HostPolicy().resolve("no-such-host.invalid", 80, 5.0)


async def test_backend_refuses_before_connecting() -> None:
    backend = GuardedNetworkBackend(HostPolicy())
    with pytest.raises(BlockedRequestError, match=r"10\.0\.0\.1"):
        await backend.connect_tcp("10.0.0.1", 80, timeout=1.0)
    with pytest.raises(BlockedRequestError, match="unix sockets"):
        await backend.connect_unix_socket("/var/run/docker.sock")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://0.0.0.0:9/",
        "http://[fec0::1]:9/",
    ],
)
async def test_guarded_client_refuses_private_destinations(url: str) -> None:
    async with guarded_client(HostPolicy(), "test") as client:
        with pytest.raises(BlockedRequestError, match="PORTICO_HTTP_ALLOW_HOSTS"):
            await client.get(url)


async def test_guarded_client_reaches_allowed_host(http_base: str) -> None:
    async with guarded_client(HostPolicy(["127.0.0.1"]), "portico-test") as client:
        response = await client.get(f"{http_base}/echo")
    assert response.status_code == 200
    assert response.json()["headers"]["user-agent"] == "portico-test"
