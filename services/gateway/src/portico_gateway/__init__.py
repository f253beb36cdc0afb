"""Portico gateway service."""
