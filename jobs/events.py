"""The payloads of job events, and their hand-off to the callback outbox.

Every function that changes a job's state calls `job_events_emit` in the same transaction, right
after its UPDATE of the job row (which holds the row's lock and so orders the job's events).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from callbacks.models import EventType
from callbacks.services import events_record
from jobs.models import Asset, Job

# The files a client came for; job.completed lists these (asset.created announced every file).
OUTPUT_ROLES = ("final", "poster", "captions", "bundle", "manifest", "contact_sheet", "neutral", "reference_sheet")


def public_url(path_or_url: str) -> str:
    return path_or_url if "://" in path_or_url else settings.ADFAME_PUBLIC_URL + path_or_url


def asset_data(asset: Asset) -> dict[str, Any]:
    return {
        "id": str(asset.id),
        "kind": asset.kind,
        "role": asset.role,
        "url": public_url(default_storage.url(asset.file.name)),
        "content_type": asset.content_type,
        "size_bytes": asset.size_bytes,
        "sha256": asset.sha256,
        "scene": asset.scene,
        "aspect_ratio": asset.aspect_ratio,
        "width": asset.width,
        "height": asset.height,
        "duration_s": asset.duration_s,
    }


def job_event(
    job: Job,
    type_: str,
    *,
    stage: str | None = None,
    scene: int | None = None,
    assets: Iterable[Asset] = (),
) -> tuple[str, dict[str, Any]]:
    """One event about a job as it is now; `sequence` is filled in when it is recorded."""
    error = None
    if job.status == "failed":
        error = {"stage": job.failed_stage or None, "scene": job.failed_scene, "detail": job.error}
    return type_, {
        "job_id": str(job.id),
        "sequence": None,
        "kind": job.kind,
        "output_mode": job.output_mode or None,
        "status": job.status,
        "progress": job.progress,
        "stage": stage if stage is not None else (job.current_stage or None),
        "scene": scene,
        "campaign_id": str(job.campaign_id) if job.campaign_id else None,
        "product_id": str(job.product_id) if job.product_id else None,
        "retry_of": str(job.retry_of_id) if job.retry_of_id else None,
        "metadata": job.metadata,
        "assets": [asset_data(asset) for asset in assets],
        "error": error,
        "links": {"job": public_url(f"/api/v1/jobs/{job.id}")},
    }


def job_events_emit(job: Job, events: list[tuple[str, dict[str, Any]]]) -> None:
    events_record(workspace_id=job.workspace_id, job_id=job.id, callback_url=job.callback_url, events=events)


def job_completed_event(job: Job) -> tuple[str, dict[str, Any]]:
    outputs = Asset.objects.filter(job=job, role__in=OUTPUT_ROLES).order_by("created_at", "id")
    return job_event(job, EventType.JOB_COMPLETED, assets=outputs)
