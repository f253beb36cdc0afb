"""Plaintext of a node's credential, from the credentials service over `credentials.rpc`.

The executor shows the grant the orchestrator signed into `node.ready` (or, for the AI
generate-config helper, one issued for that request); the credentials service checks it and
answers with the data. Every failure becomes a NodeRunError saying whether a retry can help:

- not found (deleted since the graph was saved): no;
- forbidden (forged, altered, for something else): no, except an expired grant, since the
  next attempt is dispatched with a fresh one;
- no reply within `PORTICO_CREDENTIALS_TIMEOUT_S`, or the service's database unreachable: yes.

Plaintext is never logged and never in an error: replies are parsed without echoing them (a
pydantic ValidationError would quote the input), and nothing here logs a reply.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import socket
import time

from pydantic import ValidationError

from portico_contracts.credentials import ResolveCredential, ResolvedCredential
from portico_contracts.messages import NodeReady
from portico_contracts.queries import RpcError, RpcReply
from portico_contracts.topology import CREDENTIALS_RPC_QUEUE_NAME
from portico_executors.errors import NodeRunError
from portico_executors.rpc_client import NoAnswerError, RpcClient

# Pause before asking again after a quick failure (nobody serving the queue, broker trouble).
RETRY_PAUSE_S = 0.3


def process_requester() -> str:
    """Who asks, for the credentials service's access audit."""
    return f"executor@{socket.gethostname()}:{os.getpid()}"[-200:]


def _unavailable(reason: str) -> NodeRunError:
    return NodeRunError(
        f"the credentials service did not answer ({reason}); the node will be retried",
        type="CredentialsUnavailable",
        retryable=True,
    )


def grant_has_expired(grant: str, now: float | None = None) -> bool:
    """Whether the grant's own payload says it has expired. Read without checking the
    signature: it only decides whether a refusal is worth a retry, never grants anything."""
    payload = grant.partition(".")[0]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires_at = float(claims["expires_at"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        return False
    return expires_at < (time.time() if now is None else now)


def _refused(error: RpcError, credential_id: str, grant: str) -> NodeRunError:
    if error.code == "not_found":
        return NodeRunError(
            f"credential {credential_id} does not exist (deleted?); pick another one for "
            "this node and save the workflow",
            type="CredentialNotFound",
        )
    if error.code == "forbidden":
        if "expired" in error.message.lower() or grant_has_expired(grant):
            return NodeRunError(
                f"the grant to read credential {credential_id} has expired; the next "
                "attempt gets a fresh one",
                type="CredentialGrantExpired",
                retryable=True,
            )
        return NodeRunError(
            f"reading credential {credential_id} was refused: {error.message}",
            type="CredentialForbidden",
        )
    if error.code == "unavailable":
        return _unavailable(error.message)
    return NodeRunError(
        f"the credentials service could not resolve {credential_id} "
        f"({error.code}: {error.message})",
        type="CredentialError",
    )


def credential_from_reply(body: bytes, credential_id: str, grant: str) -> ResolvedCredential:
    """The credential in a `credentials.rpc` reply, or the NodeRunError it amounts to."""
    try:
        reply = RpcReply.model_validate_json(body)
        if reply.error is not None:
            raise _refused(reply.error, credential_id, grant)
        resolved = ResolvedCredential.model_validate(reply.result)
    except ValidationError:  # its text would quote the reply, plaintext included
        raise NodeRunError(
            f"the credentials service sent an unreadable reply for {credential_id}",
            type="CredentialError",
        ) from None
    if resolved.id != credential_id:
        raise NodeRunError(
            f"the credentials service answered for {resolved.id}, not {credential_id}",
            type="CredentialError",
        )
    return resolved


class CredentialsClient:
    """The executors' CredentialSource: resolves over a connection of its own."""

    def __init__(
        self,
        amqp_url: str,
        timeout_s: float = 10.0,
        retries: int = 2,
        requester: str | None = None,
    ) -> None:
        self.rpc = RpcClient(amqp_url, CREDENTIALS_RPC_QUEUE_NAME)
        self.timeout_s = timeout_s
        self.retries = retries
        self.requester = requester or process_requester()

    async def resolve(self, ready: NodeReady) -> ResolvedCredential:
        if ready.credential_id is None:
            raise NodeRunError(f"node {ready.node_id} names no credential", type="CredentialError")
        if not ready.credential_grant:
            raise NodeRunError(
                f"node.ready for node {ready.node_id} names credential {ready.credential_id} "
                "but carries no grant to read it (an orchestrator without "
                "PORTICO_GRANT_SIGNING_KEY?)",
                type="CredentialGrantMissing",
            )
        return await self.resolve_with_grant(
            tenant_id=ready.tenant_id,
            credential_id=ready.credential_id,
            execution_id=ready.execution_id,
            node_id=ready.node_id,
            grant=ready.credential_grant,
        )

    async def resolve_with_grant(
        self, *, tenant_id: str, credential_id: str, execution_id: str, node_id: str, grant: str
    ) -> ResolvedCredential:
        try:
            request = ResolveCredential(
                tenant_id=tenant_id,
                credential_id=credential_id,
                execution_id=execution_id,
                node_id=node_id,
                grant=grant,
                requester=self.requester,
            )
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
            raise NodeRunError(
                f"cannot ask for credential {credential_id[:100]!r}: invalid {fields}",
                type="CredentialError",
            ) from None
        body = await self._ask(request.model_dump_json().encode())
        return credential_from_reply(body, credential_id, grant)

    async def _ask(self, request: bytes) -> bytes:
        """Ask up to 1 + retries times, all within timeout_s in total (connecting included)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._ask_repeatedly(request)
        except TimeoutError:  # NoReplyError is handled inside: this is the overall bound
            raise _unavailable(f"no reply within {self.timeout_s:g} s") from None

    async def _ask_repeatedly(self, request: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        asks_left = self.retries + 1
        while True:
            left = deadline - loop.time()
            try:
                return await self.rpc.ask(request, max(left / asks_left, 0.05))
            except NoAnswerError as exc:
                problem = str(exc)  # never a body: see RpcClient.ask
            asks_left -= 1
            left = deadline - loop.time()
            if asks_left <= 0 or left <= RETRY_PAUSE_S:
                raise _unavailable(problem)
            await asyncio.sleep(RETRY_PAUSE_S)

    async def close(self) -> None:
        await self.rpc.close()
