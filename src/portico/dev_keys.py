"""Keys for a developer machine, made once by `portico up` when none are configured.

Production sets `PORTICO_CREDENTIALS_KEYS` (or mounts `PORTICO_CREDENTIALS_KEYS_FILE`),
`PORTICO_GRANT_SIGNING_KEY` (orchestrator) and `PORTICO_GRANT_VERIFY_KEYS` (credentials
service); a service started alone without them refuses to start. `portico up` is the one-command
local run, so it keeps generated keys in a state folder (mode 0600) and reuses them on every
start: credentials saved yesterday still open today.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from portico_contracts.grants import generate_signing_key, load_signing_key
from portico_credentials.keyring import new_key_entry

KEY_RING_FILE = "credentials.keys"
GRANT_KEY_FILE = "grant-signing.key"


def fresh_keys() -> dict[str, str]:
    """A new key ring and grant key pair, as the environment variables the services read."""
    private, public = generate_signing_key()
    return {
        "PORTICO_CREDENTIALS_KEYS": new_key_entry(),
        "PORTICO_GRANT_SIGNING_KEY": private,
        "PORTICO_GRANT_VERIFY_KEYS": public,
    }


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _public_of(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def ensure_dev_keys(state_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables to add for the services: only those `environ` lacks."""
    added: dict[str, str] = {}
    if not environ.get("PORTICO_CREDENTIALS_KEYS") and not environ.get(
        "PORTICO_CREDENTIALS_KEYS_FILE"
    ):
        ring = state_dir / KEY_RING_FILE
        if not ring.exists():
            _write_private(ring, new_key_entry() + "\n")
        added["PORTICO_CREDENTIALS_KEYS_FILE"] = str(ring.resolve())
    if not environ.get("PORTICO_GRANT_SIGNING_KEY"):
        grant_file = state_dir / GRANT_KEY_FILE
        if not grant_file.exists():
            _write_private(grant_file, generate_signing_key()[0] + "\n")
        private = grant_file.read_text().strip()
        added["PORTICO_GRANT_SIGNING_KEY"] = private
        if not environ.get("PORTICO_GRANT_VERIFY_KEYS"):
            added["PORTICO_GRANT_VERIFY_KEYS"] = _public_of(load_signing_key(private))
    return added
