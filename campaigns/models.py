"""Workspaces, members, API keys, products with their images, campaigns, idempotency records."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"  # manages keys and members, may override the purchase gate
        MEMBER = "member"  # uses the workspace's products, campaigns and jobs

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class ApiKey(models.Model):
    """A workspace's API key; only its SHA-256 is stored, the key itself is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Visible start of the key, to tell keys apart.")
    hashed_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    link = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="product_ws_created")]

    def __str__(self) -> str:
        return self.name or str(self.id)


class ProductImage(models.Model):
    class Format(models.TextChoices):
        PNG = "PNG"
        JPEG = "JPEG"
        WEBP = "WEBP"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    file = models.FileField(max_length=300, help_text="Content-addressed: products/<workspace>/<sha256>.<ext>.")
    original_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, choices=Format.choices)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["product", "position"], name="product_image_position")]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"


class BrandAsset(models.Model):
    """A logo or a font file that a campaign's brand kit refers to, or music its `music` setting names."""

    class Kind(models.TextChoices):
        LOGO = "logo"  # PNG, JPEG or WebP; transparency kept
        FONT = "font"  # TrueType or OpenType
        MUSIC = "music"  # MP3, WAV, Ogg, FLAC or M4A that ffmpeg decodes completely

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="brand_assets")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(max_length=300, help_text="Content-addressed: brand/<workspace>/<sha256>.<ext>.")
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name or self.id}"


class OutputMode(models.TextChoices):
    IMAGE_BUNDLE = "image_bundle"  # storyboard concepts -> scene images -> per-ratio crops, zip
    FAST_PACED = "fast_paced"  # quick cuts of scene clips with transitions and a music bed
    SCRIPT_TO_VIDEO = "script_to_video"  # narrated explainer with captions timed to the voice
    UGC = "ugc"  # first-person vertical video with large captions


class AspectRatio(models.TextChoices):
    VERTICAL = "9:16"
    SQUARE = "1:1"
    LANDSCAPE = "16:9"


class Campaign(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"  # jobs may be submitted
        GATED = "gated"  # the purchase gate said no; no generation job is accepted
        ARCHIVED = "archived"  # kept for history; no new jobs

    class GateDecision(models.TextChoices):
        NOT_RUN = "not_run"  # no gate was asked (no audience, or no gate deployed yet)
        PASSED = "passed"  # probability at or above the threshold
        GATED = "gated"  # probability below the threshold
        OVERRIDDEN = "overridden"  # gated, then an owner allowed it with a recorded reason

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=200, blank=True)
    prompt = models.TextField()
    output_modes = models.JSONField(help_text="List of output modes this campaign produces.")
    settings = models.JSONField(help_text="Aspect ratios, duration, scene count, language, voice, brand kit.")
    audience_customer_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    gate_decision = models.CharField(max_length=16, choices=GateDecision.choices, default=GateDecision.NOT_RUN)
    gate_reason = models.TextField(blank=True, help_text="Why the gate decided as it did, or why it did not run.")
    gate_probability = models.FloatField(null=True, blank=True)
    gate_threshold = models.FloatField(null=True, blank=True)
    gate_model_version = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="campaign_ws_created")]

    def __str__(self) -> str:
        return self.name or str(self.id)


class IdempotencyRecord(models.Model):
    """The first response to a (workspace, Idempotency-Key), replayed for repeats of that request.

    The row is written in the same transaction as the resource it created, and the unique
    constraint is what makes concurrent duplicates produce exactly one resource.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request.")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} {self.method} {self.path}"
