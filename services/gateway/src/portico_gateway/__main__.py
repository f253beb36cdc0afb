"""`python -m portico_gateway [--host H] [--port P]`: serve the gateway with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from portico_gateway.app import create_app
from portico_gateway.config import SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portico gateway", description=__doc__)
    parser.add_argument("--host", help="interface to listen on (default: PORTICO_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORTICO_PORT)")
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off: /metrics counts them)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    overrides = {"host": args.host, "port": args.port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=args.access_log,
        ws_per_message_deflate=settings.ws_compression,
        log_level="info",
    )


if __name__ == "__main__":
    main()
