"""The callback outbox: webhook endpoints, events (payloads), deliveries and their attempts.

An event is written in the same transaction as the job state change it reports; each receiver
of it gets a delivery row, and each try of a delivery leaves an attempt row (Saleor's split).
"""
from __future__ import annotations

import uuid

from django.db import models

from campaigns.models import Workspace


class EventType(models.TextChoices):
    JOB_ACCEPTED = "job.accepted"  # the contract was stored and handed to the engine
    JOB_STARTED = "job.started"  # the engine created the job's steps and published the first
    JOB_PROGRESS = "job.progress"  # a step succeeded: progress, stage and scene moved on
    ASSET_CREATED = "asset.created"  # a step stored a file (a scene still, a clip, the final video)
    JOB_COMPLETED = "job.completed"  # every step succeeded; the payload lists the outputs
    JOB_FAILED = "job.failed"  # a step failed for good; the payload says which and why
    JOB_CANCELLED = "job.cancelled"  # stopped on request
    PING = "webhook.ping"  # a test event sent on request to one endpoint; belongs to no job


class WebhookEndpoint(models.Model):
    """A URL of the workspace's that receives the events it subscribes to, signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True, help_text="Event types it receives; empty for all.")
    secret = models.CharField(max_length=100, help_text="whsec_… signing secret.")
    previous_secret = models.CharField(max_length=100, blank=True, help_text="Still signs until it expires.")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="endpoint_ws_created")]

    def __str__(self) -> str:
        return self.url


class CallbackSecret(models.Model):
    """The workspace's secret for signing deliveries to job contracts' own callback_url."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="callback_secret")
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"callback secret of {self.workspace}"


class Event(models.Model):
    """One thing that happened to a job; its id is the `webhook-id` every receiver sees."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=EventType.choices)
    sequence = models.PositiveIntegerField(null=True, blank=True, help_text="1, 2, 3… within the job.")
    payload = models.JSONField(help_text="The body every receiver gets: type, timestamp, data.")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "sequence"], name="event_job_sequence")]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="event_ws_created")]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} of {self.job_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt, due at next_attempt_at
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # out of attempts, endpoint disabled, or URL refused; can be redelivered by hand


class Delivery(models.Model):
    """One event to one receiver: a webhook endpoint, or the job contract's callback_url."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries",
        help_text="Empty for a delivery to the job contract's callback_url.",
    )
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it; after this moment the claim is considered lost."
    )
    published_at = models.DateTimeField(null=True, blank=True, help_text="When its send task was last published.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The sweeper's scan: only deliveries still owed are in it.
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=models.Q(status="pending")),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_created"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to {self.url} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP try of a delivery, kept for the delivery's history."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The first 2 KB of the receiver's answer.")
    error = models.TextField(blank=True, help_text="Why no acceptable answer came: refused URL, timeout, …")

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
