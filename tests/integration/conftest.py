"""Real Celery workers for the integration tests: separate processes on RabbitMQ and the test database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection, Queue

from adfame.celery import QUEUES
from jobs.models import Job, JobStatus
from tests.providers import reset_calls

ROOT = Path(__file__).resolve().parents[2]


def purge_queues() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=3) as conn:
        for name in QUEUES:
            queue = Queue(name, routing_key=name)(conn.channel())
            queue.declare()
            queue.purge()


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def kill_hard(self) -> None:
        """kill -9 the worker and its pool processes, as a crash or an OOM kill would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def running_worker(env: dict[str, str] | None = None, *, concurrency: int = 2, beat: bool = False) -> Iterator[Worker]:
    log_path = Path(settings.DATA_DIR) / "worker-logs" / f"worker-{uuid.uuid4().hex[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "adfame", "worker", "-Q", ",".join(QUEUES),
        "-c", str(concurrency), "-P", "prefork", "-l", "info", "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle",
    ] + (["-B", "-s", str(log_path.with_suffix(".beat"))] if beat else [])
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    worker = Worker(process, log_path)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.stop()


def wait_for(job_id: object, *, timeout_s: float = 240, until: tuple[str, ...] = JobStatus.terminal()) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status} after {timeout_s} s")


@pytest.fixture
def clean_broker() -> None:
    purge_queues()
    reset_calls()
