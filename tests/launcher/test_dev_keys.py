"""`portico up` on a machine with no keys configured makes them once and reuses them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from portico.dev_keys import GRANT_KEY_FILE, KEY_RING_FILE, ensure_dev_keys, fresh_keys
from portico_contracts.grants import (
    CredentialGrant,
    load_signing_key,
    load_verify_keys,
    sign_grant,
    verify_grant,
)


def test_keys_are_made_once_private_and_reused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = ensure_dev_keys(state, {})
    second = ensure_dev_keys(state, {})

    assert first == second
    assert set(first) == {
        "PORTICO_CREDENTIALS_KEYS_FILE",
        "PORTICO_GRANT_SIGNING_KEY",
        "PORTICO_GRANT_VERIFY_KEYS",
    }
    for name in (KEY_RING_FILE, GRANT_KEY_FILE):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600
    grant = CredentialGrant(
        tenant_id="t",
        execution_id="e",
        node_id="n",
        attempt=1,
        credential_id="c",
        expires_at=4_000_000_000,
    )
    token = sign_grant(load_signing_key(first["PORTICO_GRANT_SIGNING_KEY"]), grant)
    assert verify_grant(load_verify_keys(first["PORTICO_GRANT_VERIFY_KEYS"]), token) == grant


def test_configured_keys_are_left_alone(tmp_path: Path) -> None:
    configured = fresh_keys()

    assert ensure_dev_keys(tmp_path, configured) == {}
    assert not any(tmp_path.iterdir())


def test_portico_keys_prints_usable_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from portico.cli import main

    main(["keys"])
    out = capsys.readouterr().out
    lines = dict(
        line.split("=", 1) for line in out.splitlines() if line and not line.startswith("#")
    )
    load_signing_key(lines["PORTICO_GRANT_SIGNING_KEY"])
    load_verify_keys(lines["PORTICO_GRANT_VERIFY_KEYS"])
    assert lines["PORTICO_CREDENTIALS_KEYS"].count(":") == 1
