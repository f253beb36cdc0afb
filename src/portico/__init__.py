"""Portico command line."""
