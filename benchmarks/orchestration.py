"""Orchestration benchmark: N jobs of a 6-step null pipeline through the real engine (step rows,
job events, a real worker, RabbitMQ, PostgreSQL) beside plain Celery chains (../shared/bench),
same run.

    .venv/bin/python benchmarks/orchestration.py --jobs 300 [--concurrency 2] [--deliver]

Prints engine and baseline jobs/s, their ratio (goal >= 0.6), and the step dispatch latency
(end of one step to the start of the next) p50/p99 (goal p50 <= 5 ms), measured on jobs run one
at a time; `loaded_dispatch_p50_ms` is the same gap inside the throughput run, queueing included.
Every job records its events (job.accepted, job.started, job.progress per step, job.completed);
`events` counts those of the throughput run. Without --deliver nothing subscribes to them; with
it a webhook endpoint for all events points at a local receiver (benchmarks/receiver.py), the
same worker also sends the deliveries, a job counts as done once every delivery of its events has
succeeded, and `deliveries_succeeded` is printed too.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT.parent / "shared" / "bench" / "celery_chain_baseline.py"
DATABASE = "adfame_bench"
# The baseline runs in the environment the benchmark was started with: Celery's Django fix-up
# would try to import our settings in its worker if DJANGO_SETTINGS_MODULE were set.
BASELINE_ENV = dict(os.environ)

os.environ.update(
    DJANGO_SETTINGS_MODULE="adfame.settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "benchmark-only"),
    DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
    CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    ADFAME_PIPELINE_MODULES="benchmarks.null_pipeline",
    ADFAME_LOG_LEVEL="WARNING",
    ADFAME_LOG_FORMAT="text",
)
sys.path.insert(0, str(ROOT))

from benchmarks.receiver import Receiver  # noqa: E402


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("dbname=postgres user=postgres host=127.0.0.1", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone():
            conn.execute(f"create database {DATABASE}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class EngineRun:
    jobs_per_s: float
    gaps: list[float]
    loaded_gaps: list[float]
    events: int  # recorded for the throughput run's jobs
    deliveries_succeeded: int | None  # of those events; None without --deliver


def run_engine(jobs: int, concurrency: int, latency_jobs: int, deliver: bool) -> EngineRun:
    """Throughput of `jobs` submitted at once, and the dispatch gaps of `latency_jobs` run one by one
    (under a full queue a gap also holds the wait behind other jobs' steps)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from adfame.celery import QUEUES
    from callbacks.models import Delivery, DeliveryStatus, Event, EventType
    from callbacks.services import endpoint_create
    from campaigns.services import workspace_create
    from jobs.dispatch import job_dispatch
    from jobs.events import job_event, job_events_emit
    from jobs.models import Job, JobKind, JobStatus, JobStep

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name="bench", owner_email="bench@adfame.local")
    receiver = Receiver() if deliver else None
    if receiver:
        endpoint_create(workspace=workspace, url=receiver.url, event_types=[], description="benchmark")

    def submit() -> object:
        # As jobs.services.job_submit does: job.accepted in the job's transaction, then the engine.
        with transaction.atomic():
            job = Job.objects.create(
                workspace=workspace, kind=JobKind.OUTPUT_GENERATION, output_mode="bench_null",
                payload={}, snapshot={"settings": {"scene_count": 0}},
            )
            job_events_emit(job, [job_event(job, EventType.JOB_ACCEPTED)])
            transaction.on_commit(lambda: job_dispatch(job_id=job.id))
        return job.id

    def wait(ids: list[object]) -> None:
        # No watchdog runs here: a lost message (another run purging the shared broker) would hang.
        deadline = time.monotonic() + 120 + len(ids)
        while unfinished := Job.objects.filter(pk__in=ids).exclude(status__in=JobStatus.terminal()).count():
            if time.monotonic() > deadline:
                raise SystemExit(f"{unfinished} benchmark jobs did not finish in time")
            time.sleep(0.01)
        failed = Job.objects.filter(pk__in=ids).exclude(status=JobStatus.SUCCEEDED).count()
        if failed:
            raise SystemExit(f"{failed} benchmark jobs did not succeed")
        if not deliver:
            return
        # A terminal job has recorded all its events (in the same transaction), so all deliveries exist.
        owed = Delivery.objects.filter(event__job_id__in=ids).exclude(status=DeliveryStatus.SUCCEEDED)
        while owed.exists():
            if failure := owed.exclude(last_error="").values_list("last_error", flat=True).first():
                raise SystemExit(f"a benchmark delivery failed: {failure}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{owed.count()} benchmark deliveries did not succeed in time")
            time.sleep(0.01)

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "adfame", "worker", "-Q", ",".join(QUEUES), "-c", str(concurrency),
         "-P", "prefork", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # worker start-up is not part of the figure, as in the baseline
        sequential = []
        for _ in range(latency_jobs):
            sequential.append(submit())
            wait(sequential[-1:])
        started = time.perf_counter()
        ids = [submit() for _ in range(jobs)]
        wait(ids)
        total = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if receiver:
            receiver.close()
    events = Event.objects.filter(job_id__in=ids)
    return EngineRun(
        jobs / total, dispatch_gaps(JobStep, sequential), dispatch_gaps(JobStep, ids), events.count(),
        Delivery.objects.filter(event__in=events, status=DeliveryStatus.SUCCEEDED).count() if deliver else None,
    )


def dispatch_gaps(step_model: type, ids: list[object]) -> list[float]:
    """Milliseconds from the end of each step to the start of the next one of the same job."""
    gaps, previous = [], None
    rows = step_model.objects.filter(job_id__in=ids).order_by("job_id", "position")
    for job_id, started_at, finished_at in rows.values_list("job_id", "started_at", "finished_at"):
        if previous and previous[0] == job_id:
            gaps.append((started_at - previous[1]).total_seconds() * 1000)
        previous = (job_id, finished_at)
    return gaps


def run_baseline(jobs: int, concurrency: int) -> float:
    result = subprocess.run(
        [sys.executable, str(BASELINE), "--jobs", str(jobs), "--steps", "6", "--concurrency", str(concurrency)],
        capture_output=True, text=True, check=True, cwd=BASELINE.parent, env=BASELINE_ENV, timeout=600,
    )
    line = result.stdout.strip().splitlines()[-1]
    return float(dict(part.split("=") for part in line.split())["jobs_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--latency-jobs", type=int, default=30, help="jobs run one at a time for the latency figure")
    parser.add_argument("--deliver", action="store_true", help="also send every event to a local webhook receiver")
    args = parser.parse_args()
    if args.deliver:
        # The receiver is on 127.0.0.1: endpoint_create here and the sends in the worker must allow it.
        os.environ["ADFAME_ALLOW_LOOPBACK_URLS"] = "1"
    ensure_database()
    baseline = run_baseline(args.jobs, args.concurrency)
    run = run_engine(args.jobs, args.concurrency, args.latency_jobs, args.deliver)
    deliveries = "" if run.deliveries_succeeded is None else f" deliveries_succeeded={run.deliveries_succeeded}"
    print(
        f"jobs={args.jobs} steps=6 engine_jobs_per_s={run.jobs_per_s:.1f} baseline_jobs_per_s={baseline:.1f} "
        f"ratio={run.jobs_per_s / baseline:.2f} dispatch_p50_ms={statistics.median(run.gaps):.1f} "
        f"dispatch_p99_ms={percentile(run.gaps, 0.99):.1f} "
        f"loaded_dispatch_p50_ms={statistics.median(run.loaded_gaps):.1f} events={run.events}{deliveries}"
    )


if __name__ == "__main__":
    main()
