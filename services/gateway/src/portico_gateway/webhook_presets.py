"""Presets for well-known webhook senders: the trigger output gains the fields a workflow
wants from their events, named the same every time, next to the raw request.

- `stripe`: Stripe's event envelope (`{"id", "type", "livemode", "created", "data":
  {"object": …}}`), signed with `Stripe-Signature` (auth type `stripe`, the endpoint's
  `whsec_…` secret as an `hmac_secret` credential). Adds `event_id`, `event_type`,
  `livemode`, `created` and `object`.
- `google_forms`: Google Forms has no webhooks of its own; the form's Apps Script posts each
  submission (see docs/ARCHITECTURE.md for the script) as `{"formId", "responseId",
  "timestamp", "answers": [{"question", "answer"}…]}` with a shared token header (auth type
  `header`). Adds `form_id`, `response_id`, `submitted_at` and `answers` as an object of
  question → answer.

A body that does not have the expected shape adds nothing: the raw request is still there.
"""

from __future__ import annotations

from typing import Any, Literal

Preset = Literal["none", "stripe", "google_forms"]


def _stripe(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return {}
    return {
        "event_id": body.get("id"),
        "event_type": body.get("type"),
        "livemode": body.get("livemode"),
        "created": body.get("created"),
        "object": body["data"].get("object"),
    }


def _google_forms(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("answers"), list):
        return {}
    answers = {
        str(item["question"]): item.get("answer")
        for item in body["answers"]
        if isinstance(item, dict) and "question" in item
    }
    return {
        "form_id": body.get("formId"),
        "response_id": body.get("responseId"),
        "submitted_at": body.get("timestamp"),
        "answers": answers,
    }


def shaped(preset: Preset, output: dict[str, Any]) -> dict[str, Any]:
    """The trigger output with the preset's fields added (the request's own keys win)."""
    if preset == "stripe":
        extra = _stripe(output.get("body"))
    elif preset == "google_forms":
        extra = _google_forms(output.get("body"))
    else:
        extra = {}
    return {**extra, **output}
