"""Where `portico up` finds the built editor (web/dist) to hand to the gateway.

The repository is looked for first where this package's source lives (`src/portico/` of a
checkout, installed editable by `uv sync`: what `./dev up` runs, from any working directory),
then in the working directory (a package installed from a wheel, run from a checkout). A
`PORTICO_WEB_DIR` that is already set always wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

WEB_DIR_VARIABLE = "PORTICO_WEB_DIR"
# src/portico/editor.py → the checkout's root.
SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]
BUILD_HINT = (
    "the editor is not built (no web/dist), so only the API is served: `./dev up` builds it "
    "(or run `npm ci && npm run build` in web/)"
)


def repository_candidates(cwd: Path | None = None) -> list[Path]:
    """The checkout this package was loaded from, then the working directory."""
    candidates = [SOURCE_CHECKOUT, (cwd or Path.cwd()).resolve()]
    return list(dict.fromkeys(candidates))


def find_editor_build(candidates: Sequence[Path]) -> Path | None:
    """The first `web/dist` holding an `index.html`: a half-finished build is not served."""
    for root in candidates:
        dist = root / "web" / "dist"
        if (dist / "index.html").is_file():
            return dist
    return None


def editor_environment(
    configured: Path | None, candidates: Sequence[Path]
) -> tuple[dict[str, str], str | None]:
    """What to add to the services' environment, and a line for the person starting them."""
    if configured is not None:
        return {}, None
    dist = find_editor_build(candidates)
    if dist is None:
        return {}, BUILD_HINT
    return {WEB_DIR_VARIABLE: str(dist)}, f"serving the editor built in {dist}"
