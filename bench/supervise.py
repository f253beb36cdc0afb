"""`python -m bench.supervise executors`: one more replica of a service under Portico's own
supervisor (restarted whenever it dies), next to the ones `portico up` runs.
"""

from __future__ import annotations

import asyncio
import sys

from portico.settings import LauncherSettings
from portico.supervisor import run_all

if __name__ == "__main__":
    sys.exit(asyncio.run(run_all(LauncherSettings(), sys.argv[1:])))
