"""The `portico` command: run every service locally, or one of them, or the migrations."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable

from portico.preflight import PreflightError, check_infrastructure
from portico.settings import LauncherSettings

SERVICES = ("gateway", "orchestrator", "executors", "credentials")


def _run_service(name: str, argv: list[str]) -> None:
    module = importlib.import_module(f"portico_{name}.__main__")
    entry: Callable[[list[str] | None], None] = module.main
    entry(argv)


def _is_built(name: str) -> bool:
    """A service package without an `app` module is still a placeholder and is not started."""
    return importlib.util.find_spec(f"portico_{name}.app") is not None


def _migrate(settings: LauncherSettings) -> None:
    from portico.broker_upgrade import upgrade
    from portico.migrate import upgrade_all

    done = upgrade_all(settings.database_url)
    print(f"migrations applied: {', '.join(done) or 'none'}")
    for queue, kept in upgrade(settings.amqp_url).items():
        print(f"queue {queue} re-declared as this version declares it ({kept} messages kept)")


def _print_keys() -> None:
    from portico.dev_keys import fresh_keys

    print("# PORTICO_CREDENTIALS_KEYS and PORTICO_GRANT_VERIFY_KEYS: the credentials service;")
    print("# PORTICO_GRANT_SIGNING_KEY: the orchestrator. Keep them secret; keep old ring keys.")
    for name, value in fresh_keys().items():
        print(f"{name}={value}")


def _use_dev_keys_if_unset(settings: LauncherSettings) -> None:
    from portico.dev_keys import ensure_dev_keys

    added = ensure_dev_keys(settings.state_dir, os.environ)
    if added:
        os.environ.update(added)  # the services are our children: they inherit it
        print(
            f"using development keys kept in {settings.state_dir.resolve()}/ for what is unset of "
            "PORTICO_CREDENTIALS_KEYS, PORTICO_GRANT_SIGNING_KEY and PORTICO_GRANT_VERIFY_KEYS "
            "(set them in production; see docs/ARCHITECTURE.md)"
        )


def _use_editor_build_if_unset(settings: LauncherSettings) -> None:
    from portico.editor import editor_environment, repository_candidates

    added, note = editor_environment(settings.web_dir, repository_candidates())
    os.environ.update(added)  # the gateway is our child: it inherits it
    if note is not None:
        print(f"portico: {note}")


def _preflight_or_exit(settings: LauncherSettings) -> None:
    try:
        asyncio.run(check_infrastructure(settings))
    except PreflightError as exc:
        sys.exit(f"portico: {exc}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portico", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="migrate, then run every service (restarting any that die)")
    up.add_argument("--no-migrate", action="store_true", help="skip the migrations")
    commands.add_parser(
        "migrate",
        help="create the database if needed, apply migrations, upgrade the broker's queues",
    )
    commands.add_parser(
        "keys", help="print new credential and grant keys as environment lines (for .env)"
    )
    for name in SERVICES:
        commands.add_parser(name, help=f"run the {name} service alone (`portico {name} -h`)")
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SERVICES:
        # The service parses its own options (`portico gateway --port 9000`).
        _run_service(argv[0], argv[1:])
        return
    args = _parser().parse_args(argv)
    if args.command == "keys":
        _print_keys()
        return
    settings = LauncherSettings()
    _preflight_or_exit(settings)
    if args.command == "migrate":
        _migrate(settings)
        return
    if not args.no_migrate:
        _migrate(settings)
    _use_dev_keys_if_unset(settings)
    _use_editor_build_if_unset(settings)
    from portico.supervisor import run_all

    sys.exit(asyncio.run(run_all(settings, [n for n in SERVICES if _is_built(n)])))


if __name__ == "__main__":
    main()
