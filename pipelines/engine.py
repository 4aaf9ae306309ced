"""The durable step engine: a job's rows are the truth, the Celery canvas is derived from them.

One function, `job_canvas`, builds the canvas from the rows: for a fresh job it is the whole
pipeline up to its first parallel per-scene segment, for a job with finished steps only what is
left. The last branch of a parallel segment to finish builds the canvas again, so nothing
depends on a chord or on a canvas link surviving a lost worker: the watchdog re-drives any job
whose rows show no live step, through the same function.

One generic step task runs every step: it claims the row with a conditional UPDATE (a row that
already succeeded returns its stored outputs without calling any provider), runs the stage,
stores outputs and assets, and marks the step succeeded and the job's progress in one
transaction.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import chain, group
from celery.canvas import Signature
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from adapters.base import AdapterError
from callbacks.models import EventType
from jobs.events import job_completed_event, job_event, job_events_emit
from jobs.models import Asset, Job, JobKind, JobStatus, JobStep, StepStatus

logger = logging.getLogger(__name__)

STEP_TASK = "pipelines.step_run"


# ---- pipelines: what a mode file declares ---------------------------------------------------------


@dataclass(frozen=True)
class OutputFile:
    """A file a stage produced, to be stored as an Asset and named in the step's outputs."""

    key: str  # the name under outputs["files"], e.g. "9:16" or "video:1:1"
    path: Path
    kind: str  # Asset.Kind
    role: str  # final, scene, poster, captions, voice, bundle, …
    content_type: str
    aspect_ratio: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


@dataclass
class StepResult:
    provider: str
    outputs: dict[str, Any] = field(default_factory=dict)
    files: list[OutputFile] = field(default_factory=list)


@dataclass(frozen=True)
class StageSpec:
    stage: str
    run: Callable[[StepContext], StepResult]
    queue: str  # the capability queue its step task is routed to
    per_scene: bool = False
    when: Callable[[dict[str, Any]], bool] | None = None  # planned only if true for the snapshot


@dataclass(frozen=True)
class Pipeline:
    name: str
    stages: tuple[StageSpec, ...]

    def plan(self, snapshot: dict[str, Any]) -> list[StageSpec]:
        return [spec for spec in self.stages if spec.when is None or spec.when(snapshot)]


@dataclass(frozen=True)
class PlannedStep:
    stage: str
    scene: int | None
    position: int
    segment: int  # consecutive per-scene stages share a segment; each job-level stage is its own

    def depends_on(self, other: PlannedStep) -> bool:
        """True if this step needs `other`'s outputs (directly or through the steps between)."""
        if other.position >= self.position:
            return False
        same_parallel_segment = self.segment == other.segment and self.scene is not None and other.scene is not None
        return not same_parallel_segment or self.scene == other.scene


def plan_steps(stages: list[StageSpec], scene_count: int) -> list[PlannedStep]:
    planned: list[PlannedStep] = []
    segment = -1
    for position, spec in enumerate(stages):
        previous_per_scene = position > 0 and stages[position - 1].per_scene
        if not (spec.per_scene and previous_per_scene):
            segment += 1
        scenes: list[int | None] = list(range(1, scene_count + 1)) if spec.per_scene else [None]
        planned += [PlannedStep(spec.stage, scene, position, segment) for scene in scenes]
    return planned


def rerun_closure(planned: list[PlannedStep], seeds: set[tuple[str, int | None]]) -> list[PlannedStep]:
    """The seeds and every planned step that depends on one of them, in plan order."""
    chosen = [step for step in planned if (step.stage, step.scene) in seeds]
    for step in planned:
        if step not in chosen and any(step.depends_on(seed) for seed in chosen):
            chosen.append(step)
    return sorted(chosen, key=lambda step: (step.position, step.scene or 0))


