"""What every node config model shares (kept apart so `nodes` and `triggers` both build on it).

String fields are Jinja templates unless marked `NOT_TEMPLATED` (a JSONata expression, say):
the executors render every other string right before the node runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

NOT_TEMPLATED: dict[str, Any] = {"x-portico-template": False}
MAX_JSON_SCHEMA_BYTES = 64 * 1024  # an AI node's json_schema


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def untemplated_fields(cls) -> frozenset[str]:
        return frozenset(
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("x-portico-template") is False
        )
