"""The provider adapter for a node's `provider`, built per call from its credential.

Each SDK is imported on first use: together they take seconds to import, which an executor
that runs no `ai` node should not pay at start-up.
"""

from __future__ import annotations

import httpx

from portico_contracts.credentials import ModelProviderKey
from portico_executors.ai.protocol import ChatProvider

PROVIDERS = ("openai", "anthropic", "gemini")


def make_provider(
    name: str, key: ModelProviderKey, http: httpx.AsyncClient, timeout_s: float
) -> ChatProvider:
    """An SDK client for one call: cheap to build, and no key outlives the run it served."""
    if name == "openai":
        from portico_executors.ai.openai_provider import OpenAiProvider

        return OpenAiProvider(key, http, timeout_s)
    if name == "anthropic":
        from portico_executors.ai.anthropic_provider import AnthropicProvider

        return AnthropicProvider(key, http, timeout_s)
    if name == "gemini":
        from portico_executors.ai.gemini_provider import GeminiProvider

        return GeminiProvider(key, http, timeout_s)
    raise ValueError(f"unknown AI provider {name!r}; choose one of {', '.join(PROVIDERS)}")


def preload(names: tuple[str, ...] = PROVIDERS) -> None:
    """Import the SDKs now (at start-up of an executor running `ai`), not in the first run."""
    for name in names:
        __import__(f"portico_executors.ai.{name}_provider")
