"""Render a node's config templates right before it runs, then validate the result.

Templates and validation fail the node for good (retryable=False): running the same config
against the same context again cannot turn out differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2.exceptions import UndefinedError
from pydantic import ValidationError

from portico_contracts.nodes import NodeConfig
from portico_contracts.templates import TemplateRenderError, render_value
from portico_executors.errors import NodeRunError

TEMPLATE_ERROR = "TemplateError"
CONFIG_ERROR = "InvalidConfig"


@cache
def untemplated_fields(model: type[NodeConfig]) -> frozenset[str]:
    return model.untemplated_fields()


def template_failure(exc: TemplateRenderError) -> NodeRunError:
    field = exc.path or "config"
    return NodeRunError(
        f"template error in field '{field}': {exc.message}",
        type=TEMPLATE_ERROR,
        details={"field": field},
    )


def is_undefined(exc: TemplateRenderError) -> bool:
    """Did rendering fail only because a referenced value does not exist?"""
    return isinstance(exc.__cause__, UndefinedError)


def render_config(
    model: type[NodeConfig], raw: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    skip = untemplated_fields(model)
    try:
        return {
            key: value if key in skip else render_value(value, context, key)
            for key, value in raw.items()
        }
    except TemplateRenderError as exc:
        raise template_failure(exc) from exc


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def validate_config(model: type[NodeConfig], rendered: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(rendered)
    except ValidationError as exc:
        problems = [
            {"field": _location(error["loc"]), "message": error["msg"]} for error in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise NodeRunError(
            f"invalid config after rendering templates: {summary}",
            type=CONFIG_ERROR,
            details={"errors": problems},
        ) from exc


def prepare_config(
    model: type[NodeConfig], raw: dict[str, Any], context: Mapping[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The default preparation: render every templated string, then validate."""
    rendered = render_config(model, raw, context)
    return validate_config(model, rendered), rendered
