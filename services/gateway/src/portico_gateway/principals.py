"""Who is calling, in one statement: the per-request lookups of the hot path.

Every authenticated request asks this, so it is lean: SQLAlchemy Core statements built once at
import (their compiled form and cache key are reused), executed on an autocommit connection
(no BEGIN/COMMIT round trips for a single read) and read as plain rows, not ORM objects. The
run endpoint asks for the caller and the workflow it runs in that same statement.

No principal cache: a logged-out session or a revoked key must stop working at once, on every
replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Select, and_, bindparam, null, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection

from portico_gateway.models import ApiKey, Session, User, Workflow
from portico_gateway.security import looks_like_api_key, sha256_hex
from portico_gateway.service import Principal, is_uuid, utcnow

# last_used_at is a hint, not an audit log: written at most once a minute per key, so that
# API-key traffic does not turn every read into a write.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_SESSION_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Credential:
    """What the caller showed: a session cookie's token or an API key's secret."""

    kind: Literal["session", "api_key"]
    secret: str


@dataclass(frozen=True)
class Caller:
    principal: Principal
    # The asked-for workflow's latest version; None when it is not the caller's (or missing).
    latest_version: int | None = None


# user id, tenant id, email, created at, API key id, its last use, the workflow's latest version
CallerSelect = Select[str, str, str, datetime, str | None, datetime | None, int | None]

_NO_KEY_ID = type_coerce(null(), ApiKey.id.type).label("key_id")
_NO_KEY_USE = type_coerce(null(), ApiKey.last_used_at.type).label("key_last_used_at")
_NO_WORKFLOW = type_coerce(null(), Workflow.latest_version.type).label("latest_version")
_WORKFLOW_OF_CALLER = and_(
    Workflow.tenant_id == User.tenant_id,
    Workflow.id == bindparam("workflow_id", type_=Workflow.id.type),
    Workflow.deleted_at.is_(None),
)


def _by_session(with_workflow: bool) -> CallerSelect:
    latest = Workflow.latest_version if with_workflow else _NO_WORKFLOW
    statement = (
        select(User.id, User.tenant_id, User.email, User.created_at, _NO_KEY_ID, _NO_KEY_USE)
        .add_columns(latest)
        .join(Session, Session.user_id == User.id)
        .where(
            Session.token_hash == bindparam("secret_hash"), Session.expires_at > bindparam("now")
        )
    )
    return statement.outerjoin(Workflow, _WORKFLOW_OF_CALLER) if with_workflow else statement


def _by_api_key(with_workflow: bool) -> CallerSelect:
    latest = Workflow.latest_version if with_workflow else _NO_WORKFLOW
    statement = (
        select(User.id, User.tenant_id, User.email, User.created_at, ApiKey.id)
        .add_columns(ApiKey.last_used_at, latest)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == bindparam("secret_hash"), ApiKey.revoked_at.is_(None))
    )
    return statement.outerjoin(Workflow, _WORKFLOW_OF_CALLER) if with_workflow else statement


_STATEMENTS: dict[tuple[str, bool], CallerSelect] = {
    ("session", False): _by_session(False),
    ("session", True): _by_session(True),
    ("api_key", False): _by_api_key(False),
    ("api_key", True): _by_api_key(True),
}
_TOUCH_API_KEY = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("key_id", type_=ApiKey.id.type))
    .values(last_used_at=bindparam("now"))
)


def plausible(credential: Credential) -> bool:
    """Worth a query? Malformed secrets are refused without asking the database."""
    if credential.kind == "api_key":
        return looks_like_api_key(credential.secret)
    return 0 < len(credential.secret) <= MAX_SESSION_TOKEN_CHARS


async def find_caller(
    connection: AsyncConnection, credential: Credential, workflow_id: str | None = None
) -> Caller | None:
    """The caller (and, with `workflow_id`, that workflow's latest version, if it is theirs
    and live); None when the credential opens nothing. Runs on an autocommit connection."""
    if not plausible(credential):
        return None
    with_workflow = workflow_id is not None and is_uuid(workflow_id)
    now = utcnow()
    params: dict[str, object] = {"secret_hash": sha256_hex(credential.secret), "now": now}
    if with_workflow:
        params["workflow_id"] = workflow_id
    result = await connection.execute(_STATEMENTS[(credential.kind, with_workflow)], params)
    row = result.one_or_none()
    if row is None:
        return None
    user_id, tenant_id, email, created_at, key_id, key_last_used_at, latest_version = row
    if key_id is not None and (
        key_last_used_at is None or now - key_last_used_at >= API_KEY_TOUCH_INTERVAL
    ):
        await connection.execute(_TOUCH_API_KEY, {"key_id": key_id, "now": now})
    principal = Principal(user_id, tenant_id, email, created_at, key_id)
    return Caller(principal, latest_version)
