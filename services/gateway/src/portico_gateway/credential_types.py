"""The credential catalogue the editor builds its credential forms from, and the gateway's own
check of a credential's `data` before it is sent anywhere.

Each type's data schema marks its secret fields `writeOnly` with `format: password`, so a form
renders them as password inputs. A field counts as secret unless it is listed as plain: a type
added later is safe before anyone thinks about its fields.
"""

from __future__ import annotations

from typing import Any

from portico_contracts.credentials import (
    CREDENTIAL_TYPES,
    CredentialData,
    CredentialDataError,
    parse_credential_data,
)
from portico_contracts.nodes import NODE_TYPES
from portico_gateway.errors import InvalidRequestError
from portico_gateway.json_safety import has_unstorable_characters
from portico_gateway.schemas import CredentialTypeView

# Fields that configure how a secret is used rather than being one.
PLAIN_FIELDS = frozenset({"base_url", "username", "name", "algorithm"})


def data_schema(model: type[CredentialData]) -> dict[str, Any]:
    schema = model.model_json_schema()
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for field, prop in properties.items():
        if field not in PLAIN_FIELDS:
            prop["writeOnly"] = True
            prop["format"] = "password"
    return schema


def _catalogue() -> list[CredentialTypeView]:
    return [
        CredentialTypeView(
            name=info.name,
            label=info.label,
            data_schema=data_schema(info.data_model),
            node_types=[
                node.name for node in NODE_TYPES.values() if info.name in node.credential_types
            ],
        )
        for info in CREDENTIAL_TYPES.values()
    ]


# CREDENTIAL_TYPES is fixed at import time, so the schemas are computed once.
CATALOGUE = _catalogue()


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _split(problem: str) -> tuple[str, str]:
    field, _, message = problem.partition(": ")
    return (field, message) if message else ("data", field)


def check_data(credential_type: str, data: dict[str, Any]) -> None:
    """Raise InvalidRequestError naming each field of `data` that does not fit its type.

    Nothing of `data` is quoted, not even the name of a field the type does not have: a
    secret pasted into the wrong place may be a key as easily as a value.
    """
    info = CREDENTIAL_TYPES.get(credential_type)
    if info is None:
        known = ", ".join(CREDENTIAL_TYPES)
        raise InvalidRequestError(
            f"type: unknown credential type; choose one of {known}",
            details=[_problem("type", f"choose one of {known}")],
        )
    fields = info.data_model.model_fields
    unknown = sum(1 for key in data if key not in fields)
    if unknown:
        message = (
            f"{unknown} field{'s' if unknown != 1 else ''} a {credential_type} credential "
            f"does not take; it takes only {', '.join(fields)}"
        )
        raise InvalidRequestError(f"data: {message}", details=[_problem("data", message)])
    try:
        parse_credential_data(credential_type, data)
    except CredentialDataError as exc:
        # Each problem reads "data.<field>: <what is wrong>".
        details = [_problem(*_split(problem)) for problem in exc.problems]
        raise InvalidRequestError(str(exc)[:2000], details=details) from None
    # Valid, yet not sendable: a lone surrogate cannot be encoded as UTF-8 (nor NUL stored).
    broken = [key for key, value in data.items() if _unsendable(value)]
    if broken:
        problems = [_problem(f"data.{key}", _UNSENDABLE) for key in broken]
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidRequestError(listed, details=problems)


_UNSENDABLE = "contains a NUL character or a lone surrogate"


def _unsendable(value: object) -> bool:
    return isinstance(value, str) and has_unstorable_characters(value)
