"""A PostgreSQL cluster and a RabbitMQ node of one's own, on a temporary folder and free ports.

A chaos run restarts them at will; the shared servers on 5432 and 5672, and every other test
run on them, never notice. PostgreSQL runs as the `postgres` user when we are root (initdb
refuses root); the RabbitMQ scripts switch to their own user by themselves.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.infra import free_port


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no initdb: install PostgreSQL's server binaries")
    return Path(initdb).parent


def _as_owner(user: str, command: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else command


def _owned_folder(root: Path, user: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, user, user)
    return root


def _run(command: list[str], timeout_s: float = 120, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


@dataclass
class PrivatePostgres:
    """`initdb` once, then `pg_ctl start/stop` on `root`, listening on 127.0.0.1:`port` only."""

    root: Path
    port: int = field(default_factory=free_port)
    bin_dir: Path = field(default_factory=_postgres_bin)

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/portico"

    @property
    def _data(self) -> Path:
        return self.root / "data"

    def _pg(self, *args: str) -> list[str]:
        return _as_owner("postgres", [str(self.bin_dir / args[0]), *args[1:]])

    def init(self) -> None:
        _owned_folder(self.root, "postgres")
        _run(self._pg("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust", "-N"))

    def start(self) -> None:
        # fsync off: a chaos run kills processes, never the machine, so the page cache survives.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c max_connections=300"
        )
        log = str(self.root / "postgres.log")
        _run(self._pg("pg_ctl", "-D", str(self._data), "-l", log, "-o", options, "-w", "start"))

    def stop(self, mode: str = "fast") -> None:
        _run(self._pg("pg_ctl", "-D", str(self._data), "-m", mode, "-w", "stop"))


@dataclass
class PrivateRabbit:
    """A RabbitMQ node with its own name, AMQP and distribution ports, data and log folders."""

    root: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"portico_chaos_{uuid.uuid4().hex[:8]}@localhost")
    process: subprocess.Popen[bytes] | None = None

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def init(self) -> None:
        _owned_folder(self.root, "rabbitmq")
        # Our own (empty) env and plugin files, and a config whose only listener is ours: the
        # machine's files name the shared node and port 5672.
        for name in ("rabbitmq-env.conf", "enabled_plugins"):
            (self.root / name).write_text("")
        (self.root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
        }

    def _ctl(self, *args: str) -> None:
        _run(["rabbitmqctl", "-q", "-n", self.node, *args], env=self._env())

    def start(self) -> None:
        log = (self.root / "server.out").open("ab")
        self.process = subprocess.Popen(
            ["rabbitmq-server"], env=self._env(), stdout=log, stderr=subprocess.STDOUT
        )
        # `wait` (unlike `await_startup`) also waits for the node to exist at all.
        self._ctl("wait", str(self.root / "rabbitmq.pid"), "--timeout", "120")

    def stop(self) -> None:
        self._ctl("stop")
        if self.process is not None:
            self.process.wait(timeout=60)
            self.process = None
