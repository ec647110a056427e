"""Pipelines: compositions of the stages (DESIGN §1)."""
