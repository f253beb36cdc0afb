"""The credentials service is a placeholder until its own issue builds it."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    sys.exit(
        "portico credentials: this service is not built yet (no node type needs a credential);"
        " `portico up` does not start it."
    )


if __name__ == "__main__":
    main()
