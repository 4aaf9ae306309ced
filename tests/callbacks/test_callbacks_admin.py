"""The webhooks admin: endpoints without their secrets, deliveries with attempts, redelivery, events."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from callbacks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, WebhookEndpoint
from callbacks.services import endpoint_ping
from tests.factories import make_campaign

HOOK_URL = "http://127.0.0.1:9/hooks/adfame"


@pytest.fixture
def staff(db):
    user_model = get_user_model()
    return user_model.objects.create_user("ops", "ops@adfame.test", "s3cret-pass", is_staff=True, is_superuser=True)


@pytest.fixture
def endpoint(owner_api) -> WebhookEndpoint:
    response = owner_api.post("/api/v1/webhooks/endpoints", {"url": HOOK_URL, "description": "CRM"}, format="json")
    assert response.status_code == 201, response.json()
    # A rotation, so that both the current and the previous secret are in the row.
    owner_api.post(f"/api/v1/webhooks/endpoints/{response.json()['id']}/rotate-secret")
    return WebhookEndpoint.objects.get(pk=response.json()["id"])


@pytest.fixture
def failed_delivery(owner, owner_api, product, endpoint) -> Delivery:
    """The job.accepted delivery of a submitted job, after two refused attempts."""
    campaign = make_campaign(owner.workspace, product)
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "ugc"}}
    response = owner_api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.json()
    delivery = Delivery.objects.get(event__job_id=response.json()["id"], endpoint=endpoint)
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, started_at=now - timedelta(seconds=10), duration_ms=2000,
        error="No answer within 2 s.",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=2, started_at=now, duration_ms=40, status_code=503,
        response_body="upstream down", error="The receiver answered 503.",
    )
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=2, last_status_code=503)
    return Delivery.objects.get(pk=delivery.pk)


def assert_no_secret(page: str, endpoint: WebhookEndpoint) -> None:
    assert endpoint.secret not in page and endpoint.previous_secret not in page
    assert "whsec_" not in page


def test_staff_open_the_endpoint_delivery_and_event_changelists(client, staff, endpoint, failed_delivery):
    client.force_login(staff)
    for model in ("webhookendpoint", "delivery", "event"):
        response = client.get(f"/admin/callbacks/{model}/")
        assert response.status_code == 200, model
        assert_no_secret(response.content.decode(), endpoint)
    assert HOOK_URL in client.get("/admin/callbacks/webhookendpoint/?active__exact=1").content.decode()
    failed = client.get("/admin/callbacks/delivery/?status__exact=failed").content.decode()
    assert "job.accepted" in failed and f">{failed_delivery.pk}<" in failed


def test_the_endpoint_page_never_shows_the_secrets(client, staff, endpoint):
    client.force_login(staff)
    response = client.get(f"/admin/callbacks/webhookendpoint/{endpoint.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert HOOK_URL in page and "CRM" in page
    assert_no_secret(page, endpoint)
    assert 'name="secret"' not in page and 'name="previous_secret"' not in page


def test_disabling_an_endpoint_in_the_admin_records_a_reason_and_keeps_the_secret(client, staff, endpoint):
    client.force_login(staff)
    response = client.post(f"/admin/callbacks/webhookendpoint/{endpoint.pk}/change/", {"description": "CRM (paused)"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert row.active is False and row.disabled_reason == "Disabled by its owner." and row.disabled_at
    assert row.description == "CRM (paused)"
    assert (row.url, row.secret, row.previous_secret) == (HOOK_URL, endpoint.secret, endpoint.previous_secret)


def test_a_delivery_page_shows_its_attempts(client, staff, endpoint, failed_delivery):
    client.force_login(staff)
    response = client.get(f"/admin/callbacks/delivery/{failed_delivery.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "No answer within 2 s." in page and "The receiver answered 503." in page and "upstream down" in page
    assert_no_secret(page, endpoint)


def test_the_redeliver_action_sets_the_selected_deliveries_pending(client, staff, endpoint, failed_delivery):
    client.force_login(staff)
    ping = endpoint_ping(endpoint=endpoint)
    Delivery.objects.filter(pk=ping.pk).update(status=DeliveryStatus.SUCCEEDED)
    response = client.post(
        "/admin/callbacks/delivery/",
        {"action": "redeliver", "_selected_action": [failed_delivery.pk, ping.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Redelivering 2 deliveries." in response.content.decode()
    statuses = set(Delivery.objects.filter(pk__in=[failed_delivery.pk, ping.pk]).values_list("status", flat=True))
    assert statuses == {DeliveryStatus.PENDING}
    assert Delivery.objects.get(pk=failed_delivery.pk).attempts == 2


def test_an_event_page_shows_its_payload(client, staff, endpoint, failed_delivery):
    client.force_login(staff)
    event = Event.objects.get(pk=failed_delivery.event_id)
    response = client.get(f"/admin/callbacks/event/{event.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<pre" in page and "&quot;type&quot;: &quot;job.accepted&quot;" in page
    assert str(event.job_id) in page
    assert_no_secret(page, endpoint)


def test_non_staff_are_refused(client, teammate, failed_delivery):
    client.force_login(teammate)
    response = client.get(f"/admin/callbacks/delivery/{failed_delivery.pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
