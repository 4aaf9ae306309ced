from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import IdempotencyRecord
from jobs.models import Job
from tests.factories import make_campaign


def body_for(campaign, mode="fast_paced"):
    return {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": mode}}


@pytest.fixture
def campaign(owner, product):
    return make_campaign(owner.workspace, product)


def test_it_replays_the_first_response_for_a_repeated_key(owner_api, campaign):
    first = owner_api.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    second = owner_api.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 1


def test_the_same_key_with_another_request_is_422(owner_api, campaign):
    owner_api.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="order-2")
    response = owner_api.post("/api/v1/jobs", body_for(campaign, "ugc"), format="json", HTTP_IDEMPOTENCY_KEY="order-2")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert Job.objects.count() == 1


def test_a_missing_key_is_400(owner_api, campaign):
    response = owner_api.post("/api/v1/jobs", body_for(campaign), format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/idempotency-key-missing"
    assert Job.objects.count() == 0


def test_keys_are_scoped_per_workspace(owner, outsider, product):
    from tests.factories import make_product

    theirs = make_campaign(outsider.workspace, make_product(outsider.workspace))
    ours = make_campaign(owner.workspace, product)
    assert owner.api.post("/api/v1/jobs", body_for(ours), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert outsider.api.post("/api/v1/jobs", body_for(theirs), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert Job.objects.count() == 2


def test_a_refused_request_does_not_use_up_its_key(owner_api, campaign):
    bad = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "nope"}}
    assert owner_api.post("/api/v1/jobs", bad, format="json", HTTP_IDEMPOTENCY_KEY="k3").status_code == 400
    assert owner_api.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="k3").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_identical_submissions_create_exactly_one_job(owner, product):
    campaign = make_campaign(owner.workspace, product)
    barrier = threading.Barrier(50)
    results: list[tuple[int, str]] = []

    def submit() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.key}")
        barrier.wait()
        try:
            response = client.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="burst")
            results.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Job.objects.count() == 1
    assert len(results) == 50
    assert {result for result in results} == {(201, str(Job.objects.get().id))}


def test_expired_records_are_purged_and_recent_ones_kept(owner_api, campaign, settings):
    owner_api.post("/api/v1/jobs", body_for(campaign), format="json", HTTP_IDEMPOTENCY_KEY="old")
    owner_api.post("/api/v1/jobs", body_for(campaign, "ugc"), format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.ADFAME_IDEMPOTENCY_TTL_HOURS + 1)
    )
    call_command("purge_idempotency_keys", stdout=open("/dev/null", "w"))
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
