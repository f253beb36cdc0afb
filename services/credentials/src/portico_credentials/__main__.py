"""`python -m portico_credentials` (and `portico credentials`): the credentials service.

    portico credentials [serve]                          serve credentials.rpc until SIGTERM
    portico credentials rotate-key [--keys-file PATH] [--retire]

Settings come from PORTICO_* variables (config.py). Without a valid key ring
(PORTICO_CREDENTIALS_KEYS or PORTICO_CREDENTIALS_KEYS_FILE) or grant verify keys
(PORTICO_GRANT_VERIFY_KEYS) it exits with status 2 and says which variable is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import asyncpg

from portico_contracts.runtime import load_settings_or_exit, run_loop, stop_requested
from portico_credentials.config import KeySettings, Settings

logger = logging.getLogger("portico.credentials")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portico credentials",
        description="Run the Portico credentials service, or rotate its key ring.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve credentials.rpc until SIGTERM (the default)")
    rotate = commands.add_parser(
        "rotate-key",
        help="make a new key active and re-wrap every credential's data key under it",
    )
    rotate.add_argument(
        "--keys-file",
        type=Path,
        help="the ring file the services read (default: PORTICO_CREDENTIALS_KEYS_FILE); "
        "without one, rows are re-wrapped to the first key of PORTICO_CREDENTIALS_KEYS",
    )
    rotate.add_argument(
        "--retire",
        action="store_true",
        help="afterwards, drop from the file the keys no credential uses any more",
    )
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


async def serve(settings: Settings) -> None:
    from portico_credentials.app import running

    async with running(settings):
        await stop_requested()
        logger.info("stopping: finishing the requests in hand")


def rotate_key(keys_file: Path | None, retire: bool) -> int:
    from portico_credentials.keyring import KeyRingError
    from portico_credentials.rotation import describe, rotate

    overrides: dict[str, Any] = {}
    if keys_file is not None:  # the flag wins over both variables
        overrides = {"credentials_keys_file": keys_file, "credentials_keys": None}
    settings = load_settings_or_exit(KeySettings, "credentials rotate-key", **overrides)
    _configure_logging(settings.log_level)
    try:
        report = asyncio.run(rotate(settings, retire))
    except (OSError, KeyRingError, asyncpg.PostgresError) as exc:
        # The database or the file is unreachable: rows keep opening under the keys they have.
        print(f"credentials rotate-key: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for line in describe(report):
        print(line)
    return 1 if report.unopenable else 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "rotate-key":
        raise SystemExit(rotate_key(args.keys_file, args.retire))
    settings = load_settings_or_exit(Settings, "credentials")
    _configure_logging(settings.log_level)
    run_loop(serve(settings))


if __name__ == "__main__":
    main()
