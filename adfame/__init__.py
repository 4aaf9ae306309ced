"""AdFame: the Django project (settings, URLs, the Celery app)."""
from __future__ import annotations

from adfame.celery import app as celery_app

__all__ = ["celery_app"]
