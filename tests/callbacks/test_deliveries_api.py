"""The deliveries API (lists, filters, attempt history, redelivery) and a job's events."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event
from tests.factories import make_campaign

DELIVERIES = "/api/v1/webhooks/deliveries"
ENDPOINTS = "/api/v1/webhooks/endpoints"
# Loopback is allowed by the test settings; no worker runs, so every delivery stays as recorded.
HOOK_URL = "http://127.0.0.1:9/hooks/all"
COMPLETED_URL = "http://127.0.0.1:9/hooks/completed"
CALLBACK_URL = "http://127.0.0.1:9/callback"

DELIVERY_FIELDS = {
    "id", "event_id", "event_type", "job_id", "sequence", "endpoint_id", "url", "status", "attempts",
    "next_attempt_at", "last_status_code", "last_error", "delivered_at", "created_at", "attempt_history",
}


@dataclass
class Story:
    """Two endpoints (every event; job.completed only), a cancelled job with a callback_url, a queued job."""

    every_event: dict
    completed_only: dict
    cancelled_job: dict
    queued_job: dict


def submit(api, campaign, **payload) -> dict:
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "ugc", **payload}}
    response = api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.json()
    return response.json()


def register(api, url: str, **fields) -> dict:
    response = api.post(ENDPOINTS, {"url": url, **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def listed(api, path: str) -> list[dict]:
    response = api.get(path)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


@pytest.fixture
def story(owner, owner_api, product) -> Story:
    campaign = make_campaign(owner.workspace, product)
    every_event = register(owner_api, HOOK_URL)
    completed_only = register(owner_api, COMPLETED_URL, event_types=["job.completed"])
    cancelled_job = submit(owner_api, campaign, callback_url=CALLBACK_URL)
    assert owner_api.post(f"/api/v1/jobs/{cancelled_job['id']}/cancel").status_code == 200
    queued_job = submit(owner_api, campaign)
    return Story(every_event, completed_only, cancelled_job, queued_job)


def fail_with_attempts(delivery: Delivery) -> Delivery:
    """What the worker leaves behind after two refused attempts and no more retries."""
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery, number=2, started_at=now, duration_ms=40, status_code=503,
        response_body="upstream down", error="The receiver answered 503.",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, started_at=now - timedelta(seconds=10), duration_ms=2000,
        error="No answer within 2 s.",
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, attempts=2, last_status_code=503, last_error="The receiver answered 503."
    )
    return Delivery.objects.get(pk=delivery.pk)


# ---- lists and filters -------------------------------------------------------------------------


def test_it_lists_every_delivery_of_the_workspace_newest_first(owner_api, story):
    deliveries = listed(owner_api, DELIVERIES)
    # accepted and cancelled of the first job to the catch-all endpoint and the callback_url; accepted of the second.
    assert len(deliveries) == 5
    assert set(deliveries[0]) == DELIVERY_FIELDS
    newest = deliveries[0]
    assert (newest["event_type"], newest["job_id"], newest["sequence"]) == ("job.accepted", story.queued_job["id"], 1)
    assert newest["endpoint_id"] == story.every_event["id"] and newest["url"] == HOOK_URL
    assert newest["status"] == "pending" and newest["attempts"] == 0 and newest["next_attempt_at"] is not None
    assert newest["attempt_history"] == [] and newest["delivered_at"] is None and newest["last_status_code"] is None
    to_callback = [delivery for delivery in deliveries if delivery["endpoint_id"] is None]
    assert {delivery["url"] for delivery in to_callback} == {CALLBACK_URL}
    assert sorted(delivery["sequence"] for delivery in to_callback) == [1, 2]
    assert [delivery["id"] for delivery in deliveries] == sorted((d["id"] for d in deliveries), reverse=True)


def test_the_list_filters_by_status_event_type_endpoint_and_job(owner_api, story):
    ids = lambda query: {delivery["id"] for delivery in listed(owner_api, DELIVERIES + query)}  # noqa: E731
    every_event = Delivery.objects.filter(endpoint_id=story.every_event["id"])
    failed = fail_with_attempts(every_event.filter(event__type="job.cancelled").get())
    assert ids("?status=failed") == {failed.pk}
    assert len(ids("?status=pending")) == 4
    assert len(ids("?event_type=job.cancelled")) == 2
    assert ids(f"?job={story.queued_job['id']}") == set(
        Delivery.objects.filter(event__job_id=story.queued_job["id"]).values_list("pk", flat=True)
    )
    assert ids(f"?endpoint={story.every_event['id']}") == set(every_event.values_list("pk", flat=True))
    assert ids(f"?endpoint={story.completed_only['id']}") == set()
    assert ids(f"?job={story.cancelled_job['id']}&event_type=job.accepted&status=pending") == set(
        Delivery.objects.filter(event__job_id=story.cancelled_job["id"], event__type="job.accepted")
        .values_list("pk", flat=True)
    )
    page = owner_api.get(f"{DELIVERIES}?page_size=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]


def test_an_endpoints_deliveries_are_only_its_own(owner_api, story):
    own = listed(owner_api, f"{ENDPOINTS}/{story.every_event['id']}/deliveries")
    assert len(own) == 3 and {delivery["endpoint_id"] for delivery in own} == {story.every_event["id"]}
    cancelled = listed(owner_api, f"{ENDPOINTS}/{story.every_event['id']}/deliveries?event_type=job.cancelled")
    assert [delivery["sequence"] for delivery in cancelled] == [2]
    assert listed(owner_api, f"{ENDPOINTS}/{story.completed_only['id']}/deliveries") == []


def test_a_bad_filter_is_a_400_problem(owner_api, story):
    response = owner_api.get(f"{DELIVERIES}?status=lost&event_type=job.exploded&endpoint=x&job=y&colour=red")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"status", "event_type", "endpoint", "job", "colour"}


def test_an_outsider_sees_none_of_the_workspaces_deliveries(outsider_api, story):
    assert listed(outsider_api, DELIVERIES) == []
    assert listed(outsider_api, f"{DELIVERIES}?job={story.queued_job['id']}") == []


def test_the_list_reads_attempts_in_one_query_however_many_deliveries(owner_api, story, django_assert_max_num_queries):
    for delivery in Delivery.objects.all():
        fail_with_attempts(delivery)
    owner_api.get(DELIVERIES)  # the key's last_used_at is written on its first use only
    # The key, the count, the page with its events, and every attempt of the page.
    with django_assert_max_num_queries(4):
        deliveries = listed(owner_api, DELIVERIES)
    assert len(deliveries) == 5 and all(len(delivery["attempt_history"]) == 2 for delivery in deliveries)


# ---- one delivery ------------------------------------------------------------------------------


def test_a_delivery_shows_its_attempt_history_in_order(owner_api, story):
    delivery = fail_with_attempts(Delivery.objects.filter(endpoint__isnull=True).order_by("pk").first())
    body = owner_api.get(f"{DELIVERIES}/{delivery.pk}").json()
    assert body["status"] == "failed" and body["attempts"] == 2 and body["next_attempt_at"] is None
    assert body["endpoint_id"] is None and body["url"] == CALLBACK_URL
    assert body["last_status_code"] == 503 and body["last_error"] == "The receiver answered 503."
    assert [attempt["number"] for attempt in body["attempt_history"]] == [1, 2]
    first, second = body["attempt_history"]
    assert set(first) == {"number", "started_at", "duration_ms", "status_code", "response_body", "error"}
    assert (first["status_code"], first["error"], first["duration_ms"]) == (None, "No answer within 2 s.", 2000)
    assert (second["status_code"], second["response_body"]) == (503, "upstream down")


def test_redeliver_sets_a_failed_delivery_back_to_pending(owner_api, story):
    delivery = fail_with_attempts(Delivery.objects.order_by("pk").first())
    response = owner_api.post(f"{DELIVERIES}/{delivery.pk}/redeliver")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["id"] == delivery.pk and body["status"] == "pending" and body["next_attempt_at"] is not None
    assert len(body["attempt_history"]) == 2
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 2
    assert delivery.next_attempt_at <= timezone.now()


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("post", "/redeliver")])
def test_an_outsider_gets_404_for_another_workspaces_delivery(outsider_api, story, method, suffix):
    delivery = fail_with_attempts(Delivery.objects.order_by("pk").first())
    response = getattr(outsider_api, method)(f"{DELIVERIES}/{delivery.pk}{suffix}")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_an_unknown_delivery_is_a_404_problem(owner_api):
    response = owner_api.get(f"{DELIVERIES}/987654321")
    assert response.status_code == 404 and response.json()["type"] == "/problems/not-found"


# ---- a job's events ----------------------------------------------------------------------------


def test_a_jobs_events_are_listed_in_sequence_order(owner_api, story):
    response = owner_api.get(f"/api/v1/jobs/{story.cancelled_job['id']}/events")
    assert response.status_code == 200, response.json()
    events = response.json()["results"]
    assert [(event["sequence"], event["type"]) for event in events] == [(1, "job.accepted"), (2, "job.cancelled")]
    assert set(events[0]) == {"id", "type", "sequence", "created_at", "payload"}
    assert events[1]["payload"]["type"] == "job.cancelled"
    assert events[1]["payload"]["data"]["job_id"] == story.cancelled_job["id"]
    assert events[1]["payload"]["data"]["sequence"] == 2 and events[1]["payload"]["data"]["status"] == "cancelled"
    stored = Event.objects.get(job_id=story.cancelled_job["id"], sequence=1)
    assert events[0]["id"] == str(stored.pk)
    delivered = Delivery.objects.filter(event=stored).values_list("event_id", flat=True)
    assert {str(event_id) for event_id in delivered} == {events[0]["id"]}


def test_an_outsider_gets_404_for_another_workspaces_job_events(outsider_api, story):
    response = outsider_api.get(f"/api/v1/jobs/{story.cancelled_job['id']}/events")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_an_unknown_job_has_no_events_to_list(owner_api):
    response = owner_api.get(f"/api/v1/jobs/{uuid.uuid4()}/events")
    assert response.status_code == 404 and response.json()["type"] == "/problems/not-found"
