"""Thin Celery tasks of the engine: start a job, run one step, watch for stalled jobs."""
from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from pipelines import engine, router  # noqa: F401 (imported before the pool forks)

logger = logging.getLogger(__name__)


@shared_task(name="pipelines.job_run", ignore_result=True)
def job_run(job_id: str) -> None:
    engine.job_start(job_id=job_id)


@shared_task(bind=True, name=engine.STEP_TASK, ignore_result=True)
def step_run(self: Task, step_id: int) -> None:
    outcome = engine.step_execute(step_id=step_id, task_id=self.request.id, worker=self.request.hostname or "")
    if outcome.retry_in_s is not None:
        raise self.retry(countdown=outcome.retry_in_s, max_retries=None)
    if not outcome.continue_chain:
        self.request.chain = None  # the rest of this branch must not run after this step


@shared_task(name="pipelines.watchdog", ignore_result=True)
def watchdog() -> dict[str, Any]:
    actions = {}
    for job in engine.stalled_jobs():
        actions[str(job.id)] = engine.job_redrive(job=job)
        logger.warning("watchdog re-drove a stalled job: %s", actions[str(job.id)], extra={"job_id": job.id})
    return actions
