"""`python -m portico_executors [--types http,transform]`: run the executors until SIGTERM.

`--types` (or PORTICO_EXECUTOR_TYPES) picks the node types this process consumes, so each
type can be deployed and scaled on its own. SIGTERM/SIGINT stop consuming, let in-flight
nodes finish (up to PORTICO_GRACEFUL_TIMEOUT_S) and hand waiting ones back to the queue.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from pydantic import ValidationError

from portico_contracts.runtime import run_loop, stop_requested
from portico_executors.app import running
from portico_executors.config import EXECUTOR_TYPES, Settings

logger = logging.getLogger("portico.executors")
_TYPES_ENV = "PORTICO_EXECUTOR_TYPES"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portico executors", description="Run Portico node executors."
    )
    parser.add_argument(
        "--types",
        help=f"comma-separated node types to consume (default: all of {','.join(EXECUTOR_TYPES)})",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def _setting_name(loc: tuple[Any, ...]) -> str:
    name = str(loc[0]) if loc else "settings"
    return name if name.startswith("PORTICO_") else f"PORTICO_{name.upper()}"


def load_settings(types: str | None) -> Settings:
    """Settings from the environment, `--types` winning; exits naming any bad variable."""
    try:
        return Settings(types=types) if types is not None else Settings()
    except ValidationError as exc:
        for error in exc.errors():
            from_cli = types is not None and error["loc"][:1] in (("types",), (_TYPES_ENV,))
            print(
                f"invalid setting {'--types' if from_cli else _setting_name(error['loc'])}: "
                f"{error['msg']}",
                file=sys.stderr,
            )
        raise SystemExit(2) from None


async def serve(settings: Settings) -> None:
    async with running(settings):
        logger.info("executors consuming node types: %s", ", ".join(settings.types))
        await stop_requested()
        logger.info("stopping: draining in-flight nodes")
    logger.info("executors stopped")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO: a line per http node on the hot path, and URLs whose
    # query strings may carry tokens.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    settings = load_settings(args.types)
    run_loop(serve(settings))


if __name__ == "__main__":
    main()
