"""The Celery app: one queue per capability, settings for long GPU work."""
from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adfame.settings")

# One queue per capability, so GPU workers consume only the work their hardware suits.
QUEUES = ("orchestrator", "image", "video", "speech", "text", "media", "fidelity", "callbacks")
ORCHESTRATOR_QUEUE = "orchestrator"

app = Celery("adfame")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes the database connection around every task unless told to reuse
# it; a fresh connection per step would cost more than most steps' bookkeeping.
app.conf["CELERY_DB_REUSE_MAX"] = 1000
app.conf.update(
    task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
    task_default_queue=ORCHESTRATOR_QUEUE,
    task_default_exchange=ORCHESTRATOR_QUEUE,
    task_default_routing_key=ORCHESTRATOR_QUEUE,
    task_routes={"callbacks.*": {"queue": "callbacks"}},
    # A step is acknowledged only when it has finished, and redelivered if its worker dies.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # The rows hold every step's state and outputs; Celery's own results would be a second copy.
    task_ignore_result=True,
)
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.worker_process_init.connect
def _relax_commits_in_workers(**kwargs: object) -> None:
    """Step bookkeeping commits without waiting for the disk (ADFAME_WORKER_SYNCHRONOUS_COMMIT).

    Other sessions see each commit at once; only a PostgreSQL crash can lose the last moments of
    them, and a step whose success is lost simply runs again. API requests keep full durability.
    """
    from django.db.backends.signals import connection_created

    connection_created.connect(_set_synchronous_commit, dispatch_uid="adfame-synchronous-commit")


def _set_synchronous_commit(sender: object, connection: object, **kwargs: object) -> None:
    from django.conf import settings

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO %s", [settings.ADFAME_WORKER_SYNCHRONOUS_COMMIT])
