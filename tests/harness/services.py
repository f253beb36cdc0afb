"""One service as a process of its own (`python -m portico_<service>`), for tests that need it
running beside an in-process gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.infra import Infra
from bench.stack import stop_processes

# Long enough for a bad setting or an unreachable server to stop the process.
_START_UP_S = 0.5


@contextmanager
def service_process(
    service: str, infra: Infra, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m portico_<service>` on this run's database and vhost (`env` on top), its output
    in `log_dir/<service>.log`. Fails the test, with the log's tail, when the process exits at
    start-up; SIGTERM stops it afterwards."""
    log_path = log_dir / f"{service}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"portico_{service}"],
            env={**os.environ, **infra.env(), **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    time.sleep(_START_UP_S)
    if process.poll() is not None:
        pytest.fail(f"portico_{service} exited at start-up:\n{log_path.read_text()[-3000:]}")
    try:
        yield process
    finally:
        stop_processes([process], signal.SIGTERM, timeout_s=15)
