"""The hand-off from the API to the pipeline engine: one message on the orchestrator queue.

The engine's worker consumes `pipelines.job_run` and builds the job's canvas from its rows. A
publish that fails (broker down) leaves the job `queued`; the engine's watchdog re-drives it.
"""
from __future__ import annotations

import logging
import uuid

from adfame.celery import ORCHESTRATOR_QUEUE, app

ENGINE_TASK = "pipelines.job_run"

logger = logging.getLogger(__name__)


def job_dispatch(*, job_id: uuid.UUID) -> None:
    try:
        app.send_task(ENGINE_TASK, args=[str(job_id)], queue=ORCHESTRATOR_QUEUE)
    except Exception:  # the job row is the truth; a lost publish only delays it
        logger.exception("could not publish job to the engine", extra={"job_id": job_id})
