"""A CredentialSource that hands every node the same plaintext, for tests of what nodes do
with a credential (the credentials service's own path is tested end to end by the e2e suite)."""

from __future__ import annotations

from typing import Any

from portico_contracts.credentials import ResolvedCredential
from portico_contracts.messages import NodeReady

CREDENTIAL_ID = "cred_" + "ab" * 16


class StaticCredentials:
    def __init__(self, credential_type: str, data: dict[str, Any]) -> None:
        self.credential_type = credential_type
        self.data = data
        self.asked: list[NodeReady] = []

    async def resolve(self, ready: NodeReady) -> ResolvedCredential:
        self.asked.append(ready)
        return ResolvedCredential(
            id=ready.credential_id or "", type=self.credential_type, data=self.data
        )
