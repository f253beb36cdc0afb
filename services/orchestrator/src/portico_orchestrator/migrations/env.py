"""Alembic environment of the `orchestrator` schema."""

from portico_contracts.migrations import run_schema_migrations
from portico_orchestrator.models import SCHEMA, metadata

run_schema_migrations(SCHEMA, metadata)
