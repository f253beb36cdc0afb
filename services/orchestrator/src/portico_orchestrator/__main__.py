"""`python -m portico_orchestrator` (and `portico orchestrator`): run one replica until SIGTERM."""

from __future__ import annotations

import argparse
import logging

from portico_contracts.runtime import load_settings_or_exit, run_loop
from portico_orchestrator.config import Settings


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="portico orchestrator",
        description="Run the Portico orchestrator (settings come from PORTICO_* variables).",
    )


def main(argv: list[str] | None = None) -> None:
    build_parser().parse_args(argv)
    settings = load_settings_or_exit(Settings, "orchestrator")
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from portico_orchestrator.app import create_app

    # FastStream's run() turns SIGTERM and SIGINT into a graceful stop: consumers stop, the
    # messages in hand finish and are acked, then the timer and outbox tasks end.
    run_loop(create_app(settings).run(log_level=logging.INFO))


if __name__ == "__main__":
    main()
