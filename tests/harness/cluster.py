"""Every service as a process of its own, which a test can kill -9 and start again at will.

The database, vhost and readiness probe are the benchmarks' (`bench.infra`, `bench.stack`); this
adds the per-process control the end-to-end crash tests need.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.infra import Infra, free_port
from bench.stack import stop_processes, wait_ready


@dataclass
class LocalCluster:
    """Every service as its own process; logs go to `log_dir/<service>.log`."""

    infra: Infra
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.infra.env(),
            "PORTICO_HOST": "127.0.0.1",
            "PORTICO_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, service: str, *args: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", f"portico_{service}", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_all(self, executor_args: tuple[str, ...] = ()) -> None:
        self.start("credentials")
        self.start("orchestrator")
        self.start("executors", *executor_args)
        self.start("gateway")
        self.wait_ready()

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        wait_ready(self.base_url, self._check_alive, timeout_s)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}"
                )

    def kill(self, service: str) -> None:
        """kill -9: no shutdown hook runs, exactly like a crash."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        stop_processes(self.processes.values(), signal.SIGTERM, timeout_s=15)
        self.processes.clear()
