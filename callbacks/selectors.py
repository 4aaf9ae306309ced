"""Reads of the callbacks app, every one scoped to a workspace."""
from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from callbacks.models import Delivery, Event, WebhookEndpoint
from campaigns.models import Workspace


def endpoints_for_workspace(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("-created_at", "id")


def endpoint_get_for_workspace(*, workspace: Workspace, endpoint_id: object) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.filter(workspace=workspace), pk=endpoint_id)


def _deliveries(workspace: Workspace) -> QuerySet[Delivery]:
    # A delivery belongs to the workspace of its event (a callback_url delivery has no endpoint).
    return (
        Delivery.objects.filter(event__workspace=workspace)
        .select_related("event")
        .prefetch_related("attempt_rows")
    )


def deliveries_for_workspace(
    *,
    workspace: Workspace,
    endpoint_id: object | None = None,
    status: str | None = None,
    event_type: str | None = None,
    job_id: object | None = None,
) -> QuerySet[Delivery]:
    """The workspace's deliveries, newest first, with their event and attempts loaded."""
    deliveries = _deliveries(workspace)
    if endpoint_id:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event__type=event_type)
    if job_id:
        deliveries = deliveries.filter(event__job_id=job_id)
    return deliveries.order_by("-created_at", "-id")


def delivery_get_for_workspace(*, workspace: Workspace, delivery_id: object) -> Delivery:
    return get_object_or_404(_deliveries(workspace), pk=delivery_id)


def events_for_job(*, workspace: Workspace, job_id: object) -> QuerySet[Event]:
    return Event.objects.filter(workspace=workspace, job_id=job_id).order_by("sequence")
