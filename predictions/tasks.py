"""Thin Celery task of the predictions app: process one uploaded events CSV on the media queue."""
from __future__ import annotations

import logging

from celery import shared_task

from predictions import services
from predictions.models import EventIngestion

logger = logging.getLogger(__name__)


@shared_task(name=services.INGEST_TASK, queue=services.INGEST_QUEUE, ignore_result=True)
def ingest_events(ingestion_id: str) -> str:
    try:
        ingestion = services.ingestion_process(ingestion_id=ingestion_id)
    except EventIngestion.DoesNotExist:  # deleted (its workspace with it) before a worker got to it
        logger.warning("event ingestion not found", extra={"ingestion_id": ingestion_id})
        return "missing"
    return ingestion.status
