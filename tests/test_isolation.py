"""A key of another workspace sees nothing: 404 on every product, campaign and job route."""
from __future__ import annotations

import uuid

import pytest

from jobs.models import Job, JobStatus
from tests.factories import make_campaign


@pytest.fixture
def acme_objects(owner, product):
    campaign = make_campaign(owner.workspace, product)
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "ugc"}}
    job = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY="a").json()
    return {"product": product.id, "campaign": campaign.id, "job": job["id"]}


def routes(ids):
    return [
        ("get", f"/api/v1/products/{ids['product']}"),
        ("get", f"/api/v1/campaigns/{ids['campaign']}"),
        ("get", f"/api/v1/jobs/{ids['job']}"),
        ("post", f"/api/v1/jobs/{ids['job']}/cancel"),
    ]


def test_an_outsider_gets_404_on_every_route(outsider_api, acme_objects):
    for method, url in routes(acme_objects):
        response = getattr(outsider_api, method)(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/problem+json"
    assert Job.objects.get().status == JobStatus.QUEUED
    for listing in ("/api/v1/products", "/api/v1/campaigns", "/api/v1/jobs"):
        assert outsider_api.get(listing).json()["count"] == 0


def test_an_anonymous_caller_gets_401_on_every_route(anonymous_api, acme_objects):
    collection = [("get", "/api/v1/products"), ("post", "/api/v1/products"), ("get", "/api/v1/campaigns"),
                  ("post", "/api/v1/campaigns"), ("get", "/api/v1/jobs"), ("post", "/api/v1/jobs"),
                  ("post", "/api/v1/brand-assets")]
    for method, url in routes(acme_objects) + collection:
        assert getattr(anonymous_api, method)(url).status_code == 401, url


def test_a_missing_object_is_404_too(owner_api):
    assert owner_api.get(f"/api/v1/jobs/{uuid.uuid4()}").status_code == 404
    assert owner_api.get("/api/v1/jobs/not-a-uuid").status_code == 404
