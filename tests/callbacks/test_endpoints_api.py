"""The webhook endpoints API: registration (secret shown once), SSRF refusals, changes, secrets, ping."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from callbacks.models import CallbackSecret, Delivery, DeliveryStatus, EventType, WebhookEndpoint

ENDPOINTS = "/api/v1/webhooks/endpoints"
# Loopback is allowed by the test settings; nothing listens on port 9 and no worker runs here.
HOOK_URL = "http://127.0.0.1:9/hooks/adfame"


def register(api, **fields):
    return api.post(ENDPOINTS, {"url": HOOK_URL, **fields}, format="json")


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


@pytest.fixture
def endpoint(owner_api) -> dict:
    response = register(owner_api, description="CRM")
    assert response.status_code == 201, response.json()
    return response.json()


# ---- registration ------------------------------------------------------------------------------


def test_it_shows_the_secret_only_on_creation(owner_api):
    response = register(owner_api, event_types=["job.completed", "job.failed"], description="CRM")
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["url"] == HOOK_URL and body["description"] == "CRM"
    assert body["event_types"] == ["job.completed", "job.failed"]
    assert body["active"] is True and body["disabled_reason"] == "" and body["disabled_at"] is None
    assert body["secret_rotation"] is None
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == secret

    listing = owner_api.get(ENDPOINTS)
    assert listing.json()["count"] == 1 and "secret" not in listing.json()["results"][0]
    detail = owner_api.get(f"{ENDPOINTS}/{body['id']}")
    assert detail.status_code == 200 and "secret" not in detail.json()
    assert secret not in listing.content.decode() and secret not in detail.content.decode()


def test_absent_event_types_mean_every_event(owner_api):
    body = register(owner_api).json()
    assert body["event_types"] == [] and body["description"] == ""


@pytest.mark.parametrize(
    "event_types",
    [["job.exploded"], [EventType.PING], ["job.failed", "job.failed"], "job.failed"],
    ids=["unknown", "ping", "repeated", "not-a-list"],
)
def test_a_bad_event_type_list_is_a_400_problem_and_nothing_is_created(owner_api, event_types):
    body = assert_problem(register(owner_api, event_types=event_types), 400, "validation-error")
    assert {error["field"].split("[")[0] for error in body["errors"]} == {"event_types"}
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_field_is_refused(owner_api):
    body = assert_problem(register(owner_api, secret="whsec_mine"), 400, "validation-error")
    assert [error["field"] for error in body["errors"]] == ["secret"]
    assert not WebhookEndpoint.objects.exists()


def test_a_missing_or_too_long_url_is_refused(owner_api):
    missing = assert_problem(owner_api.post(ENDPOINTS, {}, format="json"), 400, "validation-error")
    assert [error["field"] for error in missing["errors"]] == ["url"]
    long_url = "https://example.com/" + "a" * 2000
    assert_problem(owner_api.post(ENDPOINTS, {"url": long_url}, format="json"), 400, "validation-error")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/"])
def test_it_refuses_to_register_a_private_or_metadata_address(owner_api, url):
    body = assert_problem(register(owner_api, url=url), 400, "unsafe-url")
    assert body["title"] == "URL not allowed" and "not a public address" in body["detail"]
    assert body["errors"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


@override_settings(ADFAME_ALLOW_LOOPBACK_URLS=False)
@pytest.mark.parametrize("url", ["http://[::1]/", "http://localhost/", "http://127.0.0.1:8000/hook"])
def test_it_refuses_loopback_addresses_when_loopback_is_not_allowed(owner_api, url):
    assert_problem(register(owner_api, url=url), 400, "unsafe-url")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)"])
def test_it_refuses_a_url_that_is_not_http(owner_api, url):
    body = assert_problem(register(owner_api, url=url), 400, "validation-error")
    assert {error["field"] for error in body["errors"]} == {"url"}
    assert not WebhookEndpoint.objects.exists()


def test_the_api_key_is_required(db, anonymous_api):
    assert_problem(anonymous_api.get(ENDPOINTS), 401, "unauthenticated")
    assert_problem(register(anonymous_api), 401, "unauthenticated")
    assert not WebhookEndpoint.objects.exists()


def test_the_list_shows_only_the_callers_endpoints(owner_api, outsider_api, endpoint):
    register(outsider_api, url="http://127.0.0.1:9/globex")
    ids = [item["id"] for item in owner_api.get(ENDPOINTS).json()["results"]]
    assert ids == [endpoint["id"]]


# ---- changes -----------------------------------------------------------------------------------


def test_it_changes_the_url_event_types_and_description(owner_api, endpoint):
    changes = {"url": "http://127.0.0.1:9/v2", "event_types": ["job.completed"], "description": "CRM v2"}
    response = owner_api.patch(f"{ENDPOINTS}/{endpoint['id']}", changes, format="json")
    assert response.status_code == 200, response.json()
    assert {name: response.json()[name] for name in changes} == changes
    row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert (row.url, row.event_types, row.description) == ("http://127.0.0.1:9/v2", ["job.completed"], "CRM v2")
    assert row.secret == endpoint["secret"]


def test_disabling_records_a_reason_and_enabling_clears_it(owner_api, endpoint):
    url = f"{ENDPOINTS}/{endpoint['id']}"
    disabled = owner_api.patch(url, {"active": False}, format="json").json()
    assert disabled["active"] is False and disabled["disabled_reason"] == "Disabled by its owner."
    assert disabled["disabled_at"] is not None
    enabled = owner_api.patch(url, {"active": True}, format="json").json()
    assert enabled["active"] is True and enabled["disabled_reason"] == "" and enabled["disabled_at"] is None


def test_changing_the_url_to_an_internal_address_is_refused_and_changes_nothing(owner_api, endpoint):
    response = owner_api.patch(
        f"{ENDPOINTS}/{endpoint['id']}", {"url": "http://192.168.1.10/hook", "description": "new"}, format="json"
    )
    assert_problem(response, 400, "unsafe-url")
    row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert row.url == HOOK_URL and row.description == "CRM"


def test_a_patch_with_an_unknown_field_or_bad_value_changes_nothing(owner_api, endpoint):
    url = f"{ENDPOINTS}/{endpoint['id']}"
    unknown = assert_problem(owner_api.patch(url, {"secret": "whsec_x"}, format="json"), 400, "validation-error")
    assert [error["field"] for error in unknown["errors"]] == ["secret"]
    bad = owner_api.patch(url, {"event_types": ["job.exploded"], "description": "new"}, format="json")
    assert_problem(bad, 400, "validation-error")
    row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert row.event_types == [] and row.description == "CRM" and row.secret == endpoint["secret"]


def test_it_deletes_an_endpoint(owner_api, endpoint):
    url = f"{ENDPOINTS}/{endpoint['id']}"
    response = owner_api.delete(url)
    assert response.status_code == 204 and not response.content
    assert not WebhookEndpoint.objects.exists()
    assert_problem(owner_api.get(url), 404, "not-found")


# ---- secrets -----------------------------------------------------------------------------------


def test_rotating_the_secret_shows_a_new_one_and_the_old_one_signs_until_it_expires(owner_api, endpoint):
    overlap = timedelta(hours=1)
    before = timezone.now()
    response = owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", {"overlap_s": 3600}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert row.secret == body["secret"] and row.previous_secret == endpoint["secret"]
    assert before + overlap <= row.previous_secret_expires_at <= timezone.now() + overlap
    assert parse_datetime(body["previous_secret_expires_at"]) == row.previous_secret_expires_at
    assert body["secret_rotation"] == {"previous_secret_expires_at": body["previous_secret_expires_at"]}

    detail = owner_api.get(f"{ENDPOINTS}/{endpoint['id']}")
    assert detail.json()["secret_rotation"] == body["secret_rotation"]
    assert body["secret"] not in detail.content.decode() and endpoint["secret"] not in detail.content.decode()


def test_rotating_without_a_body_uses_the_default_overlap(owner_api, endpoint, settings):
    response = owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret")
    assert response.status_code == 200, response.json()
    expires_at = WebhookEndpoint.objects.get(pk=endpoint["id"]).previous_secret_expires_at
    expected = timezone.now() + timedelta(seconds=settings.ADFAME_WEBHOOK_SECRET_OVERLAP_S)
    assert abs(expires_at - expected) < timedelta(minutes=1)


def test_a_rotation_without_overlap_ends_the_old_secret_at_once(owner_api, endpoint):
    body = owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", {"overlap_s": 0}, format="json").json()
    assert body["secret_rotation"] is None


@pytest.mark.parametrize("overlap_s", [-1, 604801, "soon"])
def test_an_overlap_out_of_range_is_refused_and_the_secret_kept(owner_api, endpoint, overlap_s):
    response = owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", {"overlap_s": overlap_s}, format="json")
    assert_problem(response, 400, "validation-error")
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).secret == endpoint["secret"]


def test_rotating_the_callback_secret_shows_the_new_one_and_keeps_the_previous(owner, owner_api):
    first = owner_api.post("/api/v1/webhooks/callback-secret/rotate")
    assert first.status_code == 200, first.json()
    assert first.json()["secret"].startswith("whsec_")
    second = owner_api.post("/api/v1/webhooks/callback-secret/rotate", {"overlap_s": 600}, format="json").json()
    assert set(second) == {"secret", "previous_secret_expires_at"}
    row = CallbackSecret.objects.get(workspace=owner.workspace)
    assert row.secret == second["secret"] != first.json()["secret"]
    assert row.previous_secret == first.json()["secret"]
    assert parse_datetime(second["previous_secret_expires_at"]) == row.previous_secret_expires_at


# ---- ping --------------------------------------------------------------------------------------


def test_ping_records_a_pending_delivery_of_a_ping_event(owner_api, endpoint):
    response = owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/ping")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["event_type"] == "webhook.ping" and body["status"] == "pending" and body["attempts"] == 0
    assert body["endpoint_id"] == endpoint["id"] and body["url"] == HOOK_URL
    assert body["job_id"] is None and body["sequence"] is None
    assert body["next_attempt_at"] is not None and body["attempt_history"] == []
    delivery = Delivery.objects.select_related("event").get(pk=body["id"])
    assert delivery.status == DeliveryStatus.PENDING and delivery.event.type == EventType.PING
    assert delivery.event.payload["data"]["endpoint_id"] == endpoint["id"]
    assert str(delivery.event_id) == body["event_id"]


def test_a_disabled_endpoint_can_still_be_pinged(owner_api, endpoint):
    owner_api.patch(f"{ENDPOINTS}/{endpoint['id']}", {"active": False}, format="json")
    assert owner_api.post(f"{ENDPOINTS}/{endpoint['id']}/ping").status_code == 202


# ---- other workspaces --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "", None),
        ("patch", "", {"description": "mine now"}),
        ("delete", "", None),
        ("post", "/rotate-secret", None),
        ("post", "/ping", None),
        ("get", "/deliveries", None),
    ],
)
def test_an_outsider_gets_404_for_another_workspaces_endpoint(outsider_api, endpoint, method, suffix, data):
    response = getattr(outsider_api, method)(f"{ENDPOINTS}/{endpoint['id']}{suffix}", data, format="json")
    assert_problem(response, 404, "not-found")
    row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert row.description == "CRM" and row.secret == endpoint["secret"] and not row.previous_secret
    assert not Delivery.objects.exists()


def test_an_unknown_endpoint_is_a_404_problem(owner_api):
    assert_problem(owner_api.get(f"{ENDPOINTS}/00000000-0000-0000-0000-000000000000"), 404, "not-found")
