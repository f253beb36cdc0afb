"""How a node run fails. Outside the `nodes` package so that rendering (which the runners
use) can raise them without importing every runner."""

from __future__ import annotations

from typing import Any


class NodeRunError(Exception):
    """The node failed in a way the runner understood; becomes `NodeResult.error`."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "NodeError",
        retryable: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.retryable = retryable
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised inside a sandbox worker and re-raised here: keep every field, not just args.
        return _rebuild, (self.message, self.type, self.retryable, self.details)


def _rebuild(
    message: str, type: str, retryable: bool, details: dict[str, Any] | None
) -> NodeRunError:
    return NodeRunError(message, type=type, retryable=retryable, details=details)


class Interrupted(Exception):  # noqa: N818 - a signal, not an error
    """The executor is shutting down mid-run; the delivery goes back to the queue unanswered.

    Only raised where giving up is free: a wait re-delivered later resumes from its deadline.
    """
