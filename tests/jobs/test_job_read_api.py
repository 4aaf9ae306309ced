from __future__ import annotations

import uuid

import pytest

from jobs.models import JobStep, StepStatus
from tests.factories import make_campaign


def submit(api, campaign, mode):
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": mode}}
    return api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()


@pytest.fixture
def campaign(owner, product):
    return make_campaign(owner.workspace, product)


def test_it_shows_a_job_with_its_step_summary(owner_api, campaign):
    job = submit(owner_api, campaign, "ugc")
    JobStep.objects.create(job_id=job["id"], stage="storyboard", position=0)
    JobStep.objects.create(job_id=job["id"], stage="scene_image", scene=1, position=1)
    body = owner_api.get(f"/api/v1/jobs/{job['id']}").json()
    assert body["status"] == "queued"
    assert body["current_stage"] == ""
    assert body["steps"] == {"total": 2, "pending": 2, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    assert body["payload"]["output_mode"] == "ugc"


def test_it_lists_jobs_filtered_by_status_campaign_and_mode(owner, owner_api, campaign, product):
    other = make_campaign(owner.workspace, product, modes=["image_bundle"])
    submit(owner_api, campaign, "ugc")
    fast = submit(owner_api, campaign, "fast_paced")
    bundle = submit(owner_api, other, "image_bundle")
    owner_api.post(f"/api/v1/jobs/{fast['id']}/cancel")
    ids = lambda query: [job["id"] for job in owner_api.get(f"/api/v1/jobs{query}").json()["results"]]  # noqa: E731
    assert ids("?mode=image_bundle") == [bundle["id"]]
    assert ids(f"?campaign={other.id}") == [bundle["id"]]
    assert ids("?status=cancelled") == [fast["id"]]
    assert len(ids("?status=queued")) == 2
    page = owner_api.get("/api/v1/jobs?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_a_bad_filter_is_a_400_problem(owner_api):
    response = owner_api.get("/api/v1/jobs?status=done&campaign=xyz")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"status", "campaign"}


def test_cancel_stops_a_queued_job_and_its_pending_steps(owner_api, campaign):
    job = submit(owner_api, campaign, "ugc")
    JobStep.objects.create(job_id=job["id"], stage="storyboard", position=0)
    response = owner_api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]
    assert JobStep.objects.get().status == StepStatus.CANCELLED
    again = owner_api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
