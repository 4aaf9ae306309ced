"""Pipelines: the durable step engine and one file per output mode (filled by the engine issue)."""
