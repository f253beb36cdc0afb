"""`portico credentials rotate-key`: put every row under a new key-encryption key, live.

With a keys file (`--keys-file` or PORTICO_CREDENTIALS_KEYS_FILE): a new key is written as the
file's first, active entry (atomically, mode 0600, old keys kept), then every row not under it
has its data key re-wrapped, a small batch per short transaction, skipping rows a request holds
(`FOR UPDATE SKIP LOCKED`), until none remain. Running services re-read the file within
PORTICO_CREDENTIALS_KEYS_RELOAD_S, and at once when a row names a key they lack, so they keep
resolving throughout (readers never wait for these row locks). A service that sealed something
under the old key before it noticed the new file is caught by a last pass after that interval.
`--retire` then drops from the file the keys no row uses any more.

With the ring in PORTICO_CREDENTIALS_KEYS: the operator has put the new key first and restarted
the services with it; this re-wraps the rows still under older keys to that first key.

Only data keys are re-wrapped: ciphertexts are not touched, and no plaintext is ever formed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from portico_credentials import crypto, db, repository
from portico_credentials.config import KeySettings
from portico_credentials.keyring import (
    KeyRing,
    UnknownKeyError,
    entries_of,
    new_key_entry,
    parse_ring,
    read_ring_file,
    write_private_atomically,
)

# How long to wait before looking again at rows that are left only because a request holds them.
_LOCKED_PAUSE_S = 0.2


@dataclass
class RotationReport:
    active_kid: str
    rewrapped: int = 0
    added_kid: str | None = None
    retired: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # env ring: keys the operator may remove
    unopenable: list[str] = field(default_factory=list)  # row ids whose key is lost or wrong


def add_active_key(path: Path) -> str:
    """Write a new key as the file's first (active) entry, keeping the rest; its kid."""
    text = path.read_text(encoding="utf-8")
    known = parse_ring(text).keys
    entry = new_key_entry()
    while entry.split(":", 1)[0] in known:
        entry = new_key_entry()
    kid = entry.split(":", 1)[0]
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    write_private_atomically(
        path, f"# {kid}: made active by rotate-key at {stamp}\n{entry}\n{text}"
    )
    return kid


def _kept_line(line: str, keep: set[str]) -> str | None:
    """The line with retired entries removed; None when nothing of it is left."""
    content, hash_sign, comment = line.partition("#")
    entries = entries_of(content)
    if not entries:
        return line  # blank or comment only
    kept = [entry for entry in entries if entry.split(":", 1)[0].strip() in keep]
    if not kept:
        return None
    return ", ".join(kept) + (f"  #{comment}" if hash_sign else "")


def retire_unused(path: Path, in_use: set[str]) -> list[str]:
    """Drop the keys no row uses (never the active one) from the file; the kids dropped."""
    text = path.read_text(encoding="utf-8")
    ring = parse_ring(text)
    keep = in_use | {ring.active_kid}
    retired = [kid for kid in ring.kids if kid not in keep]
    if not retired:
        return []
    lines = [_kept_line(line, keep) for line in text.splitlines()]
    new_text = "\n".join(line for line in lines if line is not None) + "\n"
    if parse_ring(new_text).active_kid != ring.active_kid:  # cannot happen; never risk it
        raise RuntimeError("retiring keys would change the active key; the file is unchanged")
    write_private_atomically(path, new_text)
    return retired


async def rewrap_all(
    pool: db.Pool, ring: KeyRing, batch: int, report: RotationReport, timeout_s: float = 10.0
) -> None:
    """Re-wrap every row not under the ring's active key, until none is left."""
    while True:
        async with db.transaction(pool, timeout_s) as conn:
            rows = await repository.lock_not_under(conn, ring.active()[0], report.unopenable, batch)
            report.rewrapped += await _rewrap_rows(conn, ring, rows, report)
        if rows:
            continue
        async with db.transaction(pool, timeout_s) as conn:
            left = await repository.count_not_under(conn, ring.active()[0], report.unopenable)
        if left == 0:
            return
        await asyncio.sleep(_LOCKED_PAUSE_S)  # the rest are held by requests right now


async def _rewrap_rows(
    conn: db.Connection,
    ring: KeyRing,
    rows: list[repository.WrappedKey],
    report: RotationReport,
) -> int:
    active = ring.active()
    done = 0
    for row in rows:
        try:
            old_key = ring.key(row.sealed.kid)
            sealed = crypto.rewrap(row.sealed, old_key, active, row.tenant_id, row.id)
        except (UnknownKeyError, crypto.SealBrokenError):
            report.unopenable.append(row.id)
            continue
        await repository.set_wrapping(conn, row.id, sealed)
        done += 1
    return done


async def rotate(
    settings: KeySettings, retire: bool, say: Callable[[str], None] = print
) -> RotationReport:
    pool = await db.create_pool(
        settings.database_url, 2, settings.db_connect_timeout_s, "portico-credentials-rotate"
    )
    try:
        if settings.credentials_keys_file is not None:
            return await _rotate_file(pool, settings, settings.credentials_keys_file, retire, say)
        return await _rotate_env(pool, settings, retire)
    finally:
        await pool.close()


async def _rotate_file(
    pool: db.Pool, settings: KeySettings, path: Path, retire: bool, say: Callable[[str], None]
) -> RotationReport:
    added = add_active_key(path)
    say(f"new active key '{added}' written to {path}")
    # A fixed snapshot of the new file: this run must not follow later edits.
    ring = KeyRing(read_ring_file(path))
    report = RotationReport(active_kid=added, added_kid=added)
    batch = settings.credentials_rotation_batch
    await rewrap_all(pool, ring, batch, report)
    # Services that have not looked at the file yet may still seal under the old key.
    await asyncio.sleep(settings.credentials_keys_reload_s + 0.5)
    await rewrap_all(pool, ring, batch, report)
    if retire and not report.unopenable:
        async with db.transaction(pool, settings.db_pool_timeout_s) as conn:
            in_use = await repository.kids_in_use(conn)
        report.retired = retire_unused(path, in_use)
    return report


async def _rotate_env(pool: db.Pool, settings: KeySettings, retire: bool) -> RotationReport:
    ring = settings.key_ring()
    report = RotationReport(active_kid=ring.active()[0])
    await rewrap_all(pool, ring, settings.credentials_rotation_batch, report)
    if retire and not report.unopenable:
        async with db.transaction(pool, settings.db_pool_timeout_s) as conn:
            in_use = await repository.kids_in_use(conn)
        report.unused = [kid for kid in ring.ring.kids if kid not in in_use | {report.active_kid}]
    return report


def describe(report: RotationReport) -> list[str]:
    lines = [f"re-wrapped {report.rewrapped} credential(s) under key '{report.active_kid}'"]
    if report.retired:
        lines.append(f"retired keys no credential uses: {', '.join(report.retired)}")
    if report.unused:
        lines.append(
            "keys no credential uses (remove them from PORTICO_CREDENTIALS_KEYS): "
            + ", ".join(report.unused)
        )
    if report.unopenable:
        lines.append(
            f"{len(report.unopenable)} credential(s) could not be opened with the ring and were "
            f"left as they are (no key retired): {', '.join(report.unopenable[:50])}"
        )
    return lines
