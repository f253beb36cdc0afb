"""Portico orchestrator service."""
