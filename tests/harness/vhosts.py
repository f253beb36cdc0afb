"""A RabbitMQ vhost of a test's own, next to this run's shared one, for tests whose services
must not meet another suite's (competing consumers on the same queues would answer each
other's messages)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import pytest

from bench.infra import Infra

_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def private_vhost(infra: Infra, label: str, *, required: bool = False) -> Iterator[str]:
    """An AMQP URL on a new vhost named after the run and `label`, deleted afterwards.

    Only a local broker with `rabbitmqctl` can make one. Elsewhere (a remote or containerised
    broker) this yields the run's shared vhost, or, when `required` (the test means nothing
    there), skips the test saying why.
    """
    parts = urlsplit(infra.amqp_url)
    vhost = f"{infra.run_id}_{label}_{uuid.uuid4().hex[:6]}"
    if not _made(parts, vhost, required):
        yield infra.amqp_url
        return
    try:
        yield urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
    finally:
        rabbitmqctl("delete_vhost", vhost)


def _made(parts: SplitResult, vhost: str, required: bool) -> bool:
    """Whether `vhost` was made (with the URL's user allowed everything on it)."""
    if parts.hostname not in _LOCAL_HOSTS or shutil.which("rabbitmqctl") is None:
        if required:
            pytest.skip("needs the local RabbitMQ (rabbitmqctl) to make a vhost of its own")
        return False
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError):
        if required:
            raise
        return False
    return True