# ---- retry policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When and how soon a failed step is tried again: 1 s, x2, capped, bounded attempts."""

    initial_s: float
    backoff: float
    cap_s: float
    max_attempts: int

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            initial_s=settings.ADFAME_STEP_RETRY_INITIAL_S,
            backoff=2.0,
            cap_s=settings.ADFAME_STEP_RETRY_CAP_S,
            max_attempts=settings.ADFAME_STEP_MAX_ATTEMPTS,
        )

    def is_retryable(self, error: Exception) -> bool:
        # A provider says whether its error is permanent; anything unexpected is retried too,
        # within the attempt budget, since disks and networks fail transiently as well.
        return not (isinstance(error, AdapterError) and error.permanent)

    def delay_s(self, attempt: int) -> float:
        return min(self.cap_s, self.initial_s * self.backoff ** max(0, attempt - 1))


# ---- what a stage function sees ----------------------------------------------------------------


class StepContext:
    """A step's view of its job: the snapshot, earlier steps' outputs, files and scratch space."""

    def __init__(self, job: Job, step: JobStep, scratch: Path) -> None:
        self.job = job
        self.step = step
        self.scene = step.scene
        self.scratch = scratch
        self.snapshot: dict[str, Any] = job.snapshot
        self.settings: dict[str, Any] = job.snapshot.get("settings", {})

    @property
    def seed(self) -> int:
        # Stable per job, stage and scene, and different on each attempt of the same step.
        base = int(str(self.job.retry_of_id or self.job.id).replace("-", "")[:8], 16)
        return (base + 7919 * (self.scene or 0) + 104729 * (self.step.attempt - 1)) % (2**31)

    def outputs_of(self, stage: str, scene: int | None = None) -> dict[str, Any]:
        """Outputs of an earlier succeeded step of this job, or of the job it retries."""
        job_id: Any = self.job.id
        while job_id is not None:
            row = (
                JobStep.objects.filter(job_id=job_id, stage=stage, scene=scene, status=StepStatus.SUCCEEDED)
                .values_list("outputs", flat=True)
                .first()
            )
            if row is not None:
                return row
            job_id = Job.objects.filter(pk=job_id).values_list("retry_of_id", flat=True).first()
        raise AdapterError(f"No succeeded {stage} step (scene {scene}) to read from.", permanent=True)

    def materialize(self, storage_name: str) -> Path:
        """A local path to a stored file: the file itself on disk storage, a cached copy otherwise."""
        try:
            return Path(default_storage.path(storage_name))
        except NotImplementedError:
            target = Path(settings.DATA_DIR) / "cache" / storage_name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                with default_storage.open(storage_name, "rb") as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
            return target

    def path(self, name: str) -> Path:
        """A file in this step's scratch folder (made on first use, removed after the step)."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / name


# ---- starting and resuming: the canvas from the rows -----------------------------------------


def pipeline_of(job: Job) -> Pipeline:
    from pipelines.router import pipeline_for

    kind = job.snapshot.get("retry", {}).get("source_kind", job.kind) if job.kind == JobKind.RETRY else job.kind
    return pipeline_for(kind, job.output_mode)


def planned_for(job: Job) -> tuple[Pipeline, list[StageSpec], list[PlannedStep]]:
    pipeline = pipeline_of(job)
    stages = pipeline.plan(job.snapshot)
    scene_count = int(job.snapshot.get("settings", {}).get("scene_count", 0) or 0)
    return pipeline, stages, plan_steps(stages, scene_count)


# Starting a job on PostgreSQL is one statement: the status change from queued guards it (a
# duplicate job_run message inserts nothing) and the rows are created with it, atomically.
_START_SQL = """
WITH started AS (
    UPDATE jobs_job
       SET status = 'running', started_at = %(now)s, last_activity_at = %(now)s, updated_at = %(now)s,
           steps_total = %(total)s
     WHERE id = %(job_id)s AND status = 'queued'
 RETURNING id
)
INSERT INTO jobs_jobstep (job_id, stage, scene, position, status, attempt, provider, inputs, outputs,
                          error, history, celery_task_id, worker, created_at, dispatched_at)
