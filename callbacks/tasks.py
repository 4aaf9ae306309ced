"""Thin Celery tasks of the outbox: send one delivery, sweep for deliveries that are due."""
from __future__ import annotations

from celery import shared_task

from callbacks import services


@shared_task(name=services.SEND_TASK, ignore_result=True)
def delivery_send(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="callbacks.sweep", ignore_result=True)
def sweep() -> int:
    return services.deliveries_sweep()
