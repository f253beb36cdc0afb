"""What the Stripe and Google Forms presets add to a webhook's trigger output."""

from __future__ import annotations

from portico_gateway.webhook_presets import shaped

STRIPE_EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "checkout.session.completed",
    "livemode": False,
    "created": 1_733_300_000,
    "data": {"object": {"id": "cs_1", "amount_total": 4200, "currency": "eur"}},
}


def test_stripe_events_are_unpacked() -> None:
    output = shaped("stripe", {"method": "POST", "body": STRIPE_EVENT})
    assert output["event_type"] == "checkout.session.completed"
    assert output["object"]["amount_total"] == 4200
    assert output["body"] == STRIPE_EVENT


def test_google_forms_answers_become_an_object() -> None:
    body = {
        "formId": "f1",
        "responseId": "r1",
        "timestamp": "2026-12-04T10:00:00Z",
        "answers": [{"question": "Name", "answer": "Ada"}, {"question": "Plan", "answer": "pro"}],
    }
    output = shaped("google_forms", {"body": body})
    assert output["answers"] == {"Name": "Ada", "Plan": "pro"}
    assert (output["form_id"], output["response_id"]) == ("f1", "r1")


def test_an_unexpected_body_adds_nothing() -> None:
    raw = {"method": "POST", "body": "not json"}
    assert shaped("stripe", raw) == raw
    assert shaped("google_forms", {"body": {"answers": "?"}}) == {"body": {"answers": "?"}}
    assert shaped("none", {"body": STRIPE_EVENT}) == {"body": STRIPE_EVENT}
