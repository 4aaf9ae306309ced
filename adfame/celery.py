"""The Celery app: one queue per capability, settings for long GPU work."""
from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adfame.settings")

# One queue per capability, so GPU workers consume only the work their hardware suits.
QUEUES = ("orchestrator", "image", "video", "speech", "text", "media", "fidelity", "callbacks")
ORCHESTRATOR_QUEUE = "orchestrator"

app = Celery("adfame")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
    task_default_queue=ORCHESTRATOR_QUEUE,
    task_default_exchange=ORCHESTRATOR_QUEUE,
    task_default_routing_key=ORCHESTRATOR_QUEUE,
    # A step is acknowledged only when it has finished, and redelivered if its worker dies.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "purge-idempotency-records": {"task": "campaigns.purge_idempotency_records", "schedule": 3600.0},
    },
)
app.autodiscover_tasks()
