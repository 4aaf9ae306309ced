"""Structured logging: one JSON object a line, carrying job, step and workspace ids when given."""
from __future__ import annotations

import json
import logging

# Context fields a call may attach with `extra={...}`; anything else in `extra` is ignored.
CONTEXT_FIELDS = ("job_id", "step_id", "workspace_id", "api_key_prefix", "request_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
