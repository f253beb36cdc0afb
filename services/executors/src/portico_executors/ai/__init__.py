"""Language models for the `ai` node and the `executors.ai.rpc` (generate-config) surface.

Kept free of imports: config.py reads `pricing` without pulling in the SDKs.
"""
