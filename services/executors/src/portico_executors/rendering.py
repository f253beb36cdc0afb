"""Render a node's config templates right before it runs, then validate the result.

Templates and validation fail the node for good (retryable=False): running the same config
against the same context again cannot turn out differently. Rendering runs in a sandbox
worker (see sandbox.py) within a time, memory and size limit; a config without any template
only needs validating and skips the round trip, and so does one whose templates are all
plain lookups (`{{ trigger.v }}`): their work is bounded by the path, and the round trip
(about 0.13 ms of CPU here, pickling the context both ways) costs far more than the lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from functools import cache
from typing import Any

from jinja2.exceptions import UndefinedError
from pydantic import ValidationError

from portico_contracts.node_config import NodeConfig
from portico_contracts.templates import (
    TemplateRenderError,
    is_lookup,
    is_template,
    render_value,
)
from portico_executors.config import Settings
from portico_executors.errors import NodeRunError
from portico_executors.sandbox import SandboxLimitError, SandboxPool

TEMPLATE_ERROR = "TemplateError"
TEMPLATE_LIMIT = "TemplateLimit"
CONFIG_ERROR = "InvalidConfig"

# The setting that raises each sandbox limit but time (which depends on the job), by kind.
# A worker that dies mid-job has almost always hit its memory cap (RLIMIT_AS can also abort
# the interpreter outright instead of raising MemoryError).
LIMIT_SETTINGS = {
    "memory": "PORTICO_SANDBOX_MEMORY_MB",
    "crash": "PORTICO_SANDBOX_MEMORY_MB",
    "output": "PORTICO_MAX_RENDERED_BYTES",
}

PrepareFunction = Callable[
    [type[NodeConfig], dict[str, Any], Mapping[str, Any]], tuple[Any, dict[str, Any]]
]


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


def limit_failure(
    exc: SandboxLimitError, what: str, error_type: str, time_setting: str
) -> NodeRunError:
    """A node failure naming the bound that was broken and the setting that raises it."""
    setting = time_setting if exc.kind == "time" else LIMIT_SETTINGS[exc.kind]
    return NodeRunError(
        f"{what} {exc.detail} (the limit is set by {setting})",
        type=error_type,
        details={"limit": exc.kind, "setting": setting},
    )


class RenderWork(IntEnum):
    """What rendering a config takes, from least to most."""

    NONE = 0  # no template: nothing to render
    LOOKUPS = 1  # only whole-field variable paths: bounded work, done right here
    CODE = 2  # anything else may loop or allocate: a sandbox worker


def _template_work(value: Any) -> RenderWork:
    if isinstance(value, str):
        if not is_template(value):
            return RenderWork.NONE
        return RenderWork.LOOKUPS if is_lookup(value) else RenderWork.CODE
    if isinstance(value, dict | Mapping):  # dict first: the common case skips the ABC check
        return _most_work(value.values())
    if isinstance(value, list | tuple):
        return _most_work(value)
    return RenderWork.NONE


def _most_work(values: Iterable[Any]) -> RenderWork:
    work = RenderWork.NONE
    for value in values:
        found = _template_work(value)
        if found is RenderWork.CODE:
            return found
        work = max(work, found)
    return work


def rendering_work(model: type[NodeConfig], raw: Mapping[str, Any]) -> RenderWork:
    skip = untemplated_fields(model)
    work = RenderWork.NONE
    for key, value in raw.items():
        found = RenderWork.NONE if key in skip else _template_work(value)
        if found is RenderWork.CODE:
            return found
        work = max(work, found)
    return work


async def prepare_bounded(
    prepare: PrepareFunction,
    model: type[NodeConfig],
    raw: dict[str, Any],
    context: Mapping[str, Any],
    sandbox: SandboxPool,
    settings: Settings,
) -> tuple[Any, dict[str, Any]]:
    """`prepare` in a sandbox worker when a template may compute, else right here."""
    work = rendering_work(model, raw)
    if work is RenderWork.NONE:
        return prepare(model, raw, context)
    try:
        if work is RenderWork.LOOKUPS:
            return sandbox.run_here(prepare, model, raw, context)
        return await sandbox.run(
            prepare, model, raw, context, time_limit_s=settings.template_timeout_s
        )
    except SandboxLimitError as exc:
        raise limit_failure(
            exc, "rendering the node's templates", TEMPLATE_LIMIT, "PORTICO_TEMPLATE_TIMEOUT_S"
        ) from exc
