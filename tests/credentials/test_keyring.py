"""The key ring's text form, its checks, and a file that changes under a running service."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from portico_credentials.keyring import (
    KeyRing,
    KeyRingError,
    UnknownKeyError,
    new_key_entry,
    parse_ring,
    write_private_atomically,
)


def _entry(kid: str, size: int = 32) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(size)).decode()}"


def test_the_first_entry_is_active_and_commas_newlines_and_comments_separate() -> None:
    text = f"# made by hand\n{_entry('new')}  # the active one\n\n{_entry('old')},{_entry('older')}"
    ring = parse_ring(text)
    assert ring.kids == ("new", "old", "older")
    assert ring.active_kid == "new"
    assert all(len(key) == 32 for key in ring.keys.values())


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "no key given"),
        ("  # only a comment\n", "no key given"),
        (_entry("a", 16), "must be 32 bytes, not 16"),
        ("a:not base64!", "not valid base64"),
        (f"{_entry('a')},{_entry('a')}", "appears twice"),
        (_entry("bad kid"), "the kid must be"),
        (_entry("x" * 65), "the kid must be"),
        (base64.b64encode(secrets.token_bytes(32)).decode(), "is not of the form kid:base64key"),
    ],
)
def test_a_bad_ring_is_refused_without_showing_a_key(text: str, complaint: str) -> None:
    with pytest.raises(KeyRingError) as caught:
        parse_ring(text)
    assert complaint in str(caught.value)
    for part in text.replace(",", ":").split(":"):
        if len(part) > 20:
            assert part.strip() not in str(caught.value)


def test_new_key_entry_makes_a_valid_unique_entry() -> None:
    first, second = new_key_entry(), new_key_entry()
    assert first != second
    assert parse_ring(f"{first},{second}").kids == (first.split(":")[0], second.split(":")[0])
    assert parse_ring(new_key_entry("mine")).kids == ("mine",)
    with pytest.raises(KeyRingError):
        new_key_entry("not ok")


def test_repr_shows_kids_only() -> None:
    entry = new_key_entry("k1")
    ring = KeyRing.from_text(entry)
    assert entry.split(":")[1] not in repr(ring) + repr(ring.ring)
    assert "k1" in repr(ring)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_ring_file_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "ring.keys"
    path.write_text(_entry("one") + "\n")
    clock = Clock()
    ring = KeyRing(parse_ring(path.read_text()), path, reload_interval_s=2.0, clock=clock)
    write_private_atomically(path, f"{_entry('two')}\n{path.read_text()}")
    assert ring.active()[0] == "one"  # not looked at again yet
    clock.now = 2.5
    assert ring.active()[0] == "two"
    assert ring.ring.kids == ("two", "one")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_an_unknown_kid_makes_it_look_at_once(tmp_path: Path) -> None:
    path = tmp_path / "ring.keys"
    path.write_text(_entry("one"))
    ring = KeyRing(parse_ring(path.read_text()), path, reload_interval_s=3600.0, clock=Clock())
    write_private_atomically(path, f"{_entry('two')},{path.read_text()}")
    assert len(ring.key("two")) == 32
    with pytest.raises(UnknownKeyError):
        ring.key("three")


def test_a_broken_file_keeps_the_ring_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ring.keys"
    good = _entry("one")
    path.write_text(good)
    ring = KeyRing(parse_ring(good), path, reload_interval_s=3600.0, clock=Clock())
    write_private_atomically(path, "one:short")
    assert not ring.reload()
    assert ring.active()[0] == "one"
    assert "unusable" in caplog.text
    assert "short" not in caplog.text
