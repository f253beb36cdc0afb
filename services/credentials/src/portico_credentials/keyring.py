"""The key ring: key-encryption keys (KEKs) that wrap each credential's own data key.

Text form (`PORTICO_CREDENTIALS_KEYS`, or the file `PORTICO_CREDENTIALS_KEYS_FILE`): entries
`kid:base64(32 bytes)` separated by commas or newlines; blank lines and `#` comments are
allowed. The FIRST entry is the active key, which seals everything new; the others only open
rows still wrapped under them. There is never a fallback key: no ring, no service.

A ring read from a file follows that file: when its modification changes (looked at most every
`reload_interval_s`, and at once when a row names a kid we do not know), it is read again, so a
running service picks up the key `portico credentials rotate-key` wrote. A file that no longer
parses is ignored (with a warning) and the ring in memory stays.

Error messages name entries by position and kid, never by key material.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger("portico.credentials.keyring")

KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_BYTES = 32


class KeyRingError(ValueError):
    """The ring's text is malformed; the message says which entry and why, never a key."""


class UnknownKeyError(LookupError):
    """A row is wrapped under a kid that the ring does not hold (even after a reload)."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"key '{kid}' is not in the key ring")
        self.kid = kid


@dataclass(frozen=True)
class Ring:
    """Parsed keys in file order; `keys` is kept out of repr so a log line cannot show one."""

    keys: Mapping[str, bytes] = field(repr=False)

    @property
    def active_kid(self) -> str:
        return next(iter(self.keys))

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self.keys)


def strip_comment(line: str) -> str:
    # Neither a kid nor base64 can contain '#', so everything after one is a comment.
    return line.split("#", 1)[0]


def entries_of(text: str) -> list[str]:
    return [
        part.strip()
        for line in text.splitlines()
        for part in strip_comment(line).split(",")
        if part.strip()
    ]


def _key_of(position: int, kid: str, encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"entry {position} ('{kid}'): the key is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyRingError(
            f"entry {position} ('{kid}'): the key must be {KEY_BYTES} bytes, not {len(raw)}"
        )
    return raw


def _kid_of(position: int, kid: str) -> str:
    if not KID_PATTERN.match(kid):
        # The text before ':' may be a pasted key: say what is wrong without showing it.
        raise KeyRingError(f"entry {position}: the kid must be 1 to 64 letters, digits, '_' or '-'")
    return kid


def parse_ring(text: str) -> Ring:
    """Parse and validate the whole ring; the first entry becomes the active key."""
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries_of(text), start=1):
        kid, colon, encoded = entry.partition(":")
        if not colon:
            raise KeyRingError(f"entry {position} is not of the form kid:base64key")
        kid = _kid_of(position, kid.strip())
        if kid in keys:
            raise KeyRingError(f"entry {position}: kid '{kid}' appears twice")
        keys[kid] = _key_of(position, kid, encoded)
    if not keys:
        raise KeyRingError("no key given (entries are kid:base64key, the first one active)")
    return Ring(keys)


def read_ring_file(path: Path) -> Ring:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyRingError(f"cannot read {path}: {type(exc).__name__}") from None
    return parse_ring(text)


def default_kid(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    # The suffix keeps two keys made within the same second apart.
    return f"k{stamp}-{secrets.token_hex(2)}"


def new_key_entry(kid: str | None = None) -> str:
    """A fresh random key as a ring entry, `kid:base64key` (kid defaults to `k<UTC time>-xxxx`)."""
    chosen = _kid_of(1, kid) if kid is not None else default_kid()
    return f"{chosen}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _file_version(path: Path) -> tuple[int, int, int] | None:
    # The inode changes on an atomic replace even when the mtime does not (coarse clocks).
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_ino, stat.st_size


class KeyRing:
    """The keys a process uses: fixed (from the environment) or following a file."""

    def __init__(
        self,
        ring: Ring,
        path: Path | None = None,
        reload_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ring = ring
        self.path = path
        self.reload_interval_s = reload_interval_s
        self._clock = clock
        self._version = _file_version(path) if path is not None else None
        self._checked_at = clock()

    @classmethod
    def from_text(cls, text: str) -> KeyRing:
        return cls(parse_ring(text))

    @classmethod
    def from_file(cls, path: Path, reload_interval_s: float = 2.0) -> KeyRing:
        return cls(read_ring_file(path), path, reload_interval_s)

    def __repr__(self) -> str:
        return f"KeyRing(kids={self._ring.kids!r}, path={self.path!r})"

    @property
    def ring(self) -> Ring:
        self._reload_if_due()
        return self._ring

    def active(self) -> tuple[str, bytes]:
        ring = self.ring
        return ring.active_kid, ring.keys[ring.active_kid]

    def key(self, kid: str) -> bytes:
        found = self.ring.keys.get(kid)
        if found is None:
            self.reload()  # rotate-key may have written the file a moment ago
            found = self._ring.keys.get(kid)
        if found is None:
            raise UnknownKeyError(kid)
        return found

    def _reload_if_due(self) -> None:
        if self.path is not None and self._clock() - self._checked_at >= self.reload_interval_s:
            self.reload()

    def reload(self) -> bool:
        """Read the file again if it changed; True when the ring in memory was replaced."""
        if self.path is None:
            return False
        self._checked_at = self._clock()
        version = _file_version(self.path)
        if version is None or version == self._version:
            return False
        try:
            ring = read_ring_file(self.path)
        except KeyRingError as exc:
            logger.warning("key ring file %s changed but is unusable (%s); keeping", self.path, exc)
            return False
        self._version = version
        if ring.active_kid != self._ring.active_kid:
            logger.info("key ring reloaded: active key is now '%s'", ring.active_kid)
        self._ring = ring
        return True


def write_private_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (mode 0600): a reader sees the old file or the new, never half."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
