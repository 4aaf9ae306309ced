"""Write paths of the predictions app's event ingestion: register an uploaded CSV, then process it.

`ingestion_create` stores the file and hands the ingestion to a worker once its row is committed;
`ingestion_process` runs it (in the worker's task, or synchronously in `manage.py ingest_events`).
"""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Workspace
from predictions.ingestion import IngestionFailed, ProgressCallback, ingest
from predictions.models import EventIngestion, IngestionStatus

INGEST_TASK = "predictions.ingest_events"
INGEST_QUEUE = "media"
# Statuses a run may (re)start from: a worker that died mid-way committed nothing to the events table.
_RESTARTABLE = (IngestionStatus.PENDING, IngestionStatus.VALIDATING, IngestionStatus.LOADING)

logger = logging.getLogger(__name__)


@transaction.atomic
def ingestion_create(*, workspace: Workspace, upload: File, enqueue: bool = True) -> EventIngestion:
    """Store an uploaded CSV as a pending ingestion; a worker processes it once this commits.

    `enqueue=False` leaves it for the caller to process (the ingest_events command does so itself).
    """
    original_name = os.path.basename(upload.name or "")[:255]
    ingestion = EventIngestion(workspace=workspace, original_name=original_name, size_bytes=upload.size or 0)
    upload.seek(0)
    ingestion.file = default_storage.save(f"ingestions/{workspace.id}/{ingestion.id}.csv", upload)
    ingestion.save()
    if enqueue:
        transaction.on_commit(lambda: ingestion_dispatch(ingestion_id=ingestion.id))
    return ingestion


def ingestion_dispatch(*, ingestion_id: uuid.UUID) -> None:
    from adfame.celery import app

    try:
        app.send_task(INGEST_TASK, args=[str(ingestion_id)], queue=INGEST_QUEUE)
    except Exception:  # the row stays pending; sending the task again (or the command) picks it up
        logger.exception("could not publish an event ingestion", extra={"ingestion_id": str(ingestion_id)})


def ingestion_process(*, ingestion_id: uuid.UUID | str, progress: ProgressCallback | None = None) -> EventIngestion:
    """Validate and load one ingestion, ending SUCCEEDED or FAILED; returns it as it ended.

    Runs at most once at a time per ingestion (a PostgreSQL advisory lock, held by the session, so
    a worker that dies releases it). A finished ingestion is returned untouched, which makes a
    redelivered task harmless; one left VALIDATING or LOADING by a dead worker starts over, which
    is safe because loading and SUCCEEDED commit together (see predictions.ingestion).
    """
    ingestion_id = uuid.UUID(str(ingestion_id))
    with _exclusive(ingestion_id) as acquired:
        if not acquired:
            logger.info("event ingestion already running elsewhere", extra={"ingestion_id": str(ingestion_id)})
            return EventIngestion.objects.get(pk=ingestion_id)
        claimed = EventIngestion.objects.filter(pk=ingestion_id, status__in=_RESTARTABLE).update(
            status=IngestionStatus.VALIDATING,
            started_at=timezone.now(),
            finished_at=None,
            rows_total=0,
            rows_accepted=0,
            rows_rejected=0,
            rejected_sample=[],
            error="",
        )
        ingestion = EventIngestion.objects.get(pk=ingestion_id)
        if not claimed:
            return ingestion
        try:
            ingest(ingestion=ingestion, progress=progress)
        except IngestionFailed as failure:
            _fail(ingestion, str(failure))
        except Exception as exc:
            logger.exception("event ingestion failed unexpectedly", extra={"ingestion_id": str(ingestion_id)})
            _fail(ingestion, f"The ingestion failed unexpectedly ({type(exc).__name__}); nothing was loaded.")
            raise
        return ingestion


def _fail(ingestion: EventIngestion, error: str) -> None:
    ingestion.status, ingestion.error, ingestion.finished_at = IngestionStatus.FAILED, error, timezone.now()
    EventIngestion.objects.filter(pk=ingestion.pk).update(
        status=ingestion.status, error=error, finished_at=ingestion.finished_at
    )


@contextmanager
def _exclusive(ingestion_id: uuid.UUID) -> Iterator[bool]:
    """Hold a session-level advisory lock named after the ingestion; yields whether it was free."""
    if connection.vendor != "postgresql":
        yield True  # the SQLite demo runs one worker
        return
    key = int.from_bytes(ingestion_id.bytes[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
