"""Signing credential grants: the orchestrator vouches that this node run may read this
credential (see portico_contracts.grants). Only nodes that name a credential get one."""

from __future__ import annotations

import time
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portico_contracts.grants import GENERATE_CONFIG_PURPOSE, CredentialGrant, sign_grant


class GrantSigner:
    def __init__(self, key: Ed25519PrivateKey, ttl_s: float, request_ttl_s: float) -> None:
        self._key = key
        self.ttl_s = ttl_s
        self.request_ttl_s = request_ttl_s

    def for_node(
        self,
        tenant_id: str,
        execution_id: str,
        node_id: str,
        attempt: int,
        credential_id: str,
        deadline_s: float,
    ) -> str:
        # Valid while the node may run (its deadline) plus the time it may wait in a queue;
        # a node.ready the watchdog re-sends carries a fresh grant.
        grant = CredentialGrant(
            tenant_id=tenant_id,
            execution_id=execution_id,
            node_id=node_id,
            attempt=attempt,
            credential_id=credential_id,
            expires_at=time.time() + deadline_s + self.ttl_s,
        )
        return sign_grant(self._key, grant)

    def for_request(self, tenant_id: str, credential_id: str) -> CredentialGrant:
        """A grant for one request that is not a node run (generate-config)."""
        return CredentialGrant(
            tenant_id=tenant_id,
            execution_id=f"{GENERATE_CONFIG_PURPOSE}:{uuid.uuid4().hex}",
            node_id=GENERATE_CONFIG_PURPOSE,
            attempt=0,
            credential_id=credential_id,
            expires_at=time.time() + self.request_ttl_s,
        )

    def sign(self, grant: CredentialGrant) -> str:
        return sign_grant(self._key, grant)
