"""`portico up` as a newcomer runs it: every service up, a dead one restarted, a clear
message when PostgreSQL or RabbitMQ is not there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.infra import Infra, free_port
from portico.editor import BUILD_HINT, SOURCE_CHECKOUT, find_editor_build


def _portico(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    inherited = {k: v for k, v in os.environ.items() if k != "PORTICO_WEB_DIR"}
    return subprocess.Popen(
        [sys.executable, "-m", "portico.cli", *args],
        env={**inherited, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _child(parent: int, service: str) -> int | None:
    found = subprocess.run(
        ["pgrep", "-P", str(parent), "-f", f"portico_{service}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return int(found[0]) if found else None


@pytest.fixture
def portico_up(
    process_infra: Infra, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    log = tmp_path / "up.log"
    process = _portico(["up"], {**process_infra.env(), "PORTICO_PORT": str(port)}, log)
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_up_runs_every_service_and_restarts_a_dead_one(
    portico_up: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, url, log = portico_up
    _wait_for(lambda: _ready(url), 60, f"gateway not ready: {log.read_text()}")
    # Every service says something as it starts; the gateway may be ready before the others.
    for label in ("orchestrator |", "executors    |", "credentials  |"):
        _wait_for(lambda label=label: label in log.read_text(), 30, f"no {label} in the log")
    assert "migrations applied: gateway, orchestrator, credentials" in log.read_text()
    _assert_editor_served_if_built(url, log)

    first = _child(process.pid, "orchestrator")
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _wait_for(
        lambda: (_child(process.pid, "orchestrator") or first) != first,
        30,
        f"orchestrator not restarted: {log.read_text()}",
    )
    assert "orchestrator | exited with code -9; restarting" in log.read_text()


def _assert_editor_served_if_built(url: str, log: Path) -> None:
    """With this checkout's web/dist built, the editor's pages are served; without, the log
    says how to build it and the API is served all the same."""
    page = httpx.get(f"{url}/workflows/some-id", headers={"Accept": "text/html"}, timeout=5)
    if find_editor_build([SOURCE_CHECKOUT]) is not None:
        assert "serving the editor built in" in log.read_text()
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
    else:
        assert BUILD_HINT in log.read_text()
        assert page.status_code == 404


def test_up_names_what_to_start_when_rabbitmq_is_down(infra: Infra, tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    closed = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    process = _portico(["up"], {**infra.env(), "PORTICO_AMQP_URL": closed}, log)
    assert process.wait(timeout=60) != 0
    output = log.read_text()
    assert "RabbitMQ is not reachable" in output
    assert "rabbitmq-server -detached" in output
    assert "PORTICO_AMQP_URL" in output


def test_up_names_what_to_start_when_postgres_is_down(infra: Infra, tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/portico"
    process = _portico(["migrate"], {**infra.env(), "PORTICO_DATABASE_URL": closed}, log)
    assert process.wait(timeout=60) != 0
    assert "PostgreSQL is not reachable" in log.read_text()
    assert "pg_ctlcluster" in log.read_text()
