"""FastStream settings every Portico consumer shares, measured on the per-message hot path.

Brokers run with `apply_types=False`: FastDepends would resolve each `Context` parameter of a
handler in a worker thread, about 0.5 ms of CPU per message here. Subscribers take
`decoder=undecoded` instead, so a handler receives the message itself and parses its bytes
with pydantic directly (a body that is not even JSON still reaches our code).
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage


async def undecoded(message: StreamMessage[Any]) -> StreamMessage[Any]:
    # Async on purpose: FastStream runs a plain function in a worker thread.
    return message
