"""Webhook benchmark: job events through the callback outbox (event and delivery rows, a real
callbacks worker, RabbitMQ, PostgreSQL, signed HTTP) to a local receiver, beside plain signed POSTs
to the same receiver, same run.

    .venv/bin/python benchmarks/webhooks.py --events 2000 [--concurrency 2] [--latency-events 200]

Prints events delivered per second (first commit to last receipt, events recorded one per
transaction as fast as possible) and the baseline's POSTs per second (the same signed body sent
from `--concurrency` threads with httpx: no queue, no database), their ratio, and the delivery
latency (commit of the event to its receipt) p50/p99 of events recorded one at a time (each
received, then 20 ms, before the next); `loaded_latency_p50_ms` is the same inside the throughput
run, queueing included; `duplicates` counts receipts of an event beyond its first (expected 0).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "adfame_bench"
WORKSPACE = "bench-webhooks"
JOBS = 4
PACE_S = 0.02

os.environ.update(
    DJANGO_SETTINGS_MODULE="adfame.settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "benchmark-only"),
    DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
    CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    ADFAME_PIPELINE_MODULES="benchmarks.null_pipeline",
    ADFAME_LOG_LEVEL="WARNING",
    ADFAME_LOG_FORMAT="text",
    # The receiver is on 127.0.0.1: endpoint_create here and the sends in the worker must allow it.
    ADFAME_ALLOW_LOOPBACK_URLS="1",
)
sys.path.insert(0, str(ROOT))

from benchmarks.orchestration import ensure_database, percentile  # noqa: E402
from benchmarks.receiver import Receiver  # noqa: E402


class Outbox:
    """The benchmark's jobs, and their events recorded one per transaction as real callers do."""

    def __init__(self, workspace: Any) -> None:
        from jobs.models import Job, JobKind

        self.job_ids = [
            Job.objects.create(
                workspace=workspace, kind=JobKind.OUTPUT_GENERATION, output_mode="bench_null",
                payload={}, snapshot={"settings": {"scene_count": 0}},
            ).pk
            for _ in range(JOBS)
        ]
        self._sequences = dict.fromkeys(self.job_ids, 0)
        self._next_job = itertools.cycle(self.job_ids)

    def record(self) -> tuple[tuple[Any, int], float]:
        """One job.progress event: its (job id, sequence), and the time.time() of its commit."""
        from django.db import transaction

        from callbacks.models import EventType
        from jobs.events import job_event, job_events_emit
        from jobs.models import Job

        job_id = next(self._next_job)
        committed_at: list[float] = []
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job_id)
            # Registered before the outbox's own hook, so it runs first: the stamp is the commit,
            # and the publish of the delivery counts in the latency.
            transaction.on_commit(lambda: committed_at.append(time.time()))
            job_events_emit(job, [job_event(job, EventType.JOB_PROGRESS)])
        self._sequences[job_id] += 1
        return (job_id, self._sequences[job_id]), committed_at[0]

    def event_ids(self, keys: list[tuple[Any, int]]) -> list[str]:
        """The ids (the webhook-id receivers see) of events given by (job id, sequence)."""
        from callbacks.models import Event

        rows = Event.objects.filter(
            job_id__in={job_id for job_id, _ in keys}, sequence__in={sequence for _, sequence in keys}
        ).values_list("job_id", "sequence", "id")
        by_key = {(job_id, sequence): str(id_) for job_id, sequence, id_ in rows}
        return [by_key[key] for key in keys]


def deliver(
    outbox: Outbox, receiver: Receiver, count: int, worker_log: IO[bytes], *, one_at_a_time: bool = False
) -> tuple[list[str], list[float]]:
    """Record `count` events and wait for all of them at the receiver; their ids and commit times.

    One at a time, each event is received (and PACE_S has passed) before the next is recorded.
    """
    keys, commits = [], []
    for _ in range(count):
        key, committed_at = outbox.record()
        keys.append(key)
        commits.append(committed_at)
        if one_at_a_time:
            wait_for_receipt(receiver, outbox.event_ids([key]), worker_log)
            time.sleep(PACE_S)
    ids = outbox.event_ids(keys)
    wait_for_receipt(receiver, ids, worker_log)
    return ids, commits


def wait_for_receipt(receiver: Receiver, ids: list[str], worker_log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60 + len(ids) * 0.05
    while missing := [id_ for id_ in ids if id_ not in receiver.first_seen]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(missing)} of {len(ids)} events never reached the receiver\n{tail(worker_log)}")
        time.sleep(0.001 if len(ids) == 1 else 0.01)


