"""Envelope encryption: a sealed credential opens only with its key, for its tenant and id."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from portico_contracts.credentials import parse_credential_data
from portico_credentials import crypto

KEK = ("k1", secrets.token_bytes(32))
OTHER_KEK = ("k2", secrets.token_bytes(32))
SECRET = "sk-test-" + secrets.token_hex(16)


def _sealed(tenant: str = "t1", credential_id: str = "cred_a") -> crypto.Sealed:
    data = parse_credential_data("openai", {"api_key": SECRET})
    return crypto.seal(KEK, tenant, credential_id, crypto.plaintext_of(data))


def test_a_sealed_credential_opens_to_its_data() -> None:
    sealed = _sealed()
    assert sealed.kid == "k1"
    assert SECRET.encode() not in sealed.ciphertext + sealed.wrapped_key
    assert crypto.open_data(KEK[1], sealed, "t1", "cred_a") == {"api_key": SECRET, "base_url": None}


def test_every_seal_has_its_own_data_key_and_nonces() -> None:
    first, second = _sealed(), _sealed()
    assert first.ciphertext != second.ciphertext
    assert first.wrapped_key != second.wrapped_key
    assert first.data_nonce != second.data_nonce
    assert first.key_nonce != second.key_nonce


@pytest.mark.parametrize(
    ("tenant", "credential_id"), [("t2", "cred_a"), ("t1", "cred_b"), ("t2", "cred_b")]
)
def test_a_row_copied_to_another_tenant_or_id_does_not_open(
    tenant: str, credential_id: str
) -> None:
    with pytest.raises(crypto.SealBrokenError):
        crypto.open_sealed(KEK[1], _sealed(), tenant, credential_id)


def test_a_wrong_key_or_altered_row_does_not_open() -> None:
    sealed = _sealed()
    with pytest.raises(crypto.SealBrokenError):
        crypto.open_sealed(OTHER_KEK[1], sealed, "t1", "cred_a")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(crypto.SealBrokenError):
        crypto.open_sealed(KEK[1], replace(sealed, ciphertext=flipped), "t1", "cred_a")
    # The wrapped key in the data's place (or the reverse) does not open either.
    swapped = replace(
        sealed,
        ciphertext=sealed.wrapped_key,
        data_nonce=sealed.key_nonce,
        wrapped_key=sealed.ciphertext,
        key_nonce=sealed.data_nonce,
    )
    with pytest.raises(crypto.SealBrokenError):
        crypto.open_sealed(KEK[1], swapped, "t1", "cred_a")


def test_rewrap_changes_only_the_wrapping() -> None:
    sealed = _sealed()
    moved = crypto.rewrap(sealed, KEK[1], OTHER_KEK, "t1", "cred_a")
    assert moved.kid == "k2"
    assert (moved.ciphertext, moved.data_nonce) == (sealed.ciphertext, sealed.data_nonce)
    assert moved.wrapped_key != sealed.wrapped_key
    assert crypto.open_data(OTHER_KEK[1], moved, "t1", "cred_a")["api_key"] == SECRET
    with pytest.raises(crypto.SealBrokenError):
        crypto.open_sealed(KEK[1], moved, "t1", "cred_a")


def test_repr_shows_no_bytes() -> None:
    sealed = _sealed()
    assert repr(sealed) == "Sealed(kid='k1')"
