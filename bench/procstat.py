"""CPU time and resident memory of a process and everything below it, read from /proc.

A service is one process plus its children (the executors' sandbox workers), so every figure
here is of a process tree: CPU is utime + stime of each live process plus cutime + cstime (the
children it already reaped), RSS is summed over the live processes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_s: float  # own + reaped children's user and system time
    own_cpu_s: float  # its own only
    rss_bytes: int


def read_stat(pid: int) -> ProcStat | None:
    """`/proc/<pid>/stat`, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name sits in parentheses and may hold spaces: fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        cpu_s=(utime + stime + cutime + cstime) / _TICKS,
        own_cpu_s=(utime + stime) / _TICKS,
        rss_bytes=int(fields[21]) * _PAGE,
    )


def _children_by_parent() -> dict[int, list[int]]:
    children: defaultdict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            children[stat.ppid].append(stat.pid)
    return children


def tree(pids: Iterable[int]) -> list[ProcStat]:
    """The processes `pids` and all their descendants that are alive now."""
    children = _children_by_parent()
    found: list[ProcStat] = []
    pending = list(pids)
    while pending:
        pid = pending.pop()
        if (stat := read_stat(pid)) is not None:
            found.append(stat)
            pending += children.get(pid, [])
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    return sum(stat.cpu_s for stat in tree(pids))


def own_cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds of `pids` themselves: not their children, live or reaped."""
    return sum(stat.own_cpu_s for pid in pids if (stat := read_stat(pid)) is not None)


def rss_bytes(pids: Iterable[int]) -> int:
    return sum(stat.rss_bytes for stat in tree(pids))
