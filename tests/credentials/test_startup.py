"""A missing or invalid key setting stops the process at start-up (status 2), naming the
variable and never showing key material. No fallback key, ever."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from portico_credentials.keyring import new_key_entry

_KEY_VARIABLES = (
    "PORTICO_CREDENTIALS_KEYS",
    "PORTICO_CREDENTIALS_KEYS_FILE",
    "PORTICO_GRANT_VERIFY_KEYS",
)
SHORT_KEY = base64.b64encode(secrets.token_bytes(16)).decode()


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if name not in _KEY_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "portico_credentials", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _verify_key() -> str:
    from portico_contracts.grants import generate_signing_key

    return generate_signing_key()[1]


@pytest.mark.parametrize(
    ("env", "variable", "complaint"),
    [
        ({}, "PORTICO_CREDENTIALS_KEYS", "required"),
        ({"PORTICO_CREDENTIALS_KEYS": ""}, "PORTICO_CREDENTIALS_KEYS", "required"),
        ({"PORTICO_CREDENTIALS_KEYS": f"k1:{SHORT_KEY}"}, "PORTICO_CREDENTIALS_KEYS", "32 bytes"),
        ({"PORTICO_CREDENTIALS_KEYS": SHORT_KEY}, "PORTICO_CREDENTIALS_KEYS", "kid:base64key"),
        (
            {"PORTICO_CREDENTIALS_KEYS_FILE": "/nonexistent/ring.keys"},
            "PORTICO_CREDENTIALS_KEYS_FILE",
            "is not a file",
        ),
    ],
)
def test_a_bad_key_ring_stops_the_service(
    env: dict[str, str], variable: str, complaint: str
) -> None:
    done = _run({**env, "PORTICO_GRANT_VERIFY_KEYS": _verify_key()})
    assert done.returncode == 2, done.stderr
    assert f"{variable}: " in done.stderr
    assert complaint in done.stderr
    assert SHORT_KEY not in done.stderr + done.stdout


def test_a_bad_ring_file_is_named_and_not_shown(tmp_path: Path) -> None:
    ring = tmp_path / "ring.keys"
    ring.write_text(f"# ring\n{new_key_entry('good')}\nbad:{SHORT_KEY}\n")
    done = _run(
        {"PORTICO_CREDENTIALS_KEYS_FILE": str(ring), "PORTICO_GRANT_VERIFY_KEYS": _verify_key()}
    )
    assert done.returncode == 2
    assert "PORTICO_CREDENTIALS_KEYS_FILE: entry 2 ('bad'): the key must be 32 bytes" in done.stderr
    assert SHORT_KEY not in done.stderr


def test_both_rings_at_once_are_refused(tmp_path: Path) -> None:
    ring = tmp_path / "ring.keys"
    ring.write_text(new_key_entry())
    done = _run(
        {
            "PORTICO_CREDENTIALS_KEYS": new_key_entry(),
            "PORTICO_CREDENTIALS_KEYS_FILE": str(ring),
            "PORTICO_GRANT_VERIFY_KEYS": _verify_key(),
        }
    )
    assert done.returncode == 2
    assert "PORTICO_CREDENTIALS_KEYS: set this or PORTICO_CREDENTIALS_KEYS_FILE" in done.stderr


@pytest.mark.parametrize(
    ("value", "complaint"), [(None, "required"), ("nope", "base64"), (SHORT_KEY, "32 bytes")]
)
def test_missing_or_bad_grant_verify_keys_stop_the_service(
    value: str | None, complaint: str
) -> None:
    env = {"PORTICO_CREDENTIALS_KEYS": new_key_entry()}
    if value is not None:
        env["PORTICO_GRANT_VERIFY_KEYS"] = value
    done = _run(env)
    assert done.returncode == 2
    assert "PORTICO_GRANT_VERIFY_KEYS: " in done.stderr
    assert complaint in done.stderr


def test_rotate_key_without_a_ring_stops(tmp_path: Path) -> None:
    done = _run({}, "rotate-key")
    assert done.returncode == 2
    assert "PORTICO_CREDENTIALS_KEYS: required" in done.stderr
    missing = _run({}, "rotate-key", "--keys-file", str(tmp_path / "absent.keys"))
    assert missing.returncode == 2
    assert "is not a file" in missing.stderr
