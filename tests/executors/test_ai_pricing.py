"""Pricing of model calls: the built-in table, longest-prefix matching, operator overrides
(PORTICO_AI_PRICES, PORTICO_AI_PRICES_FILE) validated at start-up; and JSON answer parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from portico_contracts.ai import TokenUsage
from portico_executors.ai.pricing import ModelPrice, PriceBook
from portico_executors.ai.structured import parse_json_text, schema_problem
from portico_executors.config import Settings

MILLION_EACH = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000, total_tokens=2_000_000)


@pytest.mark.parametrize(
    ("model", "prefix"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("o3", "o3"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4"),
        ("models/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("gemini-2.5-pro", "gemini-2.5-pro"),
    ],
)
def test_longest_prefix_wins(model: str, prefix: str) -> None:
    cost = PriceBook().cost(MILLION_EACH, model)
    assert cost.priced
    assert cost.prefix == prefix


def test_cost_is_per_million_tokens() -> None:
    cost = PriceBook().cost(MILLION_EACH, "gpt-4o-mini")
    assert cost.usd == pytest.approx(0.15 + 0.60)


def test_first_known_model_prices_unknown_ones_cost_nothing() -> None:
    book = PriceBook()
    assert book.cost(MILLION_EACH, "fine-tuned-thing", "gpt-4o").prefix == "gpt-4o"
    unknown = book.cost(MILLION_EACH, "llama-3-70b")
    assert unknown.usd == 0.0
    assert not unknown.priced


def test_overrides_from_env_and_file(tmp_path: Path) -> None:
    price_file = tmp_path / "prices.json"
    price_file.write_text(
        '{"gpt-4o": {"input": 1, "output": 1}, "my-llm": {"input": 3, "output": 4}}'
    )
    settings = Settings(
        ai_prices_file=price_file, ai_prices='{"gpt-4o": {"input": 7, "output": 8}}'
    )
    assert settings.ai_prices["gpt-4o"] == ModelPrice(input=7, output=8)  # env beats file
    assert settings.ai_prices["my-llm"] == ModelPrice(input=3, output=4)
    book = PriceBook(settings.ai_prices)
    assert book.cost(MILLION_EACH, "my-llm-v2").usd == pytest.approx(7.0)
    assert book.cost(MILLION_EACH, "gpt-4o-2024").usd == pytest.approx(15.0)
    assert book.cost(MILLION_EACH, "gpt-4o-mini").usd == pytest.approx(0.75)  # still built in


@pytest.mark.parametrize(
    "raw",
    ["not json", '{"gpt-4o": {"input": -1, "output": 1}}', '{"gpt-4o": {"input": 1}}', "[1]"],
)
def test_bad_price_variable_stops_start_up(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTICO_AI_PRICES", raw)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "PORTICO_AI_PRICES" in str(caught.value)
    assert caught.value.errors()[0]["loc"] == ("ai_prices",)


def test_bad_price_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(ai_prices_file=tmp_path / "missing.json")
    assert "PORTICO_AI_PRICES_FILE" in str(caught.value)
    bad = tmp_path / "bad.json"
    bad.write_text('{"gpt-4o": {"input": "cheap", "output": 1}}')
    with pytest.raises(ValidationError) as caught:
        Settings(ai_prices_file=bad)
    assert "PORTICO_AI_PRICES_FILE" in str(caught.value)
    assert "gpt-4o.input" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        '```json\n{"a": 1}\n```',
        'Here it is:\n```\n{"a": 1}\n```\nDone.',
    ],
)
def test_json_answers_tolerate_fences(text: str) -> None:
    assert parse_json_text(text) == {"a": 1}


def test_schema_problem_names_the_place() -> None:
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "integer"}}},
    }
    assert schema_problem(schema, {"items": [1, 2]}) is None
    problem = schema_problem(schema, {"items": [1, "two"]})
    assert problem is not None
    assert "['items'][1]" in problem
    assert "'two'" in problem
