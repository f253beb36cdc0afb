"""What AI nodes report (token usage), and the executors' `executors.ai.rpc` surface: a node
config written by a model from a plain-English description (`POST /api/ai/generate-config`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AiProvider = Literal["openai", "anthropic", "gemini"]
# Tries the model gets to produce a config that validates; each retry is shown the errors.
GENERATE_CONFIG_TRIES = 3


class TokenUsage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class GenerateConfig(BaseModel):
    """Sent by the gateway with a grant the orchestrator signed for this one request."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_id: str = Field(min_length=1, max_length=100)
    node_type: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=4000)
    provider: AiProvider
    model: str | None = Field(default=None, min_length=1, max_length=200)
    credential_id: str = Field(max_length=100)
    # What the grant names in place of an execution and a node (see grants.py).
    execution_id: str = Field(max_length=200)
    node_id: str = Field(max_length=200)
    grant: str = Field(max_length=4096)


class GeneratedConfig(BaseModel):
    config: dict[str, Any]
    explanation: str
    tries: int = Field(ge=1)
    model: str
    usage: TokenUsage
