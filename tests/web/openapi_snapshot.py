"""The gateway's OpenAPI document, which the editor generates its API types from.

`web/openapi.json` is a committed copy (the editor's build must not need a running gateway);
`python -m tests.web.openapi_snapshot` rewrites it after an API change, and
`test_openapi_snapshot.py` fails while it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from portico_gateway.app import create_app
from portico_gateway.config import Settings

SNAPSHOT = Path(__file__).resolve().parents[2] / "web" / "openapi.json"


def current_document() -> str:
    app = create_app(Settings())
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SNAPSHOT.write_text(current_document())
    print(f"wrote {SNAPSHOT}")
