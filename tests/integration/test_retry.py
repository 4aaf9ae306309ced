"""Retrying a finished job re-runs exactly the chosen point and what depends on it."""
from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus, JobStep
from tests.integration.conftest import running_worker, wait_for
from tests.integration.helpers import finals, probe, submit_generation
from tests.providers import calls, reset_calls

pytestmark = pytest.mark.django_db(transaction=True)
COUNTING = {"ADFAME_PROVIDER_IMAGE": "tests.providers.CountingCompositor"}


def rows(job_id):
    return {
        (step.stage, step.scene): (step.id, step.attempt, step.outputs, step.finished_at)
        for step in JobStep.objects.filter(job_id=job_id)
    }


def test_retrying_scene_4_reruns_its_image_its_clip_and_the_stitch_only(owner, product, clean_broker):
    with running_worker(COUNTING):
        source_id = submit_generation(owner, product, "fast_paced", scene_count=6, duration_s=12)
        assert wait_for(source_id).status == JobStatus.SUCCEEDED
        before = rows(source_id)
        reset_calls()
        response = owner.api.post(
            f"/api/v1/jobs/{source_id}/scenes/4/retry", {"stage": "scene_image", "reason": "logo clipped"},
            format="json", HTTP_IDEMPOTENCY_KEY="retry-4",
        )
        assert response.status_code == 201, response.json()
        retry = wait_for(response.json()["id"])
    assert retry.status == JobStatus.SUCCEEDED, retry.error
    assert retry.kind == "retry" and str(retry.retry_of_id) == source_id
    assert set(rows(retry.id)) == {("scene_image", 4), ("scene_video", 4), ("stitch", None)}
    assert calls("image") == [4]
    assert rows(source_id) == before  # the original job's rows are untouched
    assert abs(float(probe(finals(retry)["9:16"])["format"]["duration"]) - 12) < 0.6
    assert finals(Job.objects.get(pk=source_id))["9:16"].exists()


def test_retrying_from_the_stitch_reuses_every_scene(owner, product, clean_broker):
    with running_worker(COUNTING):
        source_id = submit_generation(owner, product, "fast_paced", scene_count=3, duration_s=6)
        wait_for(source_id)
        reset_calls()
        response = owner.api.post(f"/api/v1/jobs/{source_id}/retry", {"stage": "stitch"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY="retry-stitch")
        retry = wait_for(response.json()["id"])
    assert retry.status == JobStatus.SUCCEEDED
    assert set(rows(retry.id)) == {("stitch", None)} and calls("image") == []


def test_a_retry_names_a_stage_of_the_job(owner, product, clean_broker):
    with running_worker(COUNTING):
        source_id = submit_generation(owner, product, "image_bundle", scene_count=2)
        wait_for(source_id)
    response = owner.api.post(f"/api/v1/jobs/{source_id}/retry", {"stage": "stitch"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="r")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "payload.stage"
    response = owner.api.post(f"/api/v1/jobs/{source_id}/scenes/9/retry", {"stage": "scene_image"}, format="json",
                              HTTP_IDEMPOTENCY_KEY="r2")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "payload.scene"
