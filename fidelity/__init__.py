"""Fidelity: scoring scene assets against the product and bounded regeneration (filled by the adapters issue)."""
