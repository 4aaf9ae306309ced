"""The purchase model's data: ingested e-commerce events, feature sets, model versions, gate calls.

Everything belongs to a workspace: its customers, its events and the models trained on them.
"""
from __future__ import annotations

import uuid

from django.db import models

from campaigns.models import Workspace


class IngestionStatus(models.TextChoices):
    PENDING = "pending"  # stored, waiting for a worker
    VALIDATING = "validating"  # rows are being parsed and checked, in chunks
    LOADING = "loading"  # accepted rows are being copied into the events table, in one transaction
    SUCCEEDED = "succeeded"  # every accepted row is in; rejected rows are listed
    FAILED = "failed"  # nothing was loaded (wrong header, unreadable file, a loading error)


class EventIngestion(models.Model):
    """One uploaded CSV of events in the REES46 column layout."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="event_ingestions")
    file = models.FileField(max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=IngestionStatus.choices, default=IngestionStatus.PENDING)
    rows_total = models.PositiveBigIntegerField(default=0, help_text="Data rows read so far (the header excluded).")
    rows_accepted = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    rejected_sample = models.JSONField(
        default=list, blank=True, help_text="The first rejected rows: {line, reason, raw}."
    )
    error = models.TextField(blank=True, help_text="Why the whole file failed.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="ingestion_ws_created")]

    def __str__(self) -> str:
        return f"{self.original_name or self.id} ({self.status})"


class EventType(models.TextChoices):
    VIEW = "view"
    CART = "cart"
    REMOVE_FROM_CART = "remove_from_cart"
    PURCHASE = "purchase"


class CustomerEvent(models.Model):
    """One row of the REES46 layout; `user_id` is the customer a campaign's audience names."""

    id = models.BigAutoField(primary_key=True)
    # Loading is most of an ingestion's time and every index and checked key slows COPY down: the
    # composite indexes below already start with the workspace, and the ingestion is a label.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="customer_events", db_index=False
    )
    ingestion = models.ForeignKey(
        EventIngestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="events",
        db_index=False, db_constraint=False,
    )
    event_time = models.DateTimeField()
    event_type = models.CharField(max_length=16, choices=EventType.choices)
    product_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    category_code = models.CharField(max_length=200, blank=True)
    brand = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    user_id = models.BigIntegerField()
    user_session = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # Covering: the gate's per-customer feature query reads only this index (p99 <= 5 ms).
            models.Index(
                fields=["workspace", "user_id", "event_time"], name="event_ws_user_time",
                include=["event_type", "price", "category_id", "brand", "user_session"],
            ),
            models.Index(fields=["workspace", "event_time"], name="event_ws_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.user_id} at {self.event_time}"


class FeatureSet(models.Model):
    """Per-customer features computed in SQL from events before `cutoff`; versioned per workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="feature_sets")
    version = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text="Features use only events before this moment.")
    label_window_days = models.PositiveSmallIntegerField(default=0, help_text="Labels: a purchase within this many days after the cutoff.")
    feature_names = models.JSONField(default=list)
    customers = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "version"], name="feature_set_version")]

    def __str__(self) -> str:
        return f"feature set v{self.version} (cutoff {self.cutoff:%Y-%m-%d})"


class CustomerFeatures(models.Model):
    feature_set = models.ForeignKey(FeatureSet, on_delete=models.CASCADE, related_name="rows")
    user_id = models.BigIntegerField()
    values = models.JSONField(help_text="Feature values in the order of the set's feature_names.")
    label = models.BooleanField(null=True, blank=True, help_text="Purchased within the label window; empty if unknown.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["feature_set", "user_id"], name="customer_features_unique")]


class Algorithm(models.TextChoices):
    GBM = "gbm"  # scikit-learn histogram gradient boosting
    MLP = "mlp"  # a small torch multilayer perceptron
    LOGREG = "logreg"  # scikit-learn logistic regression, the baseline the others are compared with


class ModelVersion(models.Model):
    """A trained purchase model: its artifact in storage, its metrics, and whether the gate uses it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="model_versions")
    version = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    feature_set = models.ForeignKey(FeatureSet, on_delete=models.CASCADE, related_name="model_versions")
    artifact = models.FileField(max_length=300)
    threshold = models.FloatField(help_text="Probabilities at or above it pass the gate.")
    metrics = models.JSONField(default=dict, help_text="Hold-out ROC AUC, PR AUC, precision, recall, calibration.")
    params = models.JSONField(default=dict, blank=True)
    training_s = models.FloatField(default=0.0)
    promoted = models.BooleanField(default=False)
    promoted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="model_version_unique"),
            # At most one model answers the gate per workspace.
            models.UniqueConstraint(fields=["workspace"], condition=models.Q(promoted=True), name="one_promoted_model"),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} v{self.version}{' (promoted)' if self.promoted else ''}"

    @property
    def label(self) -> str:
        return f"{self.algorithm}-v{self.version}"
