"""Which Portico a benchmark starts: this checkout, or another commit unpacked under /tmp.

`compare --baseline <rev>` needs the services of another commit beside this checkout's. The
repository is only read: `git archive <rev> | tar -x` unpacks that commit's files into
/tmp/portico-baseline-<sha> (kept and reused by later runs). Its services run with:

- this checkout's virtualenv when both commits have the same `uv.lock`, the unpacked packages
  put first on PYTHONPATH (the virtualenv's editable installs are plain `.pth` paths, which
  come after PYTHONPATH, so the baseline's modules win);
- otherwise a virtualenv of its own, made once with `uv sync --frozen` inside the unpacked
  tree (its editable installs then point at the unpacked sources).

Whichever commit runs, the benchmark code is always this checkout's `bench`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SourceTree:
    label: str  # "current", or "baseline <sha>"
    root: Path
    python: str
    pythonpath: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": os.pathsep.join(self.pythonpath)} if self.pythonpath else {}


CURRENT = SourceTree("current", REPO, sys.executable)


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _unpack(sha: str) -> Path:
    target = Path(tempfile.gettempdir()) / f"portico-baseline-{sha[:12]}"
    if (target / "pyproject.toml").exists():
        return target
    partial = Path(tempfile.mkdtemp(prefix=f"portico-baseline-{sha[:12]}-"))
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", sha], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise RuntimeError(f"git archive {sha} failed")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _package_paths(root: Path) -> tuple[str, ...]:
    """The source folders of the workspace's packages (`src`, `libs/*/src`, `services/*/src`)."""
    folders = [root / "src", *sorted(root.glob("libs/*/src")), *sorted(root.glob("services/*/src"))]
    return tuple(str(folder) for folder in folders if folder.is_dir())


def _same_lock(root: Path) -> bool:
    ours, theirs = REPO / "uv.lock", root / "uv.lock"
    return ours.exists() and theirs.exists() and ours.read_bytes() == theirs.read_bytes()


def baseline_tree(rev: str) -> SourceTree:
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    root = _unpack(sha)
    label = f"baseline {sha[:10]}"
    if _same_lock(root):
        return SourceTree(label, root, sys.executable, _package_paths(root))
    python = root / ".venv" / "bin" / "python"
    if not python.exists():
        print(f"bench: {rev} has other dependencies; `uv sync --frozen` in {root}", flush=True)
        subprocess.run(["uv", "sync", "--frozen", "--project", str(root)], check=True)
    return SourceTree(label, root, str(python))
