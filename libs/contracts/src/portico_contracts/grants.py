"""Credential grants: the orchestrator's signed permission for one node run to read one credential.

A grant names the tenant, execution, node, attempt and credential, and expires. It is an
Ed25519 signature, so the orchestrator (holding the private key) is the only one that can make
one, and the credentials service (holding only public keys) can check one but not forge one.
An executor carries it from `node.ready` to `credentials.rpc` and cannot alter a byte of it.

Token: `<base64url(payload JSON)>.<base64url(signature)>`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict, Field, ValidationError

GRANT_VERSION = 1
# Purpose of a grant that is not a node run: the gateway's "generate a node config" helper.
GENERATE_CONFIG_PURPOSE = "generate_config"


class GrantError(ValueError):
    """The grant is malformed, forged, expired, or for something else."""


class CredentialGrant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: int = GRANT_VERSION
    tenant_id: str
    execution_id: str
    node_id: str
    attempt: int = Field(ge=0)
    credential_id: str
    expires_at: float = Field(description="Unix time, seconds.")
    nonce: str = Field(default_factory=lambda: secrets.token_urlsafe(12))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_grant(key: Ed25519PrivateKey, grant: CredentialGrant) -> str:
    payload = grant.model_dump_json().encode()
    return f"{_b64(payload)}.{_b64(key.sign(payload))}"


def verify_grant(
    keys: tuple[Ed25519PublicKey, ...], token: str, now: float | None = None
) -> CredentialGrant:
    """The grant inside `token` if one of `keys` signed it and it has not expired."""
    payload_part, dot, signature_part = token.partition(".")
    if not dot:
        raise GrantError("not a grant token")
    try:
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except (binascii.Error, ValueError) as exc:
        raise GrantError("not a grant token") from exc
    if not any(_signed_by(key, payload, signature) for key in keys):
        raise GrantError("grant signature does not verify")
    try:
        grant = CredentialGrant.model_validate(json.loads(payload))
    except (ValueError, ValidationError) as exc:
        raise GrantError("grant payload is malformed") from exc
    if grant.v != GRANT_VERSION:
        raise GrantError(f"grant version {grant.v} is not understood")
    if grant.expires_at < (time.time() if now is None else now):
        raise GrantError("grant has expired")
    return grant


def _signed_by(key: Ed25519PublicKey, payload: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


# --- keys as environment values: base64 of the raw 32 bytes -------------------------------------


def load_signing_key(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError("must be base64 of a 32-byte Ed25519 private key") from exc
    if len(raw) != 32:
        raise ValueError(f"must be base64 of 32 bytes (an Ed25519 private key), not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_verify_keys(text: str) -> tuple[Ed25519PublicKey, ...]:
    """Comma-separated public keys: during a signing-key change, both old and new verify."""
    keys = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            raw = base64.b64decode(part, validate=True)
        except binascii.Error as exc:
            raise ValueError("each key must be base64 of a 32-byte Ed25519 public key") from exc
        if len(raw) != 32:
            raise ValueError(f"each key must be base64 of 32 bytes, not {len(raw)}")
        keys.append(Ed25519PublicKey.from_public_bytes(raw))
    if not keys:
        raise ValueError("no key given")
    return tuple(keys)


def generate_signing_key() -> tuple[str, str]:
    """A new (private, public) pair as the base64 values the settings read."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes_raw()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()
