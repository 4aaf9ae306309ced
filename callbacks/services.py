"""Write paths of the callback outbox: recording events, sending deliveries, the sweeper, endpoints.

The sender returns a result value instead of raising; `retry_decision` alone decides whether
and when a delivery is tried again.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from adfame.ssrf import UnsafeUrl, resolve_public, safe_request
from callbacks.models import (
    CallbackSecret,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    EventType,
    WebhookEndpoint,
)
from callbacks.signing import secret_generate, signed_headers
from campaigns.models import Workspace

logger = logging.getLogger(__name__)

SEND_TASK = "callbacks.delivery_send"
CALLBACKS_QUEUE = "callbacks"
RESPONSE_KEPT_BYTES = 2048


# ---- recording events (inside the caller's transaction) -----------------------------------------

# Events and their deliveries in one statement. The sequence continues from the job's last event:
# callers hold the job row's lock (they have just updated it), so no other event of the job can
# be written between the MAX and the INSERT; the unique constraint guards the rest.
_RECORD_SQL = """
WITH base AS (
    SELECT COALESCE(MAX(sequence), 0) AS last FROM callbacks_event WHERE job_id = %(job_id)s
), inserted AS (
    INSERT INTO callbacks_event (id, workspace_id, job_id, type, sequence, payload, created_at)
    SELECT e.id, %(workspace_id)s, %(job_id)s, e.type, base.last + e.n,
           jsonb_set(e.payload, '{data,sequence}', to_jsonb(base.last + e.n)), %(now)s
      FROM base, unnest(%(ids)s::uuid[], %(types)s::text[], %(payloads)s::jsonb[]) WITH ORDINALITY AS e(id, type, payload, n)
    RETURNING id, type
)
INSERT INTO callbacks_delivery (event_id, endpoint_id, url, status, attempts, next_attempt_at, published_at,
                                last_error, created_at, updated_at)
SELECT inserted.id, endpoint.id, endpoint.url, 'pending', 0, %(now)s, %(now)s, '', %(now)s, %(now)s
  FROM inserted JOIN callbacks_webhookendpoint AS endpoint
    ON endpoint.workspace_id = %(workspace_id)s AND endpoint.active
   AND (endpoint.event_types = '[]'::jsonb OR endpoint.event_types @> jsonb_build_array(inserted.type))
UNION ALL
SELECT inserted.id, NULL, %(callback_url)s, 'pending', 0, %(now)s, %(now)s, '', %(now)s, %(now)s
  FROM inserted WHERE %(callback_url)s <> ''
RETURNING id
"""


def events_record(
    *,
    workspace_id: Any,
    job_id: Any,
    callback_url: str,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    """Record a job's events and a delivery to each receiver; deliveries are sent after commit.

    `events` are (type, data) pairs in the order they happened. The caller must hold the job
    row's lock in the current transaction (it has just changed the job's state).
    """
    if not events:
        return
    now = timezone.now()
    timestamp = now.isoformat()
    ids = [uuid.uuid4() for _ in events]
    payloads = [{"type": type_, "timestamp": timestamp, "data": data} for type_, data in events]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_SQL, {
                "job_id": job_id, "workspace_id": workspace_id, "callback_url": callback_url, "now": now,
                "ids": ids, "types": [type_ for type_, _ in events],
                "payloads": [json.dumps(payload, default=str) for payload in payloads],
            })
            delivery_ids = [row[0] for row in cursor.fetchall()]
    else:
        delivery_ids = _record_portable(workspace_id, job_id, callback_url, ids, payloads, now)
    if delivery_ids:
        transaction.on_commit(lambda: deliveries_publish(delivery_ids))


def _record_portable(
    workspace_id: Any, job_id: Any, callback_url: str, ids: list[uuid.UUID], payloads: list[dict[str, Any]],
    now: datetime,
) -> list[int]:
    """The same in a few ORM statements, for SQLite (the zero-configuration demo)."""
    last = Event.objects.filter(job_id=job_id).order_by("-sequence").values_list("sequence", flat=True).first() or 0
    rows = []
    for offset, (id_, payload) in enumerate(zip(ids, payloads, strict=True), start=1):
        payload["data"]["sequence"] = last + offset
        rows.append(Event(id=id_, workspace_id=workspace_id, job_id=job_id, type=payload["type"],
                          sequence=last + offset, payload=json.loads(json.dumps(payload, default=str)),
                          created_at=now))
    Event.objects.bulk_create(rows)
    endpoints = list(WebhookEndpoint.objects.filter(workspace_id=workspace_id, active=True))
    deliveries = [
        Delivery(event=event, endpoint=endpoint, url=endpoint.url, next_attempt_at=now, published_at=now,
                 created_at=now, updated_at=now)
        for event in rows for endpoint in endpoints
        if not endpoint.event_types or event.type in endpoint.event_types
    ]
    if callback_url:
        deliveries += [
            Delivery(event=event, url=callback_url, next_attempt_at=now, published_at=now, created_at=now, updated_at=now)
            for event in rows
        ]
    return [delivery.pk for delivery in Delivery.objects.bulk_create(deliveries)]


def deliveries_publish(delivery_ids: Iterable[int]) -> None:
    """Hand deliveries to the callbacks workers; one that is lost is found by the sweeper."""
    from adfame.celery import app

    try:
        for delivery_id in delivery_ids:
            app.send_task(SEND_TASK, args=[delivery_id], queue=CALLBACKS_QUEUE)
    except Exception:  # the rows are the truth; the sweeper publishes what was not
        logger.exception("could not publish webhook deliveries")


# ---- sending one delivery ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt came to."""

    status_code: int | None
    response_body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def retry_decision(*, attempts: int, result: SendResult, now: datetime) -> tuple[str, datetime | None]:
    """The delivery's next status, and when its next attempt is due (None when there is none)."""
    if result.ok:
        return DeliveryStatus.SUCCEEDED, None
    schedule = settings.ADFAME_WEBHOOK_RETRY_SCHEDULE
    if result.gone or attempts > len(schedule):
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, now + timedelta(seconds=schedule[attempts - 1])


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    """Take a due delivery for one attempt; None if it is not due, done, or someone else's."""
    # Past the lease the attempt counts as lost (a killed worker) and the sweeper sends it again.
    lease = timedelta(seconds=2 * settings.ADFAME_WEBHOOK_TIMEOUT_S + 5)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + lease, attempts=F("attempts") + 1, updated_at=now)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)


