"""Credential types (each with its own validated secret schema) and the `credentials.rpc` surface.

A credential's `data` is secret: it is written through the gateway, sealed by the credentials
service, and read back only by an executor holding a grant (see `grants.py`). Every reply that
describes a credential carries metadata only (`CredentialView`); `ResolvedCredential` is the
one reply with plaintext, and only the credentials service builds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator

CredentialType = Literal[
    "openai",
    "anthropic",
    "gemini",
    "http_bearer",
    "http_basic",
    "http_header",
    "slack_webhook",
    "discord_webhook",
    "hmac_secret",
]

# A secret value: long enough for any real key, short enough to bound what we store.
Secret = Annotated[str, Field(min_length=1, max_length=8192)]
CREDENTIAL_ID_PATTERN = r"^cred_[0-9a-f]{32}$"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
# Headers an `http_header` credential may not set: the transport owns them.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "idempotency-key"}
)


class CredentialData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Any field may be the secret: repr() and str() (log lines, tracebacks) show names only.
        return [(name, "**********") for name in type(self).model_fields]


class ModelProviderKey(CredentialData):
    api_key: Secret
    base_url: AnyHttpUrl | None = Field(
        default=None,
        description="Another endpoint speaking the provider's API (a proxy, a local server).",
    )


class HttpBearer(CredentialData):
    token: Secret


class HttpBasic(CredentialData):
    username: str = Field(min_length=1, max_length=1024)
    password: Secret


class HttpHeader(CredentialData):
    name: str = Field(description="Header name, for example X-Api-Key.")
    value: Secret

    @field_validator("name")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError("not a valid HTTP header name (letters, digits and -_. only)")
        if value.lower() in _RESERVED_HEADERS:
            raise ValueError(f"'{value}' is set by Portico itself; pick another header")
        return value


class IncomingWebhook(CredentialData):
    url: AnyHttpUrl = Field(description="The webhook URL the chat service gave you; it is secret.")


class HmacSecret(CredentialData):
    secret: Annotated[str, Field(min_length=16, max_length=8192)]
    algorithm: Literal["sha256", "sha512", "sha1"] = "sha256"


@dataclass(frozen=True)
class CredentialTypeInfo:
    name: str
    data_model: type[CredentialData]
    label: str


CREDENTIAL_TYPES: dict[str, CredentialTypeInfo] = {
    info.name: info
    for info in (
        CredentialTypeInfo("openai", ModelProviderKey, "OpenAI API key"),
        CredentialTypeInfo("anthropic", ModelProviderKey, "Anthropic API key"),
        CredentialTypeInfo("gemini", ModelProviderKey, "Google Gemini API key"),
        CredentialTypeInfo("http_bearer", HttpBearer, "HTTP bearer token"),
        CredentialTypeInfo("http_basic", HttpBasic, "HTTP basic auth"),
        CredentialTypeInfo("http_header", HttpHeader, "HTTP header"),
        CredentialTypeInfo("slack_webhook", IncomingWebhook, "Slack incoming webhook"),
        CredentialTypeInfo("discord_webhook", IncomingWebhook, "Discord webhook"),
        CredentialTypeInfo("hmac_secret", HmacSecret, "HMAC signing secret"),
    )
}


class CredentialDataError(ValueError):
    """`data` does not fit its type; `problems` name each field and what is wrong with it."""

    def __init__(self, credential_type: str, problems: list[str]) -> None:
        super().__init__(f"{credential_type} credential: " + "; ".join(problems))
        self.problems = problems


def parse_credential_data(credential_type: str, data: Any) -> CredentialData:
    """Validate secret data against its type's schema. Errors never echo the values."""
    info = CREDENTIAL_TYPES.get(credential_type)
    if info is None:
        raise CredentialDataError(
            credential_type, [f"unknown type; choose one of {', '.join(CREDENTIAL_TYPES)}"]
        )
    try:
        return info.data_model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"data.{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise CredentialDataError(credential_type, problems) from None


# --- RPC on `credentials.rpc`: every request names its tenant; another tenant's row is absent ---


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_id: str = Field(min_length=1, max_length=100)


CredentialName = Annotated[str, Field(min_length=1, max_length=200)]


class CreateCredential(_Request):
    op: Literal["create"] = "create"
    name: CredentialName
    type: CredentialType
    data: dict[str, Any] = Field(description="Secret fields of the type; write-only.")


class UpdateCredential(_Request):
    """Rename, or replace the secret value (sealed again under a fresh data key)."""

    op: Literal["update"] = "update"
    credential_id: str = Field(max_length=100)
    name: CredentialName | None = None
    data: dict[str, Any] | None = None


class ListCredentials(_Request):
    op: Literal["list"] = "list"
    type: CredentialType | None = None
    ids: list[str] | None = Field(default=None, max_length=500)


class DeleteCredential(_Request):
    op: Literal["delete"] = "delete"
    credential_id: str = Field(max_length=100)


class ResolveCredential(_Request):
    """An executor asks for plaintext, showing the grant the orchestrator signed for this very
    execution, node and credential. `requester` names the asking process, for the audit."""

    op: Literal["resolve"] = "resolve"
    credential_id: str = Field(max_length=100)
    execution_id: str = Field(max_length=200)
    node_id: str = Field(max_length=200)
    grant: str = Field(max_length=4096)
    requester: str = Field(default="unknown", max_length=200)


class CheckSecret(_Request):
    """Does an incoming request carry this `hmac_secret` credential's secret, or a signature
    made with it? Asked by the gateway for signed webhooks, so the secret never leaves the
    credentials service. `token`: a candidate equals the secret. `hmac`: a candidate is the
    hex HMAC of `payload` under the secret with the credential's algorithm. Replies
    `{"valid": bool}`; comparisons take constant time."""

    # The payload is the raw body (any bytes): base64 in JSON.
    model_config = ConfigDict(
        extra="forbid", frozen=True, ser_json_bytes="base64", val_json_bytes="base64"
    )
    op: Literal["check_secret"] = "check_secret"
    credential_id: str = Field(max_length=100)
    mode: Literal["token", "hmac"]
    payload: bytes = Field(default=b"", max_length=16 * 1024 * 1024)
    candidates: list[Annotated[str, Field(max_length=1024)]] = Field(min_length=1, max_length=8)


CredentialRequest = Annotated[
    CreateCredential
    | UpdateCredential
    | ListCredentials
    | DeleteCredential
    | ResolveCredential
    | CheckSecret,
    Field(discriminator="op"),
]


class CredentialView(BaseModel):
    """What anyone but an executor with a grant may see of a credential: never its data."""

    id: str
    name: str
    type: CredentialType
    created_at: datetime
    updated_at: datetime


class CredentialList(BaseModel):
    items: list[CredentialView]


class ResolvedCredential(BaseModel):
    """The plaintext, for one executor that showed a valid grant."""

    id: str
    type: CredentialType
    # Kept out of repr(), so a log line or traceback showing the object shows no secret.
    data: dict[str, Any] = Field(repr=False)

    def parsed(self) -> CredentialData:
        return parse_credential_data(self.type, self.data)
