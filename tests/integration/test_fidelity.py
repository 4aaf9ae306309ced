"""Fidelity on a real worker: drifting scenes are rendered again until faithful, and every attempt is kept.

The image provider is the real compositor made to drift (tests/fidelity_providers.py): it recolours
the product, draws another object in its place, or draws it from a cut-out that lost half the
product, on the first attempts or always. The scorer is the model stack (weight-free and
EfficientNet-Lite0), as on any machine with torch and without CLIP weights; stills are scored
against the photo the customer uploaded.
"""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from jobs.models import Asset, JobStatus, JobStep
from tests.fidelity_providers import renders
from tests.integration.conftest import running_worker, wait_for
from tests.integration.helpers import submit_generation

pytestmark = pytest.mark.django_db(transaction=True)

DRIFTING = "tests.fidelity_providers.DriftingCompositor"
NEVER_FAITHFUL = "tests.fidelity_providers.NeverFaithfulCompositor"


def scene_steps(job) -> list[JobStep]:
    return list(JobStep.objects.filter(job=job, stage="scene_image").order_by("scene"))


def test_drifting_scenes_are_rendered_again_until_faithful_and_every_attempt_is_kept(owner, product, clean_broker):
    env = {"ADFAME_PROVIDER_IMAGE": DRIFTING, "TEST_DRIFT": "recolour", "TEST_DRIFT_SCENES": "1,2"}
    with running_worker(env):
        job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["9:16", "1:1"], scene_count=3))
    assert job.status == JobStatus.SUCCEEDED, job.error

    steps = scene_steps(job)
    assert [len(step.outputs["fidelity"]["attempts"]) for step in steps] == [2, 2, 1]  # scene 3 never drifted
    for step in steps:
        fidelity = step.outputs["fidelity"]
        attempts = fidelity["attempts"]
        assert fidelity["scorer"] == "model_stack" and fidelity["review"] is False
        assert fidelity["chosen"] == len(attempts) and step.outputs["seed"] == attempts[-1]["seed"]
        assert attempts[-1]["passed"] and attempts[-1]["score"] >= fidelity["threshold"]
        assert all(not a["passed"] and a["score"] < a["threshold"] for a in attempts[:-1])
        assert [a["product_emphasis"] for a in attempts] == [0.5, 0.7][: len(attempts)]
        assert len({a["seed"] for a in attempts}) == len(attempts)
        assert all(a["provider"] == "test.drifting" for a in attempts)
        # Only the chosen attempt's stills are stored, one per aspect ratio.
        assert sorted(Asset.objects.filter(step=step).values_list("aspect_ratio", flat=True)) == ["1:1", "9:16"]
    # Each attempt rendered every ratio; the drifted ones were the first attempts of scenes 1 and 2.
    calls = renders()
    assert sorted((c["scene"], c["drifted"]) for c in calls) == sorted(
        [(1, True)] * 2 + [(1, False)] * 2 + [(2, True)] * 2 + [(2, False)] * 2 + [(3, False)] * 2
    )

    body = owner.api.get(f"/api/v1/jobs/{job.id}/steps").json()
    shown = [step["outputs"]["fidelity"] for step in body if step["stage"] == "scene_image"]
    assert [[a["score"] for a in f["attempts"]] for f in shown] == [
        [a["score"] for a in step.outputs["fidelity"]["attempts"]] for step in steps
    ]


