"""Reads of the jobs app, every one scoped to a workspace."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import Product, Workspace
from jobs.models import Asset, Job, JobKind, JobStatus, JobStep, Stage, StepStatus


def jobs_for_workspace(
    *,
    workspace: Workspace,
    status: str | None = None,
    campaign_id: object | None = None,
    output_mode: str | None = None,
    kind: str | None = None,
) -> QuerySet[Job]:
    jobs = Job.objects.filter(workspace=workspace)
    if status:
        jobs = jobs.filter(status=status)
    if campaign_id:
        jobs = jobs.filter(campaign_id=campaign_id)
    if output_mode:
        jobs = jobs.filter(output_mode=output_mode)
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs.order_by("-created_at", "id")


def job_get_for_workspace(*, workspace: Workspace, job_id: object) -> Job:
    return get_object_or_404(Job.objects.filter(workspace=workspace), pk=job_id)


def steps_for_job(*, job: Job) -> QuerySet[JobStep]:
    return JobStep.objects.filter(job=job).order_by("position", "scene")


def step_summary(*, job: Job) -> dict[str, int]:
    counts = dict(steps_for_job(job=job).order_by().values_list("status").annotate(n=Count("id")))
    summary = {status: counts.get(status, 0) for status in StepStatus.values}
    summary["total"] = sum(counts.values())
    return summary


def assets_for_job(*, job: Job) -> QuerySet[Asset]:
    return Asset.objects.filter(job=job).order_by("created_at", "id")


def job_error(*, job: Job) -> dict[str, Any] | None:
    if not (job.error or job.failed_stage):
        return None
    return {"stage": job.failed_stage or None, "scene": job.failed_scene, "detail": job.error}


def job_root(*, job: Job) -> Job:
    """The first job of a retry chain (the one whose rows hold the whole plan)."""
    while job.retry_of_id is not None:
        job = Job.objects.get(pk=job.retry_of_id)
    return job


def product_setup_checkpoint(*, product: Product) -> dict[str, Any] | None:
    """The latest finished product setup's analysis, for later jobs' snapshots."""
    step = (
        JobStep.objects.filter(
            job__product=product,
            job__kind=JobKind.PRODUCT_SETUP,
            job__status=JobStatus.SUCCEEDED,
            stage=Stage.PRODUCT_ANALYSIS,
            status=StepStatus.SUCCEEDED,
        )
        .order_by("-job__finished_at")
        .first()
    )
    if step is None:
        return None
    return {
        "job_id": str(step.job_id),
        "neutral_image": step.outputs["files"]["neutral"],
        "colors": step.outputs.get("colors", []),
        "category": step.outputs.get("category", "general"),
        "og": step.outputs.get("og", {}),
        "subject": step.outputs.get("subject", {}),
    }
