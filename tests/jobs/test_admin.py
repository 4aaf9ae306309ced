from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from jobs.models import Job, JobStep
from tests.factories import make_campaign


@pytest.fixture
def job_with_steps(owner, product):
    campaign = make_campaign(owner.workspace, product)
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "fast_paced"}}
    job_id = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()["id"]
    JobStep.objects.create(job_id=job_id, stage="storyboard", position=0, provider="local.copywriter")
    for scene in (1, 2):
        JobStep.objects.create(job_id=job_id, stage="scene_image", scene=scene, position=1)
    return Job.objects.get(pk=job_id)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("ops", "ops@adfame.test", "s3cret-pass", is_staff=True, is_superuser=True)


def test_staff_see_a_job_with_its_steps(client, staff, job_with_steps):
    client.force_login(staff)
    response = client.get(f"/admin/jobs/job/{job_with_steps.id}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "local.copywriter" in page and page.count("scene_image") >= 2
    listing = client.get("/admin/jobs/job/?status__exact=queued&output_mode__exact=fast_paced")
    assert str(job_with_steps.id) in listing.content.decode()


def test_non_staff_and_anonymous_are_refused(client, teammate, job_with_steps):
    url = f"/admin/jobs/job/{job_with_steps.id}/change/"
    assert client.get(url).status_code == 302
    client.force_login(teammate)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_key_admin_never_shows_the_hash(client, staff, owner):
    from campaigns.models import ApiKey

    client.force_login(staff)
    key = ApiKey.objects.get(workspace=owner.workspace)
    page = client.get(f"/admin/campaigns/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and key.hashed_key not in page and owner.key not in page


def test_product_admin_shows_thumbnails(client, staff, product):
    client.force_login(staff)
    page = client.get(f"/admin/campaigns/product/{product.pk}/change/").content.decode()
    assert f'<img src="{product.images.get().file.url}"' in page
