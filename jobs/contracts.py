"""The three job contracts: one envelope, strict per-kind payloads, resolved into a job spec.

Resolving a contract checks every reference against the caller's workspace and captures the
snapshot the job will run from, so later edits to products or campaigns never reach a job.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from adfame.api import StrictSerializer, http_url, public_url
from adfame.problems import Problem, validation_problem
from campaigns.apis import BrandKitSerializer, CampaignSettingsSerializer, music_asset_id
from campaigns.models import BrandAsset, Campaign, OutputMode, Product, Workspace
from campaigns.selectors import (
    brand_asset_get_for_workspace,
    brand_kit_resolve,
    campaign_snapshot,
    music_resolve,
    product_snapshot,
)
from jobs.models import Job, JobKind, Stage
from jobs.selectors import job_root, product_setup_checkpoint

MAX_METADATA_KEYS = 20


def _optional(field_: serializers.Field) -> serializers.Field:
    """A copy of a settings field that may be left out (the campaign's value then applies)."""
    kwargs = {
        key: value if key in ("validators", "regex") else copy.deepcopy(value)
        for key, value in field_._kwargs.items()
        if key != "default"
    }
    return field_.__class__(*copy.deepcopy(field_._args), **{**kwargs, "required": False})


class ProductSetupOptions(StrictSerializer):
    character_sheet = serializers.BooleanField(default=True)
    storyboard_seeds = serializers.IntegerField(min_value=0, max_value=12, default=4)


class ProductSetupPayload(StrictSerializer):
    product_id = serializers.UUIDField()
    link = serializers.URLField(max_length=2000, required=False, validators=[http_url])
    options = ProductSetupOptions(default=dict)


class OutputGenerationPayload(StrictSerializer):
    """Campaign id and mode, plus optional overrides of any campaign setting for this job."""

    campaign_id = serializers.UUIDField()
    output_mode = serializers.ChoiceField(choices=OutputMode.choices)
    prompt = serializers.CharField(max_length=4000, required=False)
    callback_url = serializers.URLField(max_length=2000, required=False, validators=[public_url])

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, settings_field in CampaignSettingsSerializer().get_fields().items():
            fields[name] = _optional(settings_field) if name != "brand_kit" else BrandKitSerializer(required=False)
        return fields


class RetryPayload(StrictSerializer):
    job_id = serializers.UUIDField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    scene = serializers.IntegerField(min_value=1, max_value=12, required=False)
    reason = serializers.CharField(max_length=1000, required=False, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "scene" in attrs and attrs["stage"] not in Stage.per_scene():
            raise serializers.ValidationError(
                {"scene": [f"Stage '{attrs['stage']}' is job-level; a scene applies only to {', '.join(Stage.per_scene())}."]}
            )
        return attrs


PAYLOADS: dict[str, type[StrictSerializer]] = {
    JobKind.PRODUCT_SETUP: ProductSetupPayload,
    JobKind.OUTPUT_GENERATION: OutputGenerationPayload,
    JobKind.RETRY: RetryPayload,
}


class JobEnvelope(StrictSerializer):
    kind = serializers.ChoiceField(choices=JobKind.choices)
    payload = serializers.DictField()
    metadata = serializers.DictField(child=serializers.CharField(max_length=500), required=False, default=dict)

    def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_METADATA_KEYS:
            raise serializers.ValidationError(f"At most {MAX_METADATA_KEYS} keys.")
        return value


@dataclass
class JobSpec:
    """A validated contract with its references resolved: everything job_submit writes."""

    kind: str
    payload: dict[str, Any]
    metadata: dict[str, str]
    snapshot: dict[str, Any]
    product: Product | None = None
    campaign: Campaign | None = None
    retry_of: Job | None = None
    output_mode: str = ""
    callback_url: str = ""


def contract_resolve(*, workspace: Workspace, data: Any) -> JobSpec:
    """Validate an envelope and its payload; raise a 400/404/409 problem for anything wrong."""
    envelope = JobEnvelope(data=data)
    if not envelope.is_valid():
        raise validation_problem(envelope.errors)
    kind = envelope.validated_data["kind"]
    raw_payload = envelope.validated_data["payload"]
    payload_serializer = PAYLOADS[kind](data=raw_payload)
    if not payload_serializer.is_valid():
        raise validation_problem({"payload": payload_serializer.errors})
    payload = _jsonable(payload_serializer.validated_data)
    metadata = envelope.validated_data["metadata"]
    if kind == JobKind.PRODUCT_SETUP:
        return _product_setup(workspace, payload, metadata)
    if kind == JobKind.OUTPUT_GENERATION:
        return _output_generation(workspace, payload, raw_payload, metadata)
    return _retry(workspace, payload, metadata)


def _product_setup(workspace: Workspace, payload: dict[str, Any], metadata: dict[str, str]) -> JobSpec:
    product = Product.objects.filter(workspace=workspace, pk=payload["product_id"]).first()
    if product is None:
        raise validation_problem({"payload": {"product_id": ["No product with this id in your workspace."]}})
    snapshot_product = product_snapshot(product=product)
    if "link" in payload:
        snapshot_product["link"] = payload["link"]
    return JobSpec(
        kind=JobKind.PRODUCT_SETUP,
        payload=payload,
        metadata=metadata,
        snapshot={"product": snapshot_product, "options": payload["options"]},
        product=product,
    )


def _output_generation(
    workspace: Workspace, payload: dict[str, Any], raw_payload: dict[str, Any], metadata: dict[str, str]
) -> JobSpec:
    campaign = Campaign.objects.select_related("product").filter(workspace=workspace, pk=payload["campaign_id"]).first()
    if campaign is None:
        raise validation_problem({"payload": {"campaign_id": ["No campaign with this id in your workspace."]}})
    if campaign.status == Campaign.Status.GATED:
        evidence = (
            f"the probability {campaign.gate_probability:.1%} of a purchase is below the threshold "
            f"{campaign.gate_threshold:.1%} of model {campaign.gate_model_version}."
            if campaign.gate_probability is not None
            else campaign.gate_reason
        )
        raise Problem(
            409,
            "campaign-gated",
            "Campaign is gated",
            f"The purchase gate gated campaign {campaign.id}: {evidence} An owner of the workspace may let it run "
            f"with POST /api/v1/campaigns/{campaign.id}/gate-override and a reason.",
            probability=campaign.gate_probability,
            threshold=campaign.gate_threshold,
            model_version=campaign.gate_model_version or None,
        )
    if campaign.status != Campaign.Status.ACTIVE:
        raise Problem(
            409,
            "campaign-not-active",
            "Campaign does not accept jobs",
            f"Campaign {campaign.id} is {campaign.status}: {campaign.gate_reason or 'it accepts no new jobs.'}",
        )
    if payload["output_mode"] not in campaign.output_modes:
        raise validation_problem(
            {"payload": {"output_mode": [f"The campaign's output modes are {', '.join(campaign.output_modes)}."]}}
        )
    for kind in (BrandAsset.Kind.LOGO, BrandAsset.Kind.FONT):
        asset_id = (payload.get("brand_kit") or {}).get(kind)
        if asset_id and not brand_asset_get_for_workspace(workspace=workspace, asset_id=asset_id, kind=kind):
            raise validation_problem({"payload": {f"brand_kit.{kind}": [f"No {kind} brand asset with this id."]}})

    overrides = {key: payload[key] for key in CampaignSettingsSerializer().fields if key in raw_payload}
    settings = {**campaign.settings, **overrides}
    # The campaign's own music asset may have gone since; either way the job needs one that exists.
    music = music_asset_id(settings.get("music"))
    if music and not brand_asset_get_for_workspace(workspace=workspace, asset_id=music, kind=BrandAsset.Kind.MUSIC):
        raise validation_problem({"payload": {"music": ["No music brand asset with this id in your workspace."]}})
    campaign_state = campaign_snapshot(campaign=campaign)
    if "brand_kit" in overrides:
        given = {key: overrides["brand_kit"][key] for key in raw_payload["brand_kit"]}
        settings["brand_kit"] = {**campaign.settings.get("brand_kit", {}), **given}
    snapshot = {
        "product": product_snapshot(product=campaign.product),
        "product_setup": product_setup_checkpoint(product=campaign.product),
        "campaign": campaign_state,
        "output_mode": payload["output_mode"],
        "prompt": payload.get("prompt") or campaign.prompt,
        "settings": {
            **settings,
            "brand_kit": brand_kit_resolve(workspace_id=workspace.id, brand_kit=settings.get("brand_kit") or {}),
            "music": music_resolve(workspace_id=workspace.id, music=settings.get("music", "auto")),
        },
    }
    return JobSpec(
        kind=JobKind.OUTPUT_GENERATION,
        payload=payload,
        metadata=metadata,
        snapshot=snapshot,
        product=campaign.product,
        campaign=campaign,
        output_mode=payload["output_mode"],
        callback_url=payload.get("callback_url", ""),
    )


def _retry(workspace: Workspace, payload: dict[str, Any], metadata: dict[str, str]) -> JobSpec:
    source = Job.objects.filter(workspace=workspace, pk=payload["job_id"]).first()
    if source is None:
        raise validation_problem({"payload": {"job_id": ["No job with this id in your workspace."]}})
    if not source.is_terminal:
        raise Problem(
            409,
            "job-not-finished",
            "Job still running",
            f"Job {source.id} is {source.status}; retry it once it has succeeded, failed or been cancelled.",
        )
    scene = payload.get("scene")
    scene_count = (source.snapshot.get("settings") or {}).get("scene_count")
    if scene is not None and scene_count is not None and scene > scene_count:
        raise validation_problem({"payload": {"scene": [f"Job {source.id} has {scene_count} scenes."]}})
    root = job_root(job=source)
    planned_stages = set(root.steps.values_list("stage", flat=True))
    if payload["stage"] not in planned_stages:
        raise validation_problem(
            {"payload": {"stage": [f"Job {source.id} has no {payload['stage']} stage; it has {', '.join(sorted(planned_stages))}."]}}
        )
    retry = {"job_id": str(source.id), "stage": payload["stage"], "scene": scene, "source_kind": root.kind}
    return JobSpec(
        kind=JobKind.RETRY,
        payload=payload,
        metadata=metadata,
        snapshot={**source.snapshot, "retry": retry},
        product=source.product,
        campaign=source.campaign,
        retry_of=source,
        output_mode=source.output_mode,
        callback_url=source.callback_url,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
