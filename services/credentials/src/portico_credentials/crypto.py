"""Envelope encryption of one credential (AES-256-GCM, `cryptography`'s AESGCM).

Each credential has its own random 256-bit data key, which seals the JSON of its validated data.
The data key is then wrapped (sealed) by the ring's active key-encryption key, whose kid is kept
with the row. Both seals carry associated data naming the purpose, the tenant and the credential
id, so a row copied to another tenant or another id, or a wrapped key swapped into the data's
place, fails to open. Rotation re-wraps only the data key; the ciphertext stays as it is.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portico_contracts.credentials import CredentialData

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_DATA_PURPOSE = "portico.credential.data.v1"
_KEY_PURPOSE = "portico.credential.key.v1"


class SealBrokenError(ValueError):
    """A sealed row does not open: wrong key, or it was moved or altered."""


@dataclass(frozen=True)
class Sealed:
    """What the database keeps of a credential's secret: nothing readable without a KEK."""

    kid: str
    wrapped_key: bytes = field(repr=False)
    key_nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    data_nonce: bytes = field(repr=False)


def _associated(purpose: str, tenant_id: str, credential_id: str) -> bytes:
    # A JSON array is unambiguous: ("a:b", "c") and ("a", "b:c") never encode alike.
    return json.dumps([purpose, tenant_id, credential_id]).encode()


def _open(key: bytes, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated)
    except (InvalidTag, ValueError):
        raise SealBrokenError("the sealed credential does not open with its key") from None


def _wrap(kek: bytes, data_key: bytes, tenant_id: str, credential_id: str) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(NONCE_BYTES)
    associated = _associated(_KEY_PURPOSE, tenant_id, credential_id)
    return AESGCM(kek).encrypt(nonce, data_key, associated), nonce


def plaintext_of(data: CredentialData) -> bytes:
    return json.dumps(data.model_dump(mode="json"), separators=(",", ":")).encode()


def seal(active: tuple[str, bytes], tenant_id: str, credential_id: str, plaintext: bytes) -> Sealed:
    """Seal under a fresh data key, wrapped by the active KEK `(kid, key)`."""
    kid, kek = active
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
    data_nonce = secrets.token_bytes(NONCE_BYTES)
    associated = _associated(_DATA_PURPOSE, tenant_id, credential_id)
    ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, associated)
    wrapped_key, key_nonce = _wrap(kek, data_key, tenant_id, credential_id)
    return Sealed(kid, wrapped_key, key_nonce, ciphertext, data_nonce)


def unwrap(kek: bytes, sealed: Sealed, tenant_id: str, credential_id: str) -> bytes:
    associated = _associated(_KEY_PURPOSE, tenant_id, credential_id)
    return _open(kek, sealed.key_nonce, sealed.wrapped_key, associated)


def open_sealed(kek: bytes, sealed: Sealed, tenant_id: str, credential_id: str) -> bytes:
    """The plaintext, if `kek` is the key `sealed.kid` names and the row is where it was sealed."""
    data_key = unwrap(kek, sealed, tenant_id, credential_id)
    associated = _associated(_DATA_PURPOSE, tenant_id, credential_id)
    return _open(data_key, sealed.data_nonce, sealed.ciphertext, associated)


def open_data(kek: bytes, sealed: Sealed, tenant_id: str, credential_id: str) -> dict[str, Any]:
    decoded = json.loads(open_sealed(kek, sealed, tenant_id, credential_id))
    if not isinstance(decoded, dict):
        raise SealBrokenError("the sealed credential is not a JSON object")
    return decoded


def rewrap(
    sealed: Sealed,
    old_kek: bytes,
    active: tuple[str, bytes],
    tenant_id: str,
    credential_id: str,
) -> Sealed:
    """The same ciphertext with its data key wrapped under the active KEK instead."""
    data_key = unwrap(old_kek, sealed, tenant_id, credential_id)
    kid, kek = active
    wrapped_key, key_nonce = _wrap(kek, data_key, tenant_id, credential_id)
    return replace(sealed, kid=kid, wrapped_key=wrapped_key, key_nonce=key_nonce)
