from __future__ import annotations

import time
import uuid

import pytest
from kombu import Connection, Queue

from campaigns.models import Product
from jobs.models import Job, JobKind, JobStatus
from tests.factories import make_campaign


def submit(api, body, key=None):
    return api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def generation(campaign, mode="fast_paced", **overrides):
    return {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": mode, **overrides}}


@pytest.fixture
def campaign(owner, product):
    return make_campaign(owner.workspace, product)


def test_an_output_generation_job_is_queued_with_a_snapshot(owner_api, campaign, product):
    response = submit(owner_api, {**generation(campaign, scene_count=4, aspect_ratios=["1:1"]), "metadata": {"order": "7"}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["kind"] == "output_generation"
    assert body["metadata"] == {"order": "7"}
    assert body["steps"]["total"] == 0 and body["assets"] == [] and body["error"] is None
    job = Job.objects.get(pk=body["id"])
    assert job.snapshot["settings"]["scene_count"] == 4
    assert job.snapshot["settings"]["aspect_ratios"] == ["1:1"]
    assert job.snapshot["settings"]["duration_s"] == 30  # from the campaign
    assert job.snapshot["product"]["images"][0]["sha256"] == product.images.get().sha256


def test_editing_the_product_later_does_not_change_the_job_snapshot(owner_api, campaign, product):
    job_id = submit(owner_api, generation(campaign)).json()["id"]
    Product.objects.filter(pk=product.pk).update(name="Renamed", description="Changed")
    snapshot = Job.objects.get(pk=job_id).snapshot
    assert snapshot["product"]["name"] == "Trail bottle"
    assert snapshot["product"]["description"] == "A steel bottle."


def test_a_product_setup_job_is_queued(owner_api, product):
    response = submit(owner_api, {"kind": "product_setup", "payload": {"product_id": str(product.id)}})
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == JobKind.PRODUCT_SETUP and job.snapshot["options"] == {"character_sheet": True, "storyboard_seeds": 4}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "render_everything", "payload": {}}, "kind"),
        ({"kind": "product_setup", "payload": {"product_id": "nope"}}, "payload.product_id"),
        ({"kind": "product_setup", "payload": {"product_id": str(uuid.uuid4())}}, "payload.product_id"),
        ({"kind": "product_setup", "payload": {}, "priority": 1}, "priority"),
        ({"kind": "retry", "payload": {"job_id": str(uuid.uuid4()), "stage": "warp"}}, "payload.stage"),
        ({"kind": "output_generation", "payload": []}, "payload"),
    ],
)
def test_strict_contracts_name_the_failing_field(owner_api, body, field):
    response = submit(owner_api, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert Job.objects.count() == 0


def test_payload_fields_are_strict_and_typed(owner_api, campaign):
    response = submit(owner_api, generation(campaign, colour="red", scene_count="many", output_mode="ugc"))
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"payload.colour", "payload.scene_count"}


def test_a_mode_the_campaign_does_not_produce_is_refused(owner, owner_api, product):
    campaign = make_campaign(owner.workspace, product, modes=["image_bundle"])
    response = submit(owner_api, generation(campaign, mode="ugc"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "payload.output_mode"


def test_a_retry_of_an_unfinished_job_is_a_conflict(owner_api, campaign):
    job_id = submit(owner_api, generation(campaign)).json()["id"]
    response = submit(owner_api, {"kind": "retry", "payload": {"job_id": job_id, "stage": "scene_image", "scene": 2}})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/job-not-finished"
    response = submit(owner_api, {"kind": "retry", "payload": {"job_id": job_id, "stage": "stitch", "scene": 2}})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "payload.scene"


@pytest.mark.django_db(transaction=True)
def test_a_committed_job_is_handed_to_the_engine_on_the_orchestrator_queue(owner_api, campaign, settings):
    queue = Queue("orchestrator", routing_key="orchestrator")
    with Connection(settings.CELERY_BROKER_URL) as conn:
        queue(conn.channel()).declare()
        queue(conn.channel()).purge()
        job_id = submit(owner_api, generation(campaign)).json()["id"]
        message = None
        for _ in range(50):
            message = queue(conn.channel()).get(no_ack=True)
            if message is not None:
                break
            time.sleep(0.05)
        assert message is not None, "no message reached the orchestrator queue"
        assert message.headers["task"] == "pipelines.job_run"
        assert message.decode()[0] == [job_id]
    assert Job.objects.get(pk=job_id).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    "callback_url",
    ["http://10.0.0.1/hooks", "http://169.254.169.254/latest/", "ftp://hooks.example/", "http://192.168.1.5:8080/"],
)
def test_a_callback_url_that_reaches_a_non_public_address_is_refused_and_nothing_is_stored(
    owner_api, campaign, callback_url
):
    response = submit(owner_api, generation(campaign, callback_url=callback_url))
    assert response.status_code == 400
    assert response["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "payload.callback_url"
    assert not Job.objects.exists()


def test_a_job_records_that_it_was_accepted_for_its_callback_url(owner_api, campaign):
    from callbacks.models import Delivery, Event

    response = submit(owner_api, generation(campaign, callback_url="http://127.0.0.1:9/hooks"))
    assert response.status_code == 201, response.json()
    event = Event.objects.get(job_id=response.json()["id"])
    assert event.type == "job.accepted" and event.sequence == 1
    assert event.payload["data"]["status"] == "queued" and event.payload["data"]["sequence"] == 1
    assert Delivery.objects.get(event=event).url == "http://127.0.0.1:9/hooks"
