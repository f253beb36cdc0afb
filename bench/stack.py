"""Portico as an operator runs it: `portico up` migrates, starts every service as a process and
restarts any that dies. More executor replicas run each under the same supervisor
(`bench.supervise`), since `portico up` starts one of each service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.infra import free_port

_REPO = Path(__file__).resolve().parent.parent


def wait_ready(base_url: str, check_alive: Callable[[], None], timeout_s: float = 60.0) -> None:
    """Until the gateway's /readyz answers 200; `check_alive` raises if a process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check_alive()
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"gateway at {base_url} not ready after {timeout_s}s")


@dataclass
class Stack:
    """`portico up` with `env` (PORTICO_DATABASE_URL, PORTICO_AMQP_URL, …); logs in `log_dir`."""

    env: dict[str, str]
    log_dir: Path
    executor_replicas: int = 1
    port: int = field(default_factory=free_port)
    supervisors: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._launch("up.log", "portico.cli", "up")
        for replica in range(2, self.executor_replicas + 1):
            self._launch(f"executors-{replica}.log", "bench.supervise", "executors")
        wait_ready(self.base_url, self._check_alive, timeout_s=90)

    def _launch(self, log_name: str, module: str, *args: str) -> None:
        env = {
            **os.environ,
            **self.env,
            "PORTICO_HOST": "127.0.0.1",
            "PORTICO_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        self.supervisors.append(
            subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=env,
                cwd=_REPO,
                stdout=(self.log_dir / log_name).open("ab"),
                stderr=subprocess.STDOUT,
            )
        )

    def _check_alive(self) -> None:
        for supervisor in self.supervisors:
            if supervisor.poll() is not None:
                raise RuntimeError(
                    f"supervisor {supervisor.pid} exited; see the logs in {self.log_dir}"
                )

    def pids(self, service: str) -> list[int]:
        """The running processes of `service` (`gateway`, `executors`, …) under any supervisor."""
        found: list[int] = []
        for supervisor in self.supervisors:
            listed = subprocess.run(
                ["pgrep", "-P", str(supervisor.pid), "-f", f"portico_{service}"],
                capture_output=True,
                text=True,
                check=False,
            )
            found += [int(pid) for pid in listed.stdout.split()]
        return found

    def kill(self, pid: int) -> None:
        """kill -9: no shutdown hook runs, exactly like a crash; the supervisor restarts it."""
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        stop_processes(self.supervisors, signal.SIGINT, timeout_s=30)
        self.supervisors.clear()


def stop_processes(
    processes: Iterable[subprocess.Popen[bytes]], signum: int, timeout_s: float
) -> None:
    """Ask every process to stop with `signum` at once, then kill -9 whichever overstays."""
    processes = list(processes)
    for process in processes:
        process.send_signal(signum)
    for process in processes:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
