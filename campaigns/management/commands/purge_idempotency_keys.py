"""Delete idempotency records older than ADFAME_IDEMPOTENCY_TTL_HOURS (beat also runs this hourly)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from campaigns.services import idempotency_records_purge


class Command(BaseCommand):
    help = "Delete expired Idempotency-Key records."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"deleted {idempotency_records_purge()} expired idempotency record(s)")
