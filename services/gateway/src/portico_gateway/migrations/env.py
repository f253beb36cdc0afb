"""Alembic environment of the `gateway` schema."""

from portico_contracts.migrations import run_schema_migrations
from portico_gateway.models import SCHEMA, Base

run_schema_migrations(SCHEMA, Base.metadata)
