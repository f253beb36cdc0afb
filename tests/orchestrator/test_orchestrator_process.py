"""`python -m portico_orchestrator`: starts, stops cleanly on SIGTERM, refuses bad settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any


def _spawn(infra: Any, **extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **infra.env(), "PORTICO_LOG_LEVEL": "INFO", **extra}
    return subprocess.Popen(
        [sys.executable, "-m", "portico_orchestrator"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def test_sigterm_stops_the_service_gracefully(infra: Any) -> None:
    process = _spawn(infra)
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            seen.append(line)
            if "orchestrator started" in line or not line:
                break
        assert "orchestrator started" in seen[-1], "".join(seen)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "orchestrator stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_bad_setting_stops_start_up_naming_it(infra: Any) -> None:
    process = _spawn(infra, PORTICO_PREFETCH="0", PORTICO_AMQP_URL="http://nope")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "PORTICO_PREFETCH" in stderr
    assert "PORTICO_AMQP_URL" in stderr
