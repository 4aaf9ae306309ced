"""Delete idempotency records older than ADFAME_IDEMPOTENCY_TTL_HOURS (at least 24 h)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from campaigns.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records."

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(hours=settings.ADFAME_IDEMPOTENCY_TTL_HOURS)
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"deleted {deleted} idempotency record(s) older than {cutoff.isoformat()}")
