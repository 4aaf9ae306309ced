"""Settings for the test suite: the project's settings, on PostgreSQL and RabbitMQ, never SQLite.

Each default below may be overridden from the environment (CI and developers' machines alike).
"""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/adfame")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
os.environ.setdefault("ADFAME_DATA_DIR", tempfile.mkdtemp(prefix="adfame-test-"))
os.environ.setdefault("ADFAME_LOG_FORMAT", "text")
# Small, fast media and a quick engine clock: the integration tests run real workers.
os.environ.setdefault("ADFAME_OUTPUT_SHORT_SIDE", "270")
os.environ.setdefault("ADFAME_OUTPUT_FPS", "12")
os.environ.setdefault("ADFAME_HEARTBEAT_S", "1")
os.environ.setdefault("ADFAME_STALL_TIMEOUT_S", "6")
os.environ.setdefault("ADFAME_WATCHDOG_INTERVAL_S", "2")
os.environ.setdefault("ADFAME_STEP_RETRY_INITIAL_S", "1")
os.environ.setdefault("ADFAME_ALLOW_LOOPBACK_URLS", "1")
# Webhook retries compressed from three days to a few seconds, swept every second.
os.environ.setdefault("ADFAME_WEBHOOK_RETRY_SCHEDULE", "0.2s,0.4s,0.6s,0.8s,1s,1s,1s,1s,1s")
os.environ.setdefault("ADFAME_WEBHOOK_TIMEOUT_S", "2")
os.environ.setdefault("ADFAME_WEBHOOK_SWEEP_INTERVAL_S", "1")
os.environ.setdefault("ADFAME_WEBHOOK_SWEEP_GRACE_S", "2")

from adfame.settings import *  # noqa: E402,F403
