"""The http node's credential: an `Authorization` or custom header added to the request.

It is added to the built request at send time, never to the config, so the rendered config
recorded as the run's input holds no secret. And since a server may echo what it received
(httpbin's /headers, a debugging endpoint, an error page), every secret string is also
replaced by a placeholder in the output and in any error before they leave the executor.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx

from portico_contracts.credentials import CredentialData, HttpBasic, HttpBearer, HttpHeader
from portico_executors.errors import NodeRunError

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class RequestAuth:
    header: str
    value: str
    # Every string that would give the secret away, longest first.
    secrets: tuple[str, ...]

    def apply(self, request: httpx.Request) -> None:
        # Replaces a config header of the same name (any case): the node's credential is the
        # authentication its author chose, and a templated header must not shadow it.
        request.headers[self.header] = self.value

    def remove(self, request: httpx.Request) -> None:
        request.headers.pop(self.header, None)

    def redact(self, value: Any) -> Any:
        """`value` (JSON-like) with every secret string replaced."""
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {self.redact(key): self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        return value

    def redact_error(self, error: NodeRunError) -> NodeRunError:
        return NodeRunError(
            self.redact(error.message),
            type=error.type,
            retryable=error.retryable,
            details=self.redact(error.details),
        )


def _secrets(*values: str) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}, key=len, reverse=True))


def _sendable(auth: RequestAuth) -> RequestAuth:
    # A value httpx would refuse makes an error that quotes it (escaped, so redaction would
    # miss it): refuse it here instead, without showing it.
    if not all(" " <= char <= "~" or char == "\t" for char in auth.value):
        raise NodeRunError(
            "the credential's value cannot be sent in an HTTP header: it holds line breaks, "
            "control or non-ASCII characters; update the credential",
            type="CredentialInvalid",
        )
    return auth


def request_auth(credential: CredentialData | None) -> RequestAuth | None:
    """How the credential authenticates a request; None without one."""
    if credential is None:
        return None
    return _sendable(_auth_of(credential))


def _auth_of(credential: CredentialData) -> RequestAuth:
    if isinstance(credential, HttpBearer):
        value = f"Bearer {credential.token}"
        return RequestAuth("Authorization", value, _secrets(credential.token, value))
    if isinstance(credential, HttpBasic):
        pair = f"{credential.username}:{credential.password}".encode()
        encoded = base64.b64encode(pair).decode("ascii")
        value = f"Basic {encoded}"
        return RequestAuth("Authorization", value, _secrets(value, encoded, credential.password))
    if isinstance(credential, HttpHeader):
        return RequestAuth(credential.name, credential.value, _secrets(credential.value))
    raise NodeRunError(
        f"the http node cannot authenticate with a {type(credential).__name__} credential; "
        "use http_bearer, http_basic or http_header",
        type="CredentialMismatch",
    )


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)
