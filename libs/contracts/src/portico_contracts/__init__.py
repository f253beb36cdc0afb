"""Portico contracts: the workflow graph, node configs, messages and topology names.

The only code the services share.
"""