def check_succeeded(ids: list[str], worker_log: IO[bytes]) -> None:
    """Every delivery of these events is marked succeeded (the worker records that after the receipt)."""
    from callbacks.models import Delivery, DeliveryStatus

    deliveries = Delivery.objects.filter(event_id__in=ids)
    deadline = time.monotonic() + 30
    while (owed := deliveries.exclude(status=DeliveryStatus.SUCCEEDED).count()) or deliveries.count() != len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{owed} of {deliveries.count()} deliveries did not succeed (expected {len(ids)} deliveries)\n"
                f"{tail(worker_log)}"
            )
        time.sleep(0.05)


def latencies_ms(receiver: Receiver, ids: list[str], commits: list[float]) -> list[float]:
    return [(receiver.first_seen[id_] - committed_at) * 1000 for id_, committed_at in zip(ids, commits, strict=True)]


def tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def purge_callbacks_queue() -> None:
    """Sends left over from an interrupted run would go to a receiver that is gone."""
    from django.conf import settings
    from kombu import Connection, Queue

    from callbacks.services import CALLBACKS_QUEUE

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=3) as conn:
        queue = Queue(CALLBACKS_QUEUE, routing_key=CALLBACKS_QUEUE)(conn.channel())
        queue.declare()
        queue.purge()


def run_baseline(receiver: Receiver, body: bytes, secret: str, posts: int, concurrency: int) -> float:
    """Signed POSTs of `body` from `concurrency` threads, one httpx client each: the floor."""
    import httpx

    from callbacks.signing import signed_headers

    remaining = itertools.count(posts, -1)
    ids: list[str] = []

    def send() -> None:
        with httpx.Client(timeout=10) as client:
            while next(remaining) > 0:
                webhook_id = str(uuid.uuid4())
                ids.append(webhook_id)
                headers = {
                    "content-type": "application/json",
                    "user-agent": "AdFame-Webhooks/1.0",
                    **signed_headers([secret], webhook_id, int(time.time()), body),
                }
                client.post(receiver.url, content=body, headers=headers).raise_for_status()

    threads = [threading.Thread(target=send) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    if len(ids) != posts or any(id_ not in receiver.first_seen for id_ in ids):
        raise SystemExit(f"the baseline sent {len(ids)} of {posts} POSTs, or some never arrived")
    return posts / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--latency-events", type=int, default=200, help="events recorded one at a time for the latency figure"
    )
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from callbacks.models import Event, EventType, WebhookEndpoint
    from callbacks.services import CALLBACKS_QUEUE, endpoint_create
    from campaigns.services import workspace_create
    from jobs.events import job_event
    from jobs.models import Job

    call_command("migrate", verbosity=0)
    purge_callbacks_queue()
    Event.objects.filter(workspace__name=WORKSPACE).delete()  # and their deliveries and attempts
    WebhookEndpoint.objects.filter(workspace__name=WORKSPACE).delete()
    workspace = workspace_create(name=WORKSPACE, owner_email="bench@adfame.local")
    outbox = Outbox(workspace)
    receiver = Receiver()
    endpoint = endpoint_create(workspace=workspace, url=receiver.url, event_types=[], description="benchmark")

    # The body a worker sends for a job.progress event, as events_record builds it.
    _, data = job_event(Job.objects.get(pk=outbox.job_ids[0]), EventType.JOB_PROGRESS)
    data["sequence"] = 1
    payload = {"type": EventType.JOB_PROGRESS, "timestamp": timezone.now().isoformat(), "data": data}
    body = json.dumps(payload, separators=(",", ":")).encode()
    baseline = run_baseline(receiver, body, endpoint.secret, args.events, args.concurrency)

    worker_log = tempfile.TemporaryFile()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "adfame", "worker", "-Q", CALLBACKS_QUEUE, "-c", str(args.concurrency),
         "-P", "prefork", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=worker_log,
    )
    try:
        # Start-up is not part of the figure: a few deliveries warm up every pool process first.
        warm_up, _ = deliver(outbox, receiver, args.concurrency * 2, worker_log)
        check_succeeded(warm_up, worker_log)
        paced, paced_commits = deliver(outbox, receiver, args.latency_events, worker_log, one_at_a_time=True)
        check_succeeded(paced, worker_log)
        loaded, loaded_commits = deliver(outbox, receiver, args.events, worker_log)
        throughput = args.events / (max(receiver.first_seen[id_] for id_ in loaded) - loaded_commits[0])
        check_succeeded(loaded, worker_log)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.close()

    latencies = latencies_ms(receiver, paced, paced_commits)
    loaded_latencies = latencies_ms(receiver, loaded, loaded_commits)
    print(
        f"events={args.events} delivered_per_s={throughput:.1f} baseline_posts_per_s={baseline:.1f} "
        f"ratio={throughput / baseline:.2f} latency_p50_ms={statistics.median(latencies):.1f} "
        f"latency_p99_ms={percentile(latencies, 0.99):.1f} "
        f"loaded_latency_p50_ms={statistics.median(loaded_latencies):.1f} duplicates={receiver.duplicates()}"
    )


if __name__ == "__main__":
    main()