def _signing_secrets(delivery: Delivery, now: datetime) -> list[str]:
    owner: WebhookEndpoint | CallbackSecret = delivery.endpoint or callback_secret_get_or_create(
        workspace_id=delivery.event.workspace_id
    )
    secrets = [owner.secret]
    if owner.previous_secret and owner.previous_secret_expires_at and owner.previous_secret_expires_at > now:
        secrets.append(owner.previous_secret)
    return secrets


def _send(delivery: Delivery, secrets: list[str]) -> SendResult:
    body = json.dumps(delivery.event.payload, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "AdFame-Webhooks/1.0",
        **signed_headers(secrets, str(delivery.event_id), int(time.time()), body),
    }
    started = time.perf_counter()
    status_code, response_body, error = None, "", ""
    try:
        response = safe_request(
            "POST", delivery.url, headers=headers, content=body,
            timeout_s=settings.ADFAME_WEBHOOK_TIMEOUT_S, max_bytes=RESPONSE_KEPT_BYTES,
        )
        status_code, response_body = response.status_code, response.text
        if 300 <= status_code < 400:
            error = f"The receiver redirected to {response.location or 'nowhere'}; redirects are not followed."
        elif not 200 <= status_code < 300:
            error = f"The receiver answered {status_code}."
    except UnsafeUrl as refused:
        error = f"Refused: {refused}"
    except httpx.TimeoutException:
        error = f"No answer within {settings.ADFAME_WEBHOOK_TIMEOUT_S} s."
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"
    return SendResult(status_code, response_body, error, int((time.perf_counter() - started) * 1000))


