"""Portico credentials service."""
