"""Job contracts and their durable state: Job, JobStep (one row per stage execution), Asset."""
from __future__ import annotations

import uuid

from django.db import models

from campaigns.models import Campaign, OutputMode, Product, Workspace


class JobKind(models.TextChoices):
    PRODUCT_SETUP = "product_setup"  # neutral image, metadata, character sheet, storyboard seeds
    OUTPUT_GENERATION = "output_generation"  # one output mode for a campaign
    RETRY = "retry"  # re-run an earlier job from a stage (and a scene), reusing what succeeded


class JobStatus(models.TextChoices):
    QUEUED = "queued"  # accepted and handed to the engine; no step has started
    RUNNING = "running"  # at least one step has started
    SUCCEEDED = "succeeded"  # every step succeeded; outputs are final
    FAILED = "failed"  # a step failed permanently; failed_stage and failed_scene say where
    CANCELLED = "cancelled"  # stopped on request; no further step starts

    @classmethod
    def terminal(cls) -> tuple[str, ...]:
        return (cls.SUCCEEDED, cls.FAILED, cls.CANCELLED)


class Stage(models.TextChoices):
    """Every stage a pipeline may run. Job-level stages run once, per-scene stages once a scene."""

    PRODUCT_ANALYSIS = "product_analysis"  # neutral image and metadata of the product
    CHARACTER_SHEET = "character_sheet"  # reference views for scenes with a presenter
    STORYBOARD = "storyboard"  # scenes with shot type, on-screen text, narration, duration
    SCRIPT = "script"  # narration segmented for voiceover and captions
    VOICEOVER = "voiceover"  # speech with measured segment timings
    SCENE_IMAGE = "scene_image"  # per scene: the still image (with fidelity scoring)
    SCENE_VIDEO = "scene_video"  # per scene: the motion clip
    LIP_SYNC = "lip_sync"  # per scene: a presenter's mouth moved to the voice
    STITCH = "stitch"  # the final video: clips, transitions, voice, music, captions
    BUNDLE = "bundle"  # per-ratio crops, contact sheet, zip and manifest

    @classmethod
    def per_scene(cls) -> tuple[str, ...]:
        return (cls.SCENE_IMAGE, cls.SCENE_VIDEO, cls.LIP_SYNC)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=24, choices=JobKind.choices)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries")
    output_mode = models.CharField(max_length=24, choices=OutputMode.choices, blank=True)
    payload = models.JSONField(help_text="The validated contract payload, as submitted.")
    metadata = models.JSONField(default=dict, blank=True, help_text="The client's own labels, echoed back.")
    snapshot = models.JSONField(help_text="Product and campaign state captured at submission; the job runs from it.")
    callback_url = models.URLField(max_length=2000, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0, help_text="Step rows of this job.")
    steps_done = models.PositiveIntegerField(default=0, help_text="Step rows that succeeded.")
    current_stage = models.CharField(max_length=32, blank=True)
    failed_stage = models.CharField(max_length=32, blank=True)
    failed_scene = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the engine published, claimed or finished a step of this job."
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["last_activity_at"],
                name="job_active",
                condition=models.Q(status__in=["queued", "running"]),
            ),
            models.Index(fields=["workspace", "-created_at"], name="job_ws_created"),
            models.Index(fields=["workspace", "status", "-created_at"], name="job_ws_status"),
            models.Index(fields=["workspace", "campaign", "-created_at"], name="job_ws_campaign"),
            models.Index(fields=["workspace", "output_mode", "-created_at"], name="job_ws_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    @property
    def is_terminal(self) -> bool:
        return self.status in JobStatus.terminal()


class StepStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its turn
    RUNNING = "running"  # claimed by a worker
    SUCCEEDED = "succeeded"  # outputs stored; a re-run returns them without calling a provider
    FAILED = "failed"  # failed permanently, or ran out of attempts
    CANCELLED = "cancelled"  # its job was cancelled before it ran


class JobStep(models.Model):
    """One stage of a job, or one scene of a per-scene stage; `attempt` counts its executions."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=32, choices=Stage.choices)
    scene = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Scene number, from 1; empty for job-level stages.")
    position = models.PositiveSmallIntegerField(help_text="Order of the step in its pipeline.")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)
    provider = models.CharField(max_length=100, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    history = models.JSONField(
        default=list, blank=True, help_text="One entry per attempt: worker, task, start, end, outcome, error."
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "scene"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "stage", "scene"], name="job_step_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        scene = f" scene {self.scene}" if self.scene is not None else ""
        return f"{self.stage}{scene} ({self.status})"

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class Asset(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image"
        VIDEO = "video"
        AUDIO = "audio"
        CAPTIONS = "captions"
        ARCHIVE = "archive"
        MANIFEST = "manifest"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="assets")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="assets")
    step = models.ForeignKey(JobStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    role = models.CharField(max_length=32, blank=True, help_text="final, scene, poster, crop, contact_sheet, …")
    file = models.FileField(max_length=300)
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    scene = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Scene number, from 1; empty for job-level stages.")
    aspect_ratio = models.CharField(max_length=8, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.role} of {self.job_id}"
