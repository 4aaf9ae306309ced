"""One delivery attempt against a real receiver on 127.0.0.1: signing, rotation, the SSRF guard."""
from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbacks.models import Delivery, DeliveryStatus, Event, EventType, WebhookEndpoint
from callbacks.services import (
    SendResult,
    delivery_attempt,
    endpoint_create,
    endpoint_ping,
    endpoint_rotate_secret,
    retry_decision,
)
from callbacks.signing import secret_generate
from jobs.events import job_event, job_events_emit
from jobs.models import Job, JobKind, JobStatus
from tests.webhook_receiver import Received, running_receiver

pytestmark = pytest.mark.django_db


def a_job(workspace) -> Job:
    return Job.objects.create(
        workspace=workspace, kind=JobKind.OUTPUT_GENERATION, status=JobStatus.RUNNING, output_mode="ugc",
        payload={}, snapshot={},
    )


def record(job: Job) -> Delivery | None:
    """Record a job.progress event the way the engine does; its newest delivery, if anyone is owed it."""
    with transaction.atomic():
        job_events_emit(job, [job_event(job, EventType.JOB_PROGRESS, stage="stitch")])
    return Delivery.objects.filter(event__job=job).order_by("-pk").first()


def endpoint_at(workspace, url: str) -> WebhookEndpoint:
    """An endpoint row as if its URL had passed registration (DNS can change after that)."""
    return WebhookEndpoint.objects.create(workspace=workspace, url=url, secret=secret_generate())


def test_it_signs_a_delivery_so_that_the_standard_webhooks_library_verifies_it(owner):
    with running_receiver() as receiver:
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        delivery = record(a_job(owner.workspace))
        result = delivery_attempt(delivery_id=delivery.pk)
    assert result.ok
    [request] = receiver.received
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert request.webhook_id == str(delivery.event_id)
    assert payload["type"] == "job.progress" and payload["data"]["sequence"] == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(request.body, request.headers)


def test_during_a_rotation_both_the_old_and_the_new_secret_verify(owner):
    with running_receiver() as receiver:
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        old_secret = endpoint.secret
        new_secret = endpoint_rotate_secret(endpoint=endpoint, overlap_s=3600).secret
        delivery_attempt(delivery_id=record(a_job(owner.workspace)).pk)
    [request] = receiver.received
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (old_secret, new_secret):
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "job.progress"


def test_after_the_overlap_only_the_new_secret_verifies(owner):
    with running_receiver() as receiver:
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        old_secret = endpoint.secret
        endpoint = endpoint_rotate_secret(endpoint=endpoint, overlap_s=0)
        delivery_attempt(delivery_id=record(a_job(owner.workspace)).pk)
    [request] = receiver.received
    assert Webhook(endpoint.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


@pytest.mark.parametrize(
    "url, loopback_allowed",
    [
        ("http://10.0.0.1/hooks", True),
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://100.64.0.1/hooks", True),
        ("http://[::1]:9/hooks", False),
        ("http://localhost:9/hooks", False),
        ("http://127.0.0.1:9/hooks", False),
    ],
)
def test_a_delivery_to_a_non_public_address_is_refused_and_recorded(owner, url, loopback_allowed):
    endpoint_at(owner.workspace, url)
    delivery = record(a_job(owner.workspace))
    with override_settings(ADFAME_ALLOW_LOOPBACK_URLS=loopback_allowed):
        result = delivery_attempt(delivery_id=delivery.pk)
    assert result.status_code is None and result.error.startswith("Refused:")
    attempt = delivery.attempt_rows.get()
    assert "not a public address" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1  # retried later, like any failure


def test_a_host_that_resolves_to_a_private_address_is_refused_at_delivery(owner, monkeypatch):
    endpoint_at(owner.workspace, "https://hooks.customer.example/adfame")
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "hooks.customer.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.7.9", 443))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    delivery = record(a_job(owner.workspace))
    result = delivery_attempt(delivery_id=delivery.pk)
    assert "192.168.7.9" in result.error and "not a public address" in result.error


def test_a_redirect_is_recorded_and_never_followed(owner):
    def redirect(request: Received, seen: int) -> tuple[int, dict[str, str]]:
        return 307, {"location": "http://10.0.0.1/internal"}

    with running_receiver(redirect) as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        delivery = record(a_job(owner.workspace))
        result = delivery_attempt(delivery_id=delivery.pk)
    assert len(receiver.received) == 1
    assert result.status_code == 307 and "http://10.0.0.1/internal" in result.error and "not followed" in result.error
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 307


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(owner, settings):
    settings.ADFAME_WEBHOOK_TIMEOUT_S = 1

    def slow(request: Received, seen: int) -> tuple[int, dict[str, str]]:
        time.sleep(1.5)
        return 204, {}

    with running_receiver(slow) as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        result = delivery_attempt(delivery_id=record(a_job(owner.workspace)).pk)
    assert result.status_code is None and "No answer within 1 s" in result.error


def test_an_endpoint_only_gets_the_event_types_it_subscribed_to(owner):
    with running_receiver() as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=["job.completed"])
        assert record(a_job(owner.workspace)) is None
        assert Event.objects.filter(type=EventType.JOB_PROGRESS).count() == 1  # recorded, owed to nobody


def test_a_disabled_endpoint_is_owed_nothing_but_can_still_be_pinged(owner):
    with running_receiver() as receiver:
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="paused")
        assert record(a_job(owner.workspace)) is None
        ping = endpoint_ping(endpoint=endpoint)
        assert delivery_attempt(delivery_id=ping.pk).ok
    assert receiver.received[0].payload["type"] == "webhook.ping"


def test_a_delivery_that_is_not_due_or_already_done_is_not_sent_again(owner):
    with running_receiver() as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        delivery = record(a_job(owner.workspace))
        assert delivery_attempt(delivery_id=delivery.pk).ok
        assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_the_default_schedule_is_ten_attempts_over_about_three_days():
    from adfame.env import env_durations

    schedule = env_durations("UNSET_FOR_THIS_TEST", "10s,1m,10m,1h,3h,6h,12h,24h,26h")
    assert len(schedule) + 1 == 10
    assert 2.9 < sum(schedule) / 86400 < 3.1


def test_the_retry_decision_follows_the_schedule_and_gives_up_after_the_last_attempt(settings):
    settings.ADFAME_WEBHOOK_RETRY_SCHEDULE = [10.0, 60.0]
    now = timezone.now()
    failure = SendResult(500, "", "The receiver answered 500.", 5)
    assert retry_decision(attempts=1, result=failure, now=now) == (DeliveryStatus.PENDING, now + timedelta(seconds=10))
    assert retry_decision(attempts=2, result=failure, now=now) == (DeliveryStatus.PENDING, now + timedelta(seconds=60))
    assert retry_decision(attempts=3, result=failure, now=now) == (DeliveryStatus.FAILED, None)
    assert retry_decision(attempts=1, result=SendResult(410, "", "", 5), now=now) == (DeliveryStatus.FAILED, None)
    assert retry_decision(attempts=1, result=SendResult(202, "", "", 5), now=now) == (DeliveryStatus.SUCCEEDED, None)
