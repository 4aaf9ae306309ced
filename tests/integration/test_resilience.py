"""Crashes, lost messages, flaky and broken providers: every job still ends in a terminal state."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from jobs.models import JobStatus, JobStep, StepStatus
from tests.integration.conftest import purge_queues, running_worker, wait_for
from tests.integration.helpers import finals, probe, submit_generation
from tests.providers import calls

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = {"ADFAME_PROVIDER_IMAGE": "tests.providers.SlowCompositor", "TEST_IMAGE_DELAY_S": "1.0"}


def wait_until(condition, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_job_resumes_after_its_worker_is_killed_without_redoing_finished_scenes(owner, product, clean_broker):
    with running_worker(SLOW, concurrency=1) as worker:
        job_id = submit_generation(owner, product, "fast_paced", scene_count=6, duration_s=12)
        scene_3 = lambda: JobStep.objects.filter(job_id=job_id, stage="scene_image", scene=3)  # noqa: E731
        wait_until(lambda: scene_3().filter(status=StepStatus.RUNNING).exists())
        worker.kill_hard()
    finished_before = set(
        JobStep.objects.filter(job_id=job_id, status=StepStatus.SUCCEEDED).values_list("stage", "scene")
    )
    assert {("scene_image", 1), ("scene_image", 2)} <= finished_before
    with running_worker(SLOW, concurrency=2):
        job = wait_for(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    images = {step.scene: step for step in JobStep.objects.filter(job_id=job_id, stage="scene_image")}
    assert images[1].attempt == images[2].attempt == 1
    assert calls("image").count(1) == calls("image").count(2) == 1
    assert images[3].attempt == 2 and calls("image").count(3) == 2
    assert len(images[3].history) == 1 and images[3].history[0]["attempt"] == 2  # the killed try left no entry
    assert abs(float(probe(finals(job)["9:16"])["format"]["duration"]) - 12) < 0.6


def test_a_lost_message_is_redriven_by_the_watchdog(owner, product, clean_broker):
    with running_worker(SLOW, concurrency=1, beat=True) as worker:
        job_id = submit_generation(owner, product, "fast_paced", scene_count=4, duration_s=8)
        wait_until(lambda: JobStep.objects.filter(job_id=job_id, stage="scene_image", status=StepStatus.RUNNING).exists())
        purge_queues()  # scenes 2-4 were published and are now gone; scene 1 is held by the worker
        job = wait_for(job_id, timeout_s=120)
        assert "re-drove a stalled job" in worker.log()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert set(finals(job)) == {"9:16"}


def test_a_transient_provider_error_is_retried_with_backoff(owner, product, clean_broker):
    flaky = {"ADFAME_PROVIDER_IMAGE": "tests.providers.FlakyCompositor", "TEST_FLAKY_FAILURES": "2"}
    with running_worker(flaky):
        job = wait_for(submit_generation(owner, product, "image_bundle", scene_count=2))
    assert job.status == JobStatus.SUCCEEDED, job.error
    for step in JobStep.objects.filter(job=job, stage="scene_image"):
        assert step.attempt == 3
        assert [entry["outcome"] for entry in step.history] == ["retrying", "retrying", "succeeded"]
        assert "out of memory" in step.history[0]["error"]
        starts = [datetime.fromisoformat(entry["started_at"]) for entry in step.history]
        gaps = [(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:])]
        assert gaps[0] >= 1.0 and gaps[1] >= 2.0  # 1 s, then doubled


def test_a_permanent_provider_error_fails_the_job_with_stage_and_scene(owner, product, clean_broker):
    broken = {"ADFAME_PROVIDER_IMAGE": "tests.providers.BrokenCompositor", "TEST_BROKEN_SCENE": "2"}
    with running_worker(broken):
        job_id = submit_generation(owner, product, "fast_paced", scene_count=3, duration_s=6)
        job = wait_for(job_id)
    assert job.status == JobStatus.FAILED
    body = owner.api.get(f"/api/v1/jobs/{job_id}").json()
    assert body["error"]["stage"] == "scene_image" and body["error"]["scene"] == 2
    assert "content policy" in body["error"]["detail"]
    failed = JobStep.objects.get(job_id=job_id, stage="scene_image", scene=2)
    assert failed.status == StepStatus.FAILED and failed.attempt == 1  # permanent: not retried
    assert JobStep.objects.get(job_id=job_id, stage="stitch").status == StepStatus.CANCELLED


def test_cancel_stops_a_running_job(owner, product, clean_broker):
    with running_worker(SLOW, concurrency=1):
        job_id = submit_generation(owner, product, "fast_paced", scene_count=5, duration_s=10)
        wait_until(lambda: JobStep.objects.filter(job_id=job_id, status=StepStatus.RUNNING, stage="scene_image").exists())
        assert owner.api.post(f"/api/v1/jobs/{job_id}/cancel").json()["status"] == "cancelled"
        # The step in flight finishes (its fidelity scoring included, a model load in a fresh worker);
        # nothing new starts after it.
        wait_until(lambda: not JobStep.objects.filter(job_id=job_id, status=StepStatus.RUNNING).exists())
        started_after_cancel = len(calls("image"))
        time.sleep(2)
    assert len(calls("image")) == started_after_cancel <= 2
    assert not JobStep.objects.filter(job_id=job_id, status__in=[StepStatus.PENDING, StepStatus.RUNNING]).exists()