def test_a_cut_out_missing_half_the_product_fails_fidelity_and_is_rendered_again(owner, product, clean_broker):
    env = {"ADFAME_PROVIDER_IMAGE": DRIFTING, "TEST_DRIFT": "half"}
    with running_worker(env):
        job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["9:16"], scene_count=1))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [(c["scene"], c["drifted"]) for c in renders()] == [(1, True), (1, False)]

    body = owner.api.get(f"/api/v1/jobs/{job.id}/steps").json()
    [step] = [step for step in body if step["stage"] == "scene_image"]
    fidelity = step["outputs"]["fidelity"]
    half, whole = fidelity["attempts"]
    assert fidelity["scorer"] == "model_stack" and fidelity["chosen"] == 2 and fidelity["review"] is False
    assert not half["passed"] and half["score"] < fidelity["threshold"] <= whole["score"] and whole["passed"]
    assert step["outputs"]["seed"] == whole["seed"] != half["seed"]
    # Every attempt shows each scorer's score: the stack's and the two it is made of.
    for attempt in (half, whole):
        assert set(attempt["scores"]) == {"model_stack", "weight_free", "efficientnet_lite0"}
        assert attempt["scores"]["model_stack"] == attempt["score"]
    # Both scorers saw what was missing, not only their mean.
    assert whole["scores"]["weight_free"] - half["scores"]["weight_free"] > 0.2
    assert whole["scores"]["efficientnet_lite0"] - half["scores"]["efficientnet_lite0"] > 0.1


def test_a_scene_that_drifts_twice_gets_a_third_attempt_with_the_strongest_conditioning(owner, product, clean_broker):
    env = {"ADFAME_PROVIDER_IMAGE": DRIFTING, "TEST_DRIFT": "swap", "TEST_DRIFT_ATTEMPTS": "2"}
    with running_worker(env):
        job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["16:9"], scene_count=2))
    assert job.status == JobStatus.SUCCEEDED, job.error
    for step in scene_steps(job):
        attempts = step.outputs["fidelity"]["attempts"]
        assert [(a["product_emphasis"], a["passed"]) for a in attempts] == [(0.5, False), (0.7, False), (0.9, True)]
        assert attempts[2]["score"] - max(attempts[0]["score"], attempts[1]["score"]) > 0.3


def test_a_never_faithful_provider_fails_the_job_at_scene_image_with_the_scores(owner, product, clean_broker):
    env = {"ADFAME_PROVIDER_IMAGE": NEVER_FAITHFUL, "ADFAME_FIDELITY_ON_EXHAUSTED": "fail"}
    with running_worker(env):
        job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["9:16"], scene_count=2))
    assert job.status == JobStatus.FAILED
    assert job.failed_stage == "scene_image" and job.failed_scene in (1, 2)
    assert "fidelity" in job.error and len(re.findall(r"\d\.\d{3} \(seed \d+", job.error)) == 3
    failed = JobStep.objects.get(job=job, stage="scene_image", scene=job.failed_scene)
    assert failed.status == "failed" and failed.attempt == 1  # a permanent error: no step retry
    assert not Asset.objects.filter(job=job, role="scene", scene=job.failed_scene).exists()
    body = owner.api.get(f"/api/v1/jobs/{job.id}").json()
    assert body["error"]["stage"] == "scene_image" and "fidelity" in body["error"]["detail"]


def test_keep_best_keeps_the_best_attempt_flagged_for_review_in_the_api_and_the_admin(
    owner, product, clean_broker, client
):
    env = {"ADFAME_PROVIDER_IMAGE": NEVER_FAITHFUL, "ADFAME_FIDELITY_ON_EXHAUSTED": "keep_best"}
    with running_worker(env):
        job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["9:16"], scene_count=2))
    assert job.status == JobStatus.SUCCEEDED, job.error
    for step in scene_steps(job):
        fidelity = step.outputs["fidelity"]
        scores = [a["score"] for a in fidelity["attempts"]]
        assert len(scores) == 3 and fidelity["review"] is True
        assert fidelity["attempts"][fidelity["chosen"] - 1]["score"] == max(scores)
        assert Asset.objects.filter(step=step).count() == 1

    body = owner.api.get(f"/api/v1/jobs/{job.id}/steps").json()
    assert all(step["outputs"]["fidelity"]["review"] for step in body if step["stage"] == "scene_image")

    staff = get_user_model().objects.create_user("ops", "ops@adfame.test", "s3cret-pass", is_staff=True,
                                                 is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/jobs/job/{job.id}/change/").content.decode()
    assert page.count("needs review") == 2
    assert "<th>threshold</th>" in page and "test.never_faithful" in page