def delivery_attempt(*, delivery_id: int) -> SendResult | None:
    """Make one attempt of a due delivery and record it; None when it was not this worker's to make."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.active and delivery.event.type != EventType.PING:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, claimed_until=None, attempts=F("attempts") - 1, updated_at=now,
            last_error=f"The endpoint is disabled: {endpoint.disabled_reason or 'by its owner'}",
        )
        return None
    result = _send(delivery, _signing_secrets(delivery, now))
    _record_attempt(delivery, result)
    return result


@transaction.atomic
def _record_attempt(delivery: Delivery, result: SendResult) -> None:
    now = timezone.now()
    status, next_attempt_at = retry_decision(attempts=delivery.attempts, result=result, now=now)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, started_at=now - timedelta(milliseconds=result.duration_ms),
        duration_ms=result.duration_ms, status_code=result.status_code, response_body=result.response_body,
        error=result.error,
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        claimed_until=None,
        next_attempt_at=next_attempt_at or delivery.next_attempt_at,
        last_status_code=result.status_code,
        last_error=result.error,
        delivered_at=now if result.ok else None,
        updated_at=now,
    )
    if result.gone:
        _receiver_gone(delivery, now)


def _receiver_gone(delivery: Delivery, now: datetime) -> None:
    """410 Gone: the receiver wants nothing more; stop sending to it."""
    reason = f"The receiver answered 410 Gone at {now.isoformat(timespec='seconds')}."
    owed = Delivery.objects.filter(status=DeliveryStatus.PENDING).exclude(pk=delivery.pk)
    if delivery.endpoint_id is not None:
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            active=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        owed = owed.filter(endpoint_id=delivery.endpoint_id)
    else:
        owed = owed.filter(endpoint__isnull=True, url=delivery.url, event__job_id=delivery.event.job_id)
    owed.update(status=DeliveryStatus.FAILED, last_error=reason, updated_at=now)


# ---- the sweeper ---------------------------------------------------------------------------------


def deliveries_sweep(*, limit: int = 1000) -> int:
    """Publish due deliveries whose task was lost, or that wait for a retry. Returns how many."""
    now = timezone.now()
    published_before = now - timedelta(seconds=settings.ADFAME_WEBHOOK_SWEEP_GRACE_S)
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(Q(published_at__isnull=True) | Q(published_at__lt=published_before) | Q(attempts__gt=0, published_at__lt=F("next_attempt_at")))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if due:
            Delivery.objects.filter(pk__in=due).update(published_at=now)
            transaction.on_commit(lambda: deliveries_publish(due))
    return len(due)


# ---- endpoints and secrets -----------------------------------------------------------------------


def url_check(url: str) -> None:
    """Refuse a URL that is not http(s) or reaches a non-public address (raises UnsafeUrl)."""
    resolve_public(url)


def endpoint_create(
    *, workspace: Workspace, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    url_check(url)
    return WebhookEndpoint.objects.create(
        workspace=workspace, url=url, event_types=event_types, description=description, secret=secret_generate()
    )


def endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change url, event_types, description or active; re-enabling clears the disabled reason."""
    if "url" in changes:
        url_check(changes["url"])
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("active") is True:
        endpoint.disabled_reason, endpoint.disabled_at = "", None
    elif changes.get("active") is False and not endpoint.disabled_reason:
        endpoint.disabled_reason, endpoint.disabled_at = "Disabled by its owner.", timezone.now()
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery history; deliveries still owed to it are dropped."""
    endpoint.delete()


def _rotate(owner: WebhookEndpoint | CallbackSecret, overlap_s: int | None) -> str:
    overlap = settings.ADFAME_WEBHOOK_SECRET_OVERLAP_S if overlap_s is None else overlap_s
    owner.previous_secret = owner.secret
    owner.previous_secret_expires_at = timezone.now() + timedelta(seconds=overlap)
    owner.secret = secret_generate()
    owner.save()
    return owner.secret


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, overlap_s: int | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (both signatures are sent) for the overlap."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    _rotate(endpoint, overlap_s)
    return endpoint


def callback_secret_get_or_create(*, workspace_id: Any) -> CallbackSecret:
    secret, _ = CallbackSecret.objects.get_or_create(workspace_id=workspace_id, defaults={"secret": secret_generate()})
    return secret


@transaction.atomic
def callback_secret_rotate(*, workspace: Workspace, overlap_s: int | None = None) -> CallbackSecret:
    """A new secret for contracts' callback_url deliveries; the old one keeps signing for the overlap."""
    callback_secret_get_or_create(workspace_id=workspace.pk)
    owner = CallbackSecret.objects.select_for_update().get(workspace=workspace)
    _rotate(owner, overlap_s)
    return owner


@transaction.atomic
def endpoint_ping(*, endpoint: WebhookEndpoint) -> Delivery:
    """Send a signed test event to one endpoint (even a disabled one, to check it before enabling)."""
    now = timezone.now()
    event_id = uuid.uuid4()
    event = Event.objects.create(
        id=event_id, workspace_id=endpoint.workspace_id, type=EventType.PING, created_at=now,
        payload={"type": EventType.PING, "timestamp": now.isoformat(),
                 "data": {"endpoint_id": str(endpoint.pk), "message": "A test event from AdFame."}},
    )
    delivery = Delivery.objects.create(
        event=event, endpoint=endpoint, url=endpoint.url, next_attempt_at=now, published_at=now,
        created_at=now, updated_at=now,
    )
    transaction.on_commit(lambda: deliveries_publish([delivery.pk]))
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now, whatever became of it; a failed one gets one more attempt."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, published_at=now, claimed_until=None, updated_at=now
    )
    transaction.on_commit(lambda: deliveries_publish([delivery.pk]))
    delivery.refresh_from_db()
    return delivery
