"""Whether the session cookie is `Secure`: always, except in local development over http."""

from __future__ import annotations

import ipaddress
from typing import Literal

from starlette.requests import HTTPConnection

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_secure(setting: bool | Literal["auto"], connection: HTTPConnection) -> bool:
    """`auto`: Secure unless this request came over plain http to a loopback host, which is
    a developer's own machine: an http client does not send a Secure cookie back over http."""
    if setting != "auto":
        return setting
    plain_http = connection.url.scheme in ("http", "ws")
    return not (plain_http and is_loopback_host(connection.url.hostname or ""))
