"""Alembic environment of the `credentials` schema."""

from portico_contracts.migrations import run_schema_migrations
from portico_credentials.models import SCHEMA, metadata

run_schema_migrations(SCHEMA, metadata)
