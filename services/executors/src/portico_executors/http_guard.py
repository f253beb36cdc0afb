"""SSRF guard for the http node: workflows must not reach private networks or cloud metadata.

The check runs where the TCP connection is opened (a wrapped httpcore network backend), not
on the URL before sending. That way every redirect hop is checked, and a DNS name that
resolves to a public address for a pre-check and to 127.0.0.1 a moment later (DNS rebinding)
cannot slip through: we resolve once, vet every address, and connect to a vetted one.
TLS still verifies against the original host name, which httpcore passes to `start_tls`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOW_HOSTS_ENV = "PORTICO_HTTP_ALLOW_HOSTS"


class BlockedRequestError(Exception):
    """The request may not be sent: forbidden scheme or a non-public destination."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason


_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Non-global ranges that `ipaddress` (as of Python 3.11.7) calls global: IETF protocol
# assignments, the deprecated 6to4 relay anycast, IPv6 site-local (deprecated, yet routed
# inside some networks) and the IPv6 documentation range of RFC 9637.
_NOT_GLOBAL: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol-assignment"),
    (ipaddress.ip_network("192.88.99.0/24"), "a 6to4 relay anycast"),
    (ipaddress.ip_network("fec0::/10"), "a site-local"),
    (ipaddress.ip_network("3fff::/20"), "a documentation"),
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # ::ffff:127.0.0.1 reaches 127.0.0.1; judge the IPv4 address it carries.
            return address_problem(embedded)
    checks = (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
        # Carrier-grade NAT (100.64/10) is neither private nor global in `ipaddress`.
        ("a non-global", not address.is_global),
    )
    for label, hit in checks:
        if hit:
            return f"{label} address"
    for network, label in _NOT_GLOBAL:
        if address.version == network.version and address in network:
            return f"{label} address"
    return None


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: httpx.URL) -> None:
    """Cheap checks that need no DNS. ValueError: not a usable URL; BlockedRequestError: a
    scheme we refuse (file:, gopher:, …)."""
    if not url.scheme:
        raise ValueError(f"URL '{url}' is not absolute: start it with http:// or https://")
    if url.scheme not in ALLOWED_SCHEMES:
        raise BlockedRequestError(
            url.host, f"refusing URL scheme '{url.scheme}': only http and https are allowed"
        )
    if not url.host:
        raise ValueError(f"URL '{url}' has no host")


class HostPolicy:
    """Which destinations the http node may reach; built once from PORTICO_HTTP_ALLOW_HOSTS.

    An allow-list entry is a host name (matched case-insensitively against the URL's host), an
    IP address, or a CIDR network (matched against the resolved addresses).
    """

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allowed_names: frozenset[str] = frozenset()
        self.allowed_networks: tuple[IPNetwork, ...] = ()
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (item.strip() for item in allow_hosts):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        self.allowed_names = frozenset(names)
        self.allowed_networks = tuple(networks)

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]").rstrip(".") in self.allowed_names

    def address_allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)

    def check_address(self, host: str, address: IPAddress) -> None:
        if self.host_allowed(host) or self.address_allowed(address):
            return
        problem = address_problem(address)
        if problem is not None:
            shown = host if host == str(address) else f"{host} ({address})"
            raise BlockedRequestError(
                host,
                f"refusing to connect to {shown}: it is {problem}; "
                f"list the host in {ALLOW_HOSTS_ENV} to allow it",
            )

    async def resolve(self, host: str, port: int, limit_s: float | None) -> list[IPAddress]:
        """The addresses of `host` we may connect to; refuses when there is none.

        Forbidden records are dropped rather than tried, so a name that mixes a public and
        a private record can only ever lead to the public one.
        """
        literal = parse_ip(host)
        if literal is not None:
            self.check_address(host, literal)
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), limit_s
            )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        allowed: list[IPAddress] = []
        refusal: BlockedRequestError | None = None
        for info in infos:
            address = parse_ip(str(info[4][0]))
            if address is None or address in allowed:
                continue
            try:
                self.check_address(host, address)
            except BlockedRequestError as exc:
                refusal = refusal or exc
                continue
            allowed.append(address)
        if allowed:
            return allowed
        if refusal is not None:
            raise refusal
        raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that vets each destination before opening a TCP connection."""

    def __init__(self, policy: HostPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve(host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:  # try each vetted address, like a resolver-based connect
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedRequestError(path, "unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose connection pool opens connections only through the guard."""

    def __init__(self, policy: HostPolicy, max_connections: int = 200) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
        super().__init__(limits=limits, trust_env=False)
        # httpx does not expose `network_backend`; rebuild its pool with ours, same settings.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(policy),
        )


def guarded_client(policy: HostPolicy, user_agent: str) -> httpx.AsyncClient:
    """The shared client: no proxies from the environment (they would bypass the guard)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy),
        trust_env=False,
        headers={"user-agent": user_agent},
        follow_redirects=False,
    )
