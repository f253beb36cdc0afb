"""`StatusEvents`, the one message carrying a transaction's status events, and what a
`status.*` routing key may carry (`StatusMessage`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from portico_contracts.messages import (
    NodeError,
    StatusEvent,
    StatusEvents,
    StatusMessage,
    encode_status_events,
    status_events_id,
)

STATUS_MESSAGE: TypeAdapter[StatusMessage] = TypeAdapter(StatusMessage)
AT = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _event(seq: int, execution_id: str = "e", **fields: object) -> StatusEvent:
    values: dict[str, object] = {
        "tenant_id": "t",
        "execution_id": execution_id,
        "workflow_id": "w",
        "seq": seq,
        "type": "node.succeeded",
        "at": AT,
        "node_id": "n",
        "status": "succeeded",
        **fields,
    }
    return StatusEvent.model_validate(values)


def _encoded(*events: StatusEvent) -> list[tuple[StatusEvent, str]]:
    return [(event, event.model_dump_json()) for event in events]


def test_the_spliced_body_is_the_models_own_encoding() -> None:
    events = [
        _event(4, output={"text": "héllo ☃", "n": [1.5, None, True]}, attempt=2),
        _event(5, type="node.failed", status="failed", error=NodeError(message="x")),
        _event(6, type="execution.failed", status="failed", node_id=None),
    ]
    message_id, body = encode_status_events(_encoded(*events))
    batch = StatusEvents(
        message_id=message_id, tenant_id="t", execution_id="e", workflow_id="w", events=events
    )
    assert body == batch.model_dump_json()
    assert StatusEvents.model_validate_json(body) == batch


def test_the_message_id_is_derived_from_the_execution_and_its_seqs() -> None:
    message_id, _ = encode_status_events(_encoded(_event(1), _event(2), _event(3)))
    again, _ = encode_status_events(_encoded(_event(1), _event(2), _event(3)))
    assert message_id == again == status_events_id("e", 1, 3)
    assert status_events_id("e", 1, 2) != message_id
    assert status_events_id("other", 1, 3) != message_id


def test_a_batch_holds_consecutive_events_of_its_own_execution_only() -> None:
    head = {"message_id": "m", "tenant_id": "t", "execution_id": "e", "workflow_id": "w"}
    StatusEvents.model_validate({**head, "events": [_event(7), _event(8)]})
    for events, reason in (
        ([], "at least 1 item"),
        ([_event(8), _event(7)], "out of order"),
        ([_event(7), _event(9)], "out of order"),
        ([_event(7), _event(8, execution_id="other")], "another execution"),
    ):
        with pytest.raises(ValidationError, match=reason):
            StatusEvents.model_validate({**head, "events": events})


def test_a_status_key_carries_a_batch_or_a_single_event() -> None:
    _, body = encode_status_events(_encoded(_event(1), _event(2)))
    batch = STATUS_MESSAGE.validate_json(body)
    assert isinstance(batch, StatusEvents)
    assert [event.seq for event in batch.events] == [1, 2]

    event = _event(3)
    assert STATUS_MESSAGE.validate_json(event.model_dump_json()) == event

    with pytest.raises(ValidationError):
        STATUS_MESSAGE.validate_json(b'{"schema_version": 1, "tenant_id": "t"}')
