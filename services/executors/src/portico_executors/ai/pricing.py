"""What a model call cost, in USD, from the tokens it used.

A built-in table gives USD per million input and output tokens of well-known models (list
prices when this was written). The operator overrides or extends it with `PORTICO_AI_PRICES`
(a JSON object `{"model-prefix": {"input": usd_per_million, "output": usd_per_million}}`) or
`PORTICO_AI_PRICES_FILE` (a file holding such an object); entries of the variable win over the
file's, and both over the built-in ones. A model is priced by the longest prefix of its name
that the table knows ("gpt-4o-mini-2024-07-18" is "gpt-4o-mini"); an unknown one costs 0.0
and is reported as not priced. Imported by config.py: keep it free of the node runners.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from portico_contracts.ai import TokenUsage

PRICES_ENV = "PORTICO_AI_PRICES"
PRICES_FILE_ENV = "PORTICO_AI_PRICES_FILE"
_MILLION = 1_000_000


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    input: float = Field(ge=0, le=100_000)
    output: float = Field(ge=0, le=100_000)


def _price(input_usd: float, output_usd: float) -> ModelPrice:
    return ModelPrice(input=input_usd, output=output_usd)


BUILT_IN_PRICES: Mapping[str, ModelPrice] = {
    # OpenAI
    "gpt-4o": _price(2.50, 10.00),
    "gpt-4o-mini": _price(0.15, 0.60),
    "gpt-4.1": _price(2.00, 8.00),
    "gpt-4.1-mini": _price(0.40, 1.60),
    "gpt-4.1-nano": _price(0.10, 0.40),
    "gpt-5": _price(1.25, 10.00),
    "gpt-5-mini": _price(0.25, 2.00),
    "gpt-5-nano": _price(0.05, 0.40),
    "o1": _price(15.00, 60.00),
    "o3": _price(2.00, 8.00),
    "o3-mini": _price(1.10, 4.40),
    "o4-mini": _price(1.10, 4.40),
    # Anthropic
    "claude-3-haiku": _price(0.25, 1.25),
    "claude-3-5-haiku": _price(0.80, 4.00),
    "claude-haiku-4-5": _price(1.00, 5.00),
    "claude-3-5-sonnet": _price(3.00, 15.00),
    "claude-3-7-sonnet": _price(3.00, 15.00),
    "claude-sonnet-4": _price(3.00, 15.00),
    "claude-opus-4": _price(15.00, 75.00),
    "claude-opus-4-5": _price(5.00, 25.00),
    # Google
    "gemini-1.5-flash": _price(0.075, 0.30),
    "gemini-1.5-pro": _price(1.25, 5.00),
    "gemini-2.0-flash": _price(0.10, 0.40),
    "gemini-2.0-flash-lite": _price(0.075, 0.30),
    "gemini-2.5-flash": _price(0.30, 2.50),
    "gemini-2.5-flash-lite": _price(0.10, 0.40),
    "gemini-2.5-pro": _price(1.25, 10.00),
}

PriceTable = dict[str, ModelPrice]
_TABLE = TypeAdapter(PriceTable)


def parse_prices(raw: str | bytes, source: str) -> PriceTable:
    """A price table from JSON; ValueError naming `source` and the entry that is wrong."""
    try:
        return _TABLE.validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise ValueError(
            f"{source} must be a JSON object of model prefix to "
            f'{{"input": usd_per_million, "output": usd_per_million}}: {problems}'
        ) from None


def read_price_file(path: Path) -> PriceTable:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{PRICES_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    return parse_prices(raw, f"{PRICES_FILE_ENV} ({path})")


@dataclass(frozen=True, slots=True)
class Cost:
    usd: float
    priced: bool
    prefix: str | None = None


class PriceBook:
    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        table = {**BUILT_IN_PRICES, **(overrides or {})}
        # Longest first, so the first prefix that matches is the most specific one.
        self._by_length = sorted(
            ((prefix.lower(), price) for prefix, price in table.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def lookup(self, model: str) -> tuple[str, ModelPrice] | None:
        name = model.lower().removeprefix("models/")  # Gemini may name it as a resource
        for prefix, price in self._by_length:
            if name.startswith(prefix):
                return prefix, price
        return None

    def cost(self, usage: TokenUsage, *models: str) -> Cost:
        """Priced by the first of `models` the table knows (the name the provider reported,
        then the one asked for)."""
        for model in models:
            found = self.lookup(model)
            if found is not None:
                prefix, price = found
                usd = usage.input_tokens * price.input + usage.output_tokens * price.output
                return Cost(round(usd / _MILLION, 10), True, prefix)
        return Cost(0.0, False)


def dumps_table(table: Mapping[str, ModelPrice]) -> str:
    """JSON of a table, in the shape PORTICO_AI_PRICES takes (for docs and tests)."""
    return json.dumps({prefix: price.model_dump() for prefix, price in table.items()})