SELECT started.id, planned.stage, planned.scene, planned.position, 'pending', 0, '', '{}', '{}',
       '', '[]', '', '', %(now)s, %(now)s
  FROM started, unnest(%(stages)s::text[], %(scenes)s::int[], %(positions)s::int[])
       AS planned(stage, scene, position)
RETURNING id, stage, scene, position
"""


def job_start(*, job_id: Any) -> None:
    """Create the job's step rows, mark it running, and publish its canvas once that commits."""
    job = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None:
        return  # unknown, already started (a duplicate message) or finished/cancelled
    now = timezone.now()
    rows = _rows_for(job, dispatched_at=now)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_START_SQL, {
                    "now": now, "job_id": job.pk, "total": len(rows),
                    "stages": [row.stage for row in rows], "scenes": [row.scene for row in rows],
                    "positions": [row.position for row in rows],
                })
                created = [
                    JobStep(id=id_, job=job, stage=stage, scene=scene, position=position, status=StepStatus.PENDING)
                    for id_, stage, scene, position in cursor.fetchall()
                ]
            if not created:
                return  # another job_run started it first
        else:
            if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
                status=JobStatus.RUNNING, started_at=now, last_activity_at=now, steps_total=len(rows)
            ) == 0:
                return
            created = JobStep.objects.bulk_create(rows)
        job.status, job.started_at, job.steps_total = JobStatus.RUNNING, now, len(rows)
        job_events_emit(job, [job_event(job, EventType.JOB_STARTED, stage=created[0].stage if created else None)])
    canvas = job_canvas(job, created)
    if canvas is not None:
        canvas.apply_async()


def _rows_for(job: Job, dispatched_at: Any) -> list[JobStep]:
    _, _, planned = planned_for(job)
    if job.kind == JobKind.RETRY:
        planned = _retry_rows(job, planned)
    return [
        JobStep(job=job, stage=p.stage, scene=p.scene, position=p.position, dispatched_at=dispatched_at)
        for p in planned
    ]


def _retry_rows(job: Job, planned: list[PlannedStep]) -> list[PlannedStep]:
    """What a retry re-runs: the chosen stage (one scene or all), anything the source did not
    finish, and every step that depends on those. The rest is read from the source job."""
    retry = job.snapshot["retry"]
    stage, scene = retry["stage"], retry.get("scene")
    seeds = {(p.stage, p.scene) for p in planned if p.stage == stage and (scene is None or p.scene == scene)}
    if not seeds:
        raise AdapterError(f"Stage {stage} (scene {scene}) is not part of this job's pipeline.", permanent=True)
    inherited = set()
    source_id: Any = job.retry_of_id
    while source_id is not None:
        inherited |= set(
            JobStep.objects.filter(job_id=source_id, status=StepStatus.SUCCEEDED).values_list("stage", "scene")
        )
        source_id = Job.objects.filter(pk=source_id).values_list("retry_of_id", flat=True).first()
    seeds |= {(p.stage, p.scene) for p in planned if (p.stage, p.scene) not in inherited}
    return rerun_closure(planned, seeds)


def job_canvas(job: Job, rows: list[JobStep] | None = None) -> Signature | None:
    """The work left in a job, as a Celery canvas built from its pending rows.

    Job-level steps chain one after another; a run of per-scene stages becomes a group of
    per-scene chains, and the canvas stops there: the branch that completes the segment last
    builds the rest (see `_segment_complete`). Branches with a live running step are left to it.
    """
    _, stages, _ = planned_for(job)
    per_scene = {spec.stage: spec.per_scene for spec in stages}
    queues = {spec.stage: spec.queue for spec in stages}
    if rows is None:
        rows = list(job.steps.filter(status__in=[StepStatus.PENDING, StepStatus.RUNNING]))
    rows = sorted(rows, key=lambda row: (row.position, row.scene or 0))
    parts: list[Signature] = []
    index = 0
    while index < len(rows):
        row = rows[index]
        if not per_scene[row.stage]:
            if row.status == StepStatus.RUNNING:
                break  # its own task carries the chain on
            parts.append(_step_signature(row, queues))
            index += 1
            continue
        segment_rows = []
        while index < len(rows) and per_scene[rows[index].stage]:
            segment_rows.append(rows[index])
            index += 1
        branches = []
        for scene in sorted({r.scene for r in segment_rows}):
            branch = [r for r in segment_rows if r.scene == scene]
            if all(r.status == StepStatus.PENDING for r in branch):
                branches.append(chain(*[_step_signature(r, queues) for r in branch]))
        if branches:
            parts.append(group(branches) if len(branches) > 1 else branches[0])
        break
    return chain(*parts) if parts else None


