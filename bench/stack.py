"""Portico as an operator runs it: `portico up` migrates, starts every service as a process and
restarts any that dies. More replicas (executors, orchestrators) run each under a supervisor
of their own — Portico's (`portico.supervisor`) — since `portico up` starts one of each service.

The services come from a `SourceTree`: this checkout, or another commit's files (bench.tree).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.infra import free_port
from bench.tree import CURRENT, SourceTree

SERVICES = ("gateway", "orchestrator", "executors", "credentials")
# One more replica of the services named in argv, under Portico's own supervisor (restarted
# whenever it dies). Inline rather than a module of bench/, so a baseline tree needs none.
_SUPERVISE = (
    "import asyncio, sys\n"
    "from portico.settings import LauncherSettings\n"
    "from portico.supervisor import run_all\n"
    "sys.exit(asyncio.run(run_all(LauncherSettings(), sys.argv[1:])))\n"
)


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
    orchestrator_replicas: int = 1
    tree: SourceTree = CURRENT
    port: int = field(default_factory=free_port)
    supervisors: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._launch("up.log", "-m", "portico.cli", "up")
        for _ in range(2, self.executor_replicas + 1):
            self.add_replica("executors")
        for _ in range(2, self.orchestrator_replicas + 1):
            self.add_replica("orchestrator")
        wait_ready(self.base_url, self._check_alive, timeout_s=90)

    def add_replica(self, service: str, env: dict[str, str] | None = None) -> None:
        """Start one more process of `service`; it is ready once it consumes (see the caller)."""
        count = len(self.supervisors)
        self._launch(f"{service}-{count}.log", "-c", _SUPERVISE, service, env=env)

    def _launch(self, log_name: str, *args: str, env: dict[str, str] | None = None) -> None:
        env = {
            **os.environ,
            **self.tree.env(),
            **self.env,
            **(env or {}),
            "PORTICO_HOST": "127.0.0.1",
            "PORTICO_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        self.supervisors.append(
            subprocess.Popen(
                [self.tree.python, *args],
                env=env,
                cwd=self.tree.root,
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

    def service_pids(self) -> dict[str, list[int]]:
        return {service: self.pids(service) for service in SERVICES}

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
