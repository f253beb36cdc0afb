"""A node config written by a model from a plain-English description (generate-config).

The model is shown the node type's description and the JSON Schema of its config, asked for
`{"config": {...}, "explanation": "..."}`, and its config is checked the way a saved graph's
is: the type's config model, then every templated string must parse. A config that fails is
sent back with its problems, up to `GENERATE_CONFIG_TRIES` tries in all; then the request
fails as `invalid_request` listing the last problems. Nothing is saved.

Failures are `GenerateConfigError`s with an RpcError code: a provider failure worth asking
again (rate limit, outage) is `unavailable`, any other is `invalid_request`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from portico_contracts.ai import GENERATE_CONFIG_TRIES, GenerateConfig, GeneratedConfig, TokenUsage
from portico_contracts.credentials import CredentialDataError, ModelProviderKey, ResolvedCredential
from portico_contracts.nodes import NODE_TYPES, NodeType
from portico_contracts.templates import template_errors
from portico_executors.ai.protocol import ChatProvider, ChatReply, ChatRequest, Turn
from portico_executors.ai.providers import make_provider
from portico_executors.ai.structured import parse_json_text
from portico_executors.errors import NodeRunError

DEFAULT_MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.0-flash",
}
MAX_ANSWER_TOKENS = 4096
MAX_PROBLEMS_SHOWN = 20
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "config": {"type": "object"},
        "explanation": {"type": "string"},
    },
    "required": ["config", "explanation"],
}
ErrorCode = Literal["invalid_request", "unavailable", "forbidden", "not_found"]


class GenerateConfigError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def system_prompt(node_type: NodeType) -> str:
    schema = json.dumps(node_type.json_schema(), separators=(",", ":"))
    return (
        "You write the configuration of one node of a Portico workflow.\n"
        f"Node type `{node_type.name}` ({node_type.label}): {node_type.description}\n"
        f"Its config must satisfy this JSON Schema:\n{schema}\n"
        "String values are Jinja templates unless the schema marks them "
        '"x-portico-template": false. Templates may read `trigger` (the trigger\'s '
        "output), `nodes.<node id>.output`, `input` (the outputs of the node's "
        "predecessors) and `execution` (id, workflow_id, started_at), for example "
        '"{{ trigger.email }}". Use them where the description refers to earlier data.\n'
        'Answer with one JSON object, {"config": {...}, "explanation": "..."}, and nothing '
        "else; the explanation says in one or two sentences what the config does."
    )


def config_problems(node_type: NodeType, config: dict[str, Any]) -> list[str]:
    """Why `config` would not be saved for a node of this type (empty: it would)."""
    problems: list[str] = []
    try:
        node_type.config_model.model_validate(config)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in ("config", *error["loc"]))
            problems.append(f"{where}: {error['msg']}")
    untemplated = node_type.config_model.untemplated_fields()
    templated = {key: value for key, value in config.items() if key not in untemplated}
    problems += [f"{path}: {reason}" for path, reason in template_errors(templated, "config")]
    return problems


def answer_problems(node_type: NodeType, text: str) -> tuple[dict[str, Any], str, list[str]]:
    """(config, explanation, problems) of one answer."""
    try:
        answer = parse_json_text(text)
    except ValueError as exc:
        return {}, "", [str(exc)]
    if not isinstance(answer, dict) or not isinstance(answer.get("config"), dict):
        return {}, "", ['the answer must be a JSON object with an object "config"']
    explanation = answer.get("explanation")
    config: dict[str, Any] = answer["config"]
    problems = config_problems(node_type, config)
    if not isinstance(explanation, str):
        problems.append('"explanation" must be a string')
    return config, explanation if isinstance(explanation, str) else "", problems


def correction(problems: list[str]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN])
    return (
        "That config would be refused:\n"
        f"{listed}\n"
        'Fix every problem and answer again with the whole JSON object {"config", "explanation"}.'
    )


async def _ask(provider: ChatProvider, request: ChatRequest) -> ChatReply:
    try:
        return await provider.complete(request)
    except NodeRunError as exc:
        code: ErrorCode = "unavailable" if exc.retryable else "invalid_request"
        raise GenerateConfigError(code, exc.message) from None


def provider_key(request: GenerateConfig, credential: ResolvedCredential) -> ModelProviderKey:
    if credential.type != request.provider:
        raise GenerateConfigError(
            "invalid_request",
            f"credential {credential.id} is a {credential.type} credential, not "
            f"{request.provider}; pick a {request.provider} credential or change provider",
        )
    try:
        key = credential.parsed()
    except CredentialDataError as exc:  # names fields, never values
        raise GenerateConfigError(
            "invalid_request", f"credential {credential.id} holds invalid data: {exc}"
        ) from None
    assert isinstance(key, ModelProviderKey)
    return key


def node_type_of(name: str) -> NodeType:
    node_type = NODE_TYPES.get(name)
    if node_type is None:
        known = ", ".join(sorted(NODE_TYPES))
        raise GenerateConfigError(
            "invalid_request", f"unknown node_type '{name}'; choose one of {known}"
        )
    return node_type


async def generate_config(
    request: GenerateConfig,
    credential: ResolvedCredential,
    http: httpx.AsyncClient,
    timeout_s: float,
) -> GeneratedConfig:
    node_type = node_type_of(request.node_type)
    key = provider_key(request, credential)
    model = request.model or DEFAULT_MODELS[request.provider]
    provider = make_provider(request.provider, key, http, timeout_s)
    chat = ChatRequest(
        model=model,
        turns=(Turn("user", request.description),),
        system=system_prompt(node_type),
        max_tokens=MAX_ANSWER_TOKENS,
        json_schema=ANSWER_SCHEMA,
    )
    usage = TokenUsage()
    problems: list[str] = []
    for tries in range(1, GENERATE_CONFIG_TRIES + 1):
        reply = await _ask(provider, chat)
        usage = usage + reply.usage
        config, explanation, problems = answer_problems(node_type, reply.text)
        if not problems:
            return GeneratedConfig(
                config=config, explanation=explanation, tries=tries, model=reply.model, usage=usage
            )
        previous = Turn("assistant", reply.text or "(empty answer)")
        chat = chat.followed_by(previous, Turn("user", correction(problems)))
    listed = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    raise GenerateConfigError(
        "invalid_request",
        f"the model did not produce a valid {node_type.name} config in "
        f"{GENERATE_CONFIG_TRIES} tries; last problems: {listed}. Describe the node "
        "more precisely and try again",
    )