def _step_signature(row: JobStep, queues: dict[str, str]) -> Signature:
    from pipelines.tasks import step_run

    return step_run.si(row.pk).set(queue=queues[row.stage])


def job_publish(*, job: Job) -> bool:
    """Publish what is left of a job. Returns False when nothing was left to publish."""
    canvas = job_canvas(job)
    if canvas is None:
        return False
    now = timezone.now()
    JobStep.objects.filter(job=job, status=StepStatus.PENDING).update(dispatched_at=now)
    Job.objects.filter(pk=job.pk).update(last_activity_at=now)
    canvas.apply_async()
    return True


# ---- running one step --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the step task does next: go on along its chain, stop it, or retry after a delay."""

    continue_chain: bool
    retry_in_s: float | None = None


CONTINUE, STOP = Outcome(True), Outcome(False)

# One statement claims the row (pending, or running under this very task: a redelivery after
# a lost worker), marks the job's current stage and returns what the step needs of both rows.
# No row back means the step is someone else's, or already done.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE jobs_jobstep
       SET status = 'running', attempt = attempt + 1, started_at = %(now)s, heartbeat_at = %(now)s,
           finished_at = NULL, celery_task_id = %(task_id)s, worker = %(worker)s
     WHERE id = %(step_id)s
       AND (status = 'pending' OR (status = 'running' AND celery_task_id = %(task_id)s))
 RETURNING id, job_id, stage, scene, position, attempt, history
), marked AS (
    UPDATE jobs_job AS job SET current_stage = claimed.stage
      FROM claimed WHERE job.id = claimed.job_id AND job.current_stage <> claimed.stage
)
SELECT claimed.id, claimed.job_id, claimed.stage, claimed.scene, claimed.position, claimed.attempt,
       claimed.history, job.workspace_id, job.kind, job.status, job.output_mode, job.snapshot,
       job.retry_of_id, job.steps_total, job.campaign_id, job.product_id, job.metadata, job.callback_url
  FROM claimed JOIN jobs_job AS job ON job.id = claimed.job_id
