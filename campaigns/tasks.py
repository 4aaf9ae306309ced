"""Periodic upkeep of the campaigns app, run by celery beat."""
from __future__ import annotations

from celery import shared_task

from campaigns.services import idempotency_records_purge


@shared_task(name="campaigns.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
