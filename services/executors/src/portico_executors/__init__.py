"""Portico executors service."""