"""


def _claim(step_id: int, task_id: str, worker: str, now: Any) -> tuple[Job, JobStep] | None:
    if connection.vendor != "postgresql":
        return _claim_portable(step_id, task_id, worker, now)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "task_id": task_id, "worker": worker, "step_id": step_id})
        row = cursor.fetchone()
    if row is None:
        return None
    (id_, job_id, stage, scene, position, attempt, history, workspace_id, kind, status, output_mode, snapshot,
     retry_of_id, steps_total, campaign_id, product_id, metadata, callback_url) = row
    job = Job(id=job_id, workspace_id=workspace_id, kind=kind, status=status, output_mode=output_mode,
              snapshot=_json(snapshot), retry_of_id=retry_of_id, steps_total=steps_total, campaign_id=campaign_id,
              product_id=product_id, metadata=_json(metadata), callback_url=callback_url)
    step = JobStep(id=id_, job=job, stage=stage, scene=scene, position=position, attempt=attempt,
                   history=_json(history), status=StepStatus.RUNNING, started_at=now, celery_task_id=task_id,
                   worker=worker)
    return job, step


def _claim_portable(step_id: int, task_id: str, worker: str, now: Any) -> tuple[Job, JobStep] | None:
    """The same claim in three ORM statements, for SQLite (the zero-configuration demo)."""
    claimed = (
        JobStep.objects.filter(pk=step_id)
        .filter(Q(status=StepStatus.PENDING) | Q(status=StepStatus.RUNNING, celery_task_id=task_id))
        .update(status=StepStatus.RUNNING, attempt=F("attempt") + 1, started_at=now, heartbeat_at=now,
                finished_at=None, celery_task_id=task_id, worker=worker)
    )
    if not claimed:
        return None
    step = JobStep.objects.select_related("job").get(pk=step_id)
    Job.objects.filter(pk=step.job_id).exclude(current_stage=step.stage).update(current_stage=step.stage)
    return step.job, step


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def step_execute(*, step_id: int, task_id: str, worker: str) -> Outcome:
    now = timezone.now()
    claimed = _claim(step_id, task_id, worker, now)
    if claimed is None:
        # Succeeded already (a redelivered or duplicated message): its outputs stand, go on.
        status = JobStep.objects.filter(pk=step_id).values_list("status", flat=True).first()
        return CONTINUE if status == StepStatus.SUCCEEDED else STOP
    job, step = claimed
    if job.status in JobStatus.terminal():
        JobStep.objects.filter(pk=step.pk, celery_task_id=task_id).update(status=StepStatus.CANCELLED, finished_at=now)
        return STOP

    log_context = {"job_id": job.id, "step_id": step.id, "workspace_id": job.workspace_id}
    spec = stage_spec(job, step.stage)
    scratch = Path(settings.DATA_DIR) / "scratch" / f"step-{step.id}-a{step.attempt}"
    started = time.perf_counter()
    try:
        with _heartbeat(step.pk):
            result = spec.run(StepContext(job, step, scratch))
        stored = _store_files(job, step, result.files)
        outcome = _succeed(job, step, result, stored, task_id)
    except Exception as error:
        logger.warning("step failed: %s %s: %s", step.stage, step.scene or "", error, extra=log_context)
        return _fail_or_retry(step, error, task_id)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    logger.info(
        "step succeeded: %s %s in %.3f s", step.stage, step.scene or "", time.perf_counter() - started, extra=log_context
    )
    return outcome


def stage_spec(job: Job, stage: str) -> StageSpec:
    return next(spec for spec in pipeline_of(job).stages if spec.stage == stage)


class _Heartbeats:
    """One thread per worker process touches the heartbeat of the steps running in it."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, step_id: int) -> None:
        with self.lock:
            self.running.add(step_id)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._beat, name="step-heartbeats", daemon=True)
                self.thread.start()

    def discard(self, step_id: int) -> None:
        with self.lock:
            self.running.discard(step_id)

    def _beat(self) -> None:
        while True:
            time.sleep(settings.ADFAME_HEARTBEAT_S)
            with self.lock:
                ids = list(self.running)
            if ids:
                try:
                    JobStep.objects.filter(pk__in=ids, status=StepStatus.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:  # a database blip: the next beat tries again
                    logger.exception("heartbeat failed")
                    close_old_connections()


_heartbeats = _Heartbeats()


@contextmanager
def _heartbeat(step_id: int) -> Iterator[None]:
    _heartbeats.add(step_id)
    try:
        yield
    finally:
        _heartbeats.discard(step_id)


def _store_files(job: Job, step: JobStep, files: list[OutputFile]) -> list[tuple[OutputFile, str, str, int]]:
    """Save a step's files to storage before its transaction: (file, storage name, sha256, size)."""
    stored = []
    scene = f"-{step.scene:02d}" if step.scene else ""
    folder = f"jobs/{job.workspace_id}/{job.id}/{step.stage}{scene}/a{step.attempt}"
    for output in files:
        digest = hashlib.sha256()
        with open(output.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            handle.seek(0)
            name = default_storage.save(f"{folder}/{output.path.name}", File(handle))
        stored.append((output, name, digest.hexdigest(), output.path.stat().st_size))
    return stored


def _history_entry(step: JobStep, outcome: str, error: str = "") -> dict[str, Any]:
    return {
        "attempt": step.attempt,
        "task_id": step.celery_task_id,
        "worker": step.worker,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "finished_at": timezone.now().isoformat(),
        "outcome": outcome,
        "error": error[:2000],
    }


class _TakenOver(Exception):
    """The step was handed to another task while this one ran; this one's result is dropped."""


# A job-level step without files finishes in one statement: nothing of its job runs beside it.
_SUCCEED_JOB_LEVEL_SQL = """
WITH step AS (
    UPDATE jobs_jobstep
       SET status = 'succeeded', outputs = %(outputs)s, provider = %(provider)s, error = '',
           finished_at = %(now)s, history = %(history)s
     WHERE id = %(step_id)s AND status = 'running' AND celery_task_id = %(task_id)s
 RETURNING id
)
UPDATE jobs_job
   SET steps_done = steps_done + 1,
       progress = LEAST(100, ROUND(100.0 * (steps_done + 1) / GREATEST(steps_total, 1))),
       status = CASE WHEN steps_done + 1 >= steps_total AND status = 'running' THEN 'succeeded' ELSE status END,
       finished_at = CASE WHEN steps_done + 1 >= steps_total AND status = 'running' THEN %(now)s ELSE finished_at END,
       current_stage = CASE WHEN steps_done + 1 >= steps_total AND status = 'running' THEN '' ELSE current_stage END,
       last_activity_at = %(now)s, updated_at = %(now)s
 WHERE id = %(job_id)s AND EXISTS (SELECT 1 FROM step)
RETURNING status, progress, finished_at
"""


def _succeed(
    job: Job, step: JobStep, result: StepResult, stored: list[tuple[OutputFile, str, str, int]], task_id: str
) -> Outcome:
    now = timezone.now()
    outputs = {**result.outputs, "files": {output.key: name for output, name, _, _ in stored}}
    history = [*step.history, _history_entry(step, "succeeded")]
    if step.scene is None and not stored and connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_SUCCEED_JOB_LEVEL_SQL, {
                    "outputs": json.dumps(outputs), "provider": result.provider, "now": now,
                    "history": json.dumps(history), "step_id": step.pk, "task_id": task_id, "job_id": job.pk,
                })
                row = cursor.fetchone()
            if row is None:
                return STOP  # taken over by another task
            job.status, job.progress, job.finished_at = row
            if job.status in (JobStatus.RUNNING, JobStatus.SUCCEEDED):
                _emit_step_events(job, step, [])
        return CONTINUE if job.status == JobStatus.RUNNING else STOP
    try:
        with transaction.atomic():
            # The job row's UPDATE comes first: it locks the row, which serialises the steps of
            # one job that finish together, so exactly one of them sees its segment complete.
            Job.objects.filter(pk=job.pk).update(steps_done=F("steps_done") + 1, last_activity_at=now, updated_at=now)
            status, done, total = Job.objects.filter(pk=job.pk).values_list("status", "steps_done", "steps_total").get()
            updated = JobStep.objects.filter(pk=step.pk, status=StepStatus.RUNNING, celery_task_id=task_id).update(
                status=StepStatus.SUCCEEDED,
                outputs=outputs,
                provider=result.provider,
                error="",
                finished_at=now,
                history=history,
            )
            if not updated:
                raise _TakenOver
            assets = Asset.objects.bulk_create(_assets(job, step, stored)) if stored else []
            if status in JobStatus.terminal():
                return STOP  # cancelled while this step ran: keep its work, start nothing new
            finished = done >= total
            fields: dict[str, Any] = {"progress": round(100 * done / total) if total else 100}
            if finished:
                fields.update(status=JobStatus.SUCCEEDED, finished_at=now, current_stage="")
            Job.objects.filter(pk=job.pk).update(**fields)
            job.status, job.progress = fields.get("status", status), fields["progress"]
            _emit_step_events(job, step, assets)
            if finished:
                return STOP
            if step.scene is not None and not _segment_open(job, step):
                # The last branch of a parallel segment to finish builds the rest of the job.
                transaction.on_commit(lambda: job_publish(job=job))
                return STOP
    except _TakenOver:
        return STOP
    return CONTINUE


def _emit_step_events(job: Job, step: JobStep, assets: list[Asset]) -> None:
    """job.progress for the step, asset.created for each file, job.completed if it was the last."""
    events = [job_event(job, EventType.JOB_PROGRESS, stage=step.stage, scene=step.scene)]
    events += [job_event(job, EventType.ASSET_CREATED, stage=step.stage, scene=step.scene, assets=[asset])
               for asset in assets]
    if job.status == JobStatus.SUCCEEDED:
        events.append(job_completed_event(job))
    job_events_emit(job, events)


def _assets(job: Job, step: JobStep, stored: list[tuple[OutputFile, str, str, int]]) -> list[Asset]:
    return [
        Asset(
            workspace_id=job.workspace_id,
            job=job,
            step=step,
            kind=output.kind,
            role=output.role,
            file=name,
            content_type=output.content_type,
            size_bytes=size,
            sha256=sha256,
            scene=step.scene,
            aspect_ratio=output.aspect_ratio,
            width=output.width,
            height=output.height,
            duration_s=output.duration_s,
        )
        for output, name, sha256, size in stored
    ]


def _segment_open(job: Job, step: JobStep) -> bool:
    """Whether any step of this step's parallel segment has yet to succeed."""
    _, _, planned = planned_for(job)
    segment = next(p.segment for p in planned if p.position == step.position)
    positions = sorted({p.position for p in planned if p.segment == segment})
    return job.steps.filter(position__in=positions).exclude(status=StepStatus.SUCCEEDED).exists()


def _fail_or_retry(step: JobStep, error: Exception, task_id: str) -> Outcome:
    policy = RetryPolicy.from_settings()
    message = error.message if isinstance(error, AdapterError) else f"{type(error).__name__}: {error}"
    if policy.is_retryable(error) and step.attempt < policy.max_attempts:
        JobStep.objects.filter(pk=step.pk, celery_task_id=task_id).update(
            status=StepStatus.PENDING,
            error=message,
            history=[*step.history, _history_entry(step, "retrying", message)],
        )
        return Outcome(True, retry_in_s=policy.delay_s(step.attempt))
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=step.job_id)
        JobStep.objects.filter(pk=step.pk, celery_task_id=task_id).update(
            status=StepStatus.FAILED,
            error=message,
            finished_at=now,
            history=[*step.history, _history_entry(step, "failed", message)],
        )
        if job.status not in JobStatus.terminal():
            job.status, job.finished_at, job.last_activity_at = JobStatus.FAILED, now, now
            job.failed_stage, job.failed_scene = step.stage, step.scene
            job.error = message
            job.save(
                update_fields=["status", "finished_at", "last_activity_at", "failed_stage", "failed_scene", "error", "updated_at"]
            )
            job.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.CANCELLED)
            job_events_emit(job, [job_event(job, EventType.JOB_FAILED, stage=step.stage, scene=step.scene)])
    return STOP


# ---- the watchdog ------------------------------------------------------------------------------


def _stall_cutoff() -> Any:
    """Anything not heard from since this moment counts as lost."""
    return timezone.now() - timedelta(seconds=settings.ADFAME_STALL_TIMEOUT_S)


def stalled_jobs() -> list[Job]:
    """Queued or running jobs with no sign of life for longer than the stall timeout."""
    cutoff = _stall_cutoff()
    candidates = Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).filter(
        Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff)
    )
    live_steps = JobStep.objects.filter(status=StepStatus.RUNNING, heartbeat_at__gte=cutoff)
    return list(candidates.exclude(pk__in=live_steps.values("job_id")))


def job_redrive(*, job: Job) -> str:
    """Re-drive a stalled job from its rows: steps whose worker is gone are handed out again."""
    close_old_connections()
    if job.status == JobStatus.QUEUED:
        job_start(job_id=job.pk)
        return "started"
    JobStep.objects.filter(job=job, status=StepStatus.RUNNING, heartbeat_at__lt=_stall_cutoff()).update(
        status=StepStatus.PENDING, celery_task_id=""
    )
    if job_publish(job=job):
        return "republished"
    return "nothing to publish"
