"""Write paths of the jobs app: submitting a resolved contract, cancelling a job."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from adfame.problems import Problem
from callbacks.models import EventType
from campaigns.models import Workspace
from jobs.contracts import JobSpec
from jobs.dispatch import job_dispatch
from jobs.events import job_event, job_events_emit
from jobs.models import Job, JobStatus, JobStep, StepStatus


@transaction.atomic
def job_submit(*, workspace: Workspace, spec: JobSpec) -> Job:
    """Store a queued job, record job.accepted, and hand it to the engine once that commits."""
    job = Job.objects.create(
        workspace=workspace,
        kind=spec.kind,
        status=JobStatus.QUEUED,
        campaign=spec.campaign,
        product=spec.product,
        retry_of=spec.retry_of,
        output_mode=spec.output_mode,
        payload=spec.payload,
        metadata=spec.metadata,
        snapshot=spec.snapshot,
        callback_url=spec.callback_url,
    )
    job_events_emit(job, [job_event(job, EventType.JOB_ACCEPTED)])
    transaction.on_commit(lambda: job_dispatch(job_id=job.id))
    return job


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    """Cancel a queued or running job; cancelling a cancelled job is a no-op."""
    now = timezone.now()
    changed = Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, cancel_requested_at=now, finished_at=now, updated_at=now
    )
    job.refresh_from_db()
    if changed:
        JobStep.objects.filter(job=job, status=StepStatus.PENDING).update(status=StepStatus.CANCELLED)
        job_events_emit(job, [job_event(job, EventType.JOB_CANCELLED)])
    elif job.status != JobStatus.CANCELLED:
        raise Problem(
            409,
            "job-finished",
            "Job already finished",
            f"Job {job.id} has already {job.status}; there is nothing to cancel.",
        )
    return job
