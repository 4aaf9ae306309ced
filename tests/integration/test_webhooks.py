"""Webhooks end to end: a real worker (with beat's sweeper) delivers signed events to a real receiver."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from callbacks.models import (
    CallbackSecret,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventType,
    WebhookEndpoint,
)
from callbacks.services import endpoint_create
from jobs.events import job_event, job_events_emit
from jobs.models import Job, JobKind, JobStatus
from tests.factories import make_campaign
from tests.integration.conftest import purge_queues, running_worker, wait_for
from tests.webhook_receiver import Received, free_port, running_receiver

pytestmark = pytest.mark.django_db(transaction=True)

# Retries slow enough that a receiver can be down for a while, still well under a minute.
PATIENT_RETRIES = {"ADFAME_WEBHOOK_RETRY_SCHEDULE": "1s,1s,2s,2s,3s,3s,4s,4s,5s"}


def wait_until(condition, timeout_s: float = 60, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{message} did not hold within {timeout_s} s")


def all_delivered(job_id: object | None = None) -> bool:
    deliveries = Delivery.objects.all() if job_id is None else Delivery.objects.filter(event__job_id=job_id)
    return deliveries.exists() and not deliveries.exclude(status=DeliveryStatus.SUCCEEDED).exists()


def record_progress(job: Job, count: int = 1) -> list[str]:
    """Commit `count` job.progress events the way the engine does (job row locked), return their ids."""
    ids = []
    for _ in range(count):
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            job_events_emit(locked, [job_event(locked, EventType.JOB_PROGRESS)])
        ids.append(str(Event.objects.filter(job=job).order_by("-sequence").values_list("id", flat=True).first()))
    return ids


def a_job(owner) -> Job:
    return Job.objects.create(
        workspace=owner.workspace, kind=JobKind.OUTPUT_GENERATION, status=JobStatus.RUNNING, output_mode="image_bundle",
        payload={}, snapshot={},
    )


def verified(request: Received, *secrets: str) -> dict:
    """The payload, after checking the signature with the standardwebhooks library for each secret."""
    payload = {}
    for secret in secrets:
        payload = Webhook(secret).verify(request.body, request.headers)
    return payload


def test_every_event_of_a_finished_job_arrives_in_order_and_verifies(owner, product, clean_broker):
    with running_receiver() as receiver, running_worker():
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        campaign = make_campaign(owner.workspace, product, modes=["image_bundle"], aspect_ratios=["1:1"], scene_count=2)
        body = {
            "kind": "output_generation",
            "payload": {"campaign_id": str(campaign.id), "output_mode": "image_bundle",
                        "callback_url": receiver.url.replace("/hooks", "/job-callback")},
            "metadata": {"order": "A-17"},
        }
        response = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == 201, response.json()
        job = wait_for(response.json()["id"])
        assert job.status == JobStatus.SUCCEEDED, job.error
        wait_until(lambda: all_delivered(job.id), message="every delivery succeeded")

    events = list(Event.objects.filter(job=job).order_by("sequence"))
    callback_secret = CallbackSecret.objects.get(workspace=owner.workspace).secret
    by_path = {"/hooks": [], "/job-callback": []}
    for request in receiver.received:
        by_path[request.path].append(request)
    for path, secret in (("/hooks", endpoint.secret), ("/job-callback", callback_secret)):
        requests = by_path[path]
        assert sorted(r.webhook_id for r in requests) == sorted(str(e.id) for e in events), path
        payloads = sorted((verified(r, secret) for r in requests), key=lambda p: p["data"]["sequence"])
        assert [p["data"]["sequence"] for p in payloads] == list(range(1, len(events) + 1))
        assert payloads[0]["type"] == EventType.JOB_ACCEPTED and payloads[1]["type"] == EventType.JOB_STARTED
        assert payloads[-1]["type"] == EventType.JOB_COMPLETED
        progress = [p["data"]["progress"] for p in payloads]
        assert progress == sorted(progress) and progress[-1] == 100
        assert {p["data"]["job_id"] for p in payloads} == {str(job.id)}
        assert payloads[-1]["data"]["metadata"] == {"order": "A-17"}
        created = [p for p in payloads if p["type"] == EventType.ASSET_CREATED]
        assert len(created) == job.assets.count()
        assert {a["role"] for a in payloads[-1]["data"]["assets"]} >= {"bundle", "manifest", "contact_sheet"}
        assert all(p["data"]["assets"][0]["url"].startswith("http") for p in created)
    types = [e.type for e in events]
    assert types.count(EventType.JOB_PROGRESS) == job.steps_total


def test_a_receiver_refusing_connections_gets_every_event_once_it_is_back(owner, clean_broker):
    port = free_port()  # nothing listens here yet: connections are refused
    endpoint = endpoint_create(workspace=owner.workspace, url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    job = a_job(owner)
    with running_worker(PATIENT_RETRIES, beat=True):
        ids = record_progress(job, 5)
        wait_until(
            lambda: DeliveryAttempt.objects.filter(delivery__endpoint=endpoint, number=2).count() == 5,
            message="every delivery refused twice",
        )
        assert not Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists()
        assert "ConnectError" in Delivery.objects.filter(endpoint=endpoint).first().last_error
        with running_receiver(port=port) as receiver:
            receiver.wait_for(5)
            wait_until(all_delivered, message="every delivery succeeded")
            time.sleep(1.5)  # a sweep or two more: nothing may arrive twice
    assert sorted(receiver.ids()) == sorted(ids)  # each once: acknowledged attempts are never repeated
    for delivery in Delivery.objects.filter(endpoint=endpoint):
        attempts = list(delivery.attempt_rows.all())
        assert attempts[-1].status_code == 204 and delivery.attempts == len(attempts) >= 3
        assert all(a.status_code is None and "ConnectError" in a.error for a in attempts[:-1])


def test_500_responses_are_retried_until_the_receiver_accepts(owner, clean_broker):
    def fail_twice(request: Received, seen: int) -> tuple[int, dict[str, str]]:
        return (500, {}) if seen <= 2 else (204, {})

    with running_receiver(fail_twice) as receiver, running_worker(beat=True):
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        [event_id] = record_progress(a_job(owner))
        wait_until(all_delivered, message="the delivery succeeded")
    assert receiver.ids() == [event_id] * 3  # the same webhook-id, retried only while unacknowledged
    delivery = Delivery.objects.get()
    assert [a.status_code for a in delivery.attempt_rows.all()] == [500, 500, 204]
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.delivered_at is not None


def test_410_disables_the_endpoint_and_nothing_more_is_sent_to_it(owner, clean_broker):
    def gone(request: Received, seen: int) -> tuple[int, dict[str, str]]:
        return 410, {}

    with running_receiver(gone) as receiver, running_worker(beat=True):
        endpoint = endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        job = a_job(owner)
        record_progress(job)
        wait_until(lambda: not WebhookEndpoint.objects.get(pk=endpoint.pk).active, message="endpoint disabled")
        record_progress(job)
        time.sleep(2)
    endpoint.refresh_from_db()
    assert "410" in endpoint.disabled_reason and endpoint.disabled_at is not None
    assert len(receiver.received) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 410
    assert Event.objects.filter(job=job).count() == 2  # the second event is recorded, but nobody is owed it


def test_a_rolled_back_transaction_sends_nothing(owner, clean_broker):
    with running_receiver() as receiver, running_worker(beat=True):
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        job = a_job(owner)
        with pytest.raises(RuntimeError), transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            job_events_emit(locked, [job_event(locked, EventType.JOB_PROGRESS)])
            raise RuntimeError("the state change failed")
        assert not Event.objects.exists() and not Delivery.objects.exists()
        [committed] = record_progress(job)  # a later committed event still goes out, and only it
        receiver.wait_for(1)
        time.sleep(1.5)
    assert receiver.ids() == [committed]
    assert Event.objects.get().sequence == 1


def test_a_delivery_whose_publish_was_lost_is_delivered_by_the_sweeper(owner, clean_broker):
    with running_receiver() as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        [event_id] = record_progress(a_job(owner))  # published on commit, with no worker to consume it
        purge_queues()  # ... and the message is lost
        with running_worker(beat=True):
            receiver.wait_for(1)
            wait_until(all_delivered, message="the swept delivery succeeded")
    assert receiver.ids() == [event_id]
    assert Delivery.objects.get().attempts == 1


def test_a_delivery_cut_short_by_a_killed_worker_is_sent_again(owner, clean_broker):
    arrived = threading.Event()

    def hold_the_first(request: Received, seen: int) -> tuple[int, dict[str, str]]:
        if seen == 1:
            arrived.set()
            time.sleep(1.5)  # the worker is killed while it waits for this answer
        return 204, {}

    with running_receiver(hold_the_first) as receiver:
        endpoint_create(workspace=owner.workspace, url=receiver.url, event_types=[])
        with running_worker() as worker:
            [event_id] = record_progress(a_job(owner))
            assert arrived.wait(30), "the first attempt never arrived"
            worker.kill_hard()
        assert Delivery.objects.get().status == DeliveryStatus.PENDING
        with running_worker(beat=True):
            wait_until(all_delivered, timeout_s=60, message="the interrupted delivery succeeded")
    assert receiver.ids() == [event_id, event_id]  # the first answer never reached the killed worker
    delivery = Delivery.objects.get()
    assert delivery.attempts == 2 and delivery.attempt_rows.get().status_code == 204
