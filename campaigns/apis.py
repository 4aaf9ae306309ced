"""HTTP API of the campaigns app: products (multipart image upload), brand assets, campaigns."""
from __future__ import annotations

import uuid
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adfame.api import StrictSerializer, file_url, http_url, paginated_response, request_workspace, upload_sha256
from adfame.problems import validation_problem
from adapters.local.music import MOODS
from campaigns import selectors, services
from campaigns.audio import audio_validate
from campaigns.idempotency import Created, idempotent_create
from campaigns.images import UploadRejected, font_validate, image_validate
from campaigns.models import AspectRatio, BrandAsset, Campaign, OutputMode, Product

PRODUCT_FIELDS = {"images", "name", "description", "link"}


class ProductImageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    format = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()

    def get_url(self, image: Any) -> str:
        return file_url(self.context["request"], image.file.name)


class ProductOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    link = serializers.CharField()
    images = ProductImageOutput(many=True)
    created_at = serializers.DateTimeField()


class ProductCollectionApi(APIView):
    """List the workspace's products; create one from uploaded images."""

    parser_classes = [MultiPartParser]

    class InputSerializer(StrictSerializer):
        images = serializers.ListField(child=serializers.FileField(), min_length=1)
        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        link = serializers.URLField(
            max_length=2000, required=False, allow_blank=True, default="", validators=[http_url]
        )

    @extend_schema(operation_id="products_list", responses=ProductOutput(many=True))
    def get(self, request: Request) -> Response:
        products = selectors.products_for_workspace(workspace=request_workspace(request))
        return paginated_response(request, self, products, ProductOutput)

    @extend_schema(
        operation_id="products_create",
        request={"multipart/form-data": InputSerializer},
        responses={201: ProductOutput},
    )
    def post(self, request: Request) -> Response:
        workspace = request_workspace(request)
        uploads: list[UploadedFile] = request.FILES.getlist("images")

        def validate() -> tuple[dict[str, Any], list[Any]]:
            unknown = sorted(set(request.data.keys()) - PRODUCT_FIELDS)
            if unknown:
                raise validation_problem({name: ["Unknown field."] for name in unknown})
            fields = {key: request.data.get(key) for key in ("name", "description", "link") if key in request.data}
            serializer = self.InputSerializer(data={**fields, "images": uploads})
            if not serializer.is_valid():
                raise validation_problem(serializer.errors)
            if len(uploads) > _max_images():
                raise validation_problem({"images": [f"At most {_max_images()} images per product."]})
            images, errors = [], {}
            for index, upload in enumerate(uploads):
                upload.seek(0)
                try:
                    images.append((image_validate(upload), upload.name or ""))
                except UploadRejected as exc:
                    errors[f"images[{index}]"] = [str(exc)]
            if errors:
                raise validation_problem(errors, "One or more images were refused; nothing was stored.")
            return serializer.validated_data, images

        def create(validated: tuple[dict[str, Any], list[Any]]) -> Created:
            data, images = validated
            product = services.product_create(
                workspace=workspace,
                name=data["name"],
                description=data["description"],
                link=data["link"],
                images=images,
            )
            product = selectors.product_get_for_workspace(workspace=workspace, product_id=product.id)
            return Created(201, ProductOutput(product, context={"request": request}).data)

        fingerprint = {
            "fields": {key: request.data.getlist(key) for key in sorted(request.data.keys()) if key != "images"},
            "files": [[upload.name, upload_sha256(upload)] for upload in uploads],
        }
        return idempotent_create(
            request=request, workspace=workspace, fingerprint_body=fingerprint, validate=validate, create=create
        )


def _max_images() -> int:
    from django.conf import settings

    return settings.ADFAME_MAX_IMAGES_PER_PRODUCT


class ProductDetailApi(APIView):
    @extend_schema(operation_id="products_get", responses=ProductOutput)
    def get(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get_for_workspace(workspace=request_workspace(request), product_id=product_id)
        return Response(ProductOutput(product, context={"request": request}).data)


class BrandAssetOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    url = serializers.SerializerMethodField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_url(self, asset: BrandAsset) -> str:
        return file_url(self.context["request"], asset.file.name)


class BrandAssetCreateApi(APIView):
    """Upload a logo (PNG, JPEG, WebP), a font (TTF, OTF) or music (MP3, WAV, Ogg, FLAC, M4A) for campaigns."""

    parser_classes = [MultiPartParser]

    class InputSerializer(StrictSerializer):
        kind = serializers.ChoiceField(choices=BrandAsset.Kind.choices)
        file = serializers.FileField()

    @extend_schema(
        operation_id="brand_assets_create",
        request={"multipart/form-data": InputSerializer},
        responses={201: BrandAssetOutput},
    )
    def post(self, request: Request) -> Response:
        workspace = request_workspace(request)
        upload = request.FILES.get("file")

        def validate() -> tuple[str, Any, str]:
            serializer = self.InputSerializer(data={**request.data.dict(), "file": upload})
            if not serializer.is_valid():
                raise validation_problem(serializer.errors)
            kind = serializer.validated_data["kind"]
            try:
                validate_upload = {BrandAsset.Kind.LOGO: image_validate, BrandAsset.Kind.MUSIC: audio_validate}
                validated = validate_upload.get(kind, font_validate)(upload)
            except UploadRejected as exc:
                raise validation_problem({"file": [str(exc)]}) from None
            return kind, validated, upload.name or ""

        def create(validated: tuple[str, Any, str]) -> Created:
            kind, content, name = validated
            asset = services.brand_asset_create(workspace=workspace, kind=kind, validated=content, original_name=name)
            return Created(201, BrandAssetOutput(asset, context={"request": request}).data)

        fingerprint = {"kind": request.data.get("kind"), "file": upload_sha256(upload) if upload else None}
        return idempotent_create(
            request=request, workspace=workspace, fingerprint_body=fingerprint, validate=validate, create=create
        )


class BrandKitSerializer(StrictSerializer):
    colors = serializers.ListField(
        child=serializers.RegexField(r"^#[0-9A-Fa-f]{6}$", error_messages={"invalid": "Use #RRGGBB."}),
        max_length=6,
        default=list,
    )
    logo = serializers.UUIDField(required=False, allow_null=True, default=None)
    font = serializers.UUIDField(required=False, allow_null=True, default=None)


class MusicSettingField(serializers.CharField):
    """"auto" (a bed chosen by mood from the mode and prompt), "none" (no music), a mood, or the id
    of a music brand asset; stored lower-cased, an id in its canonical form."""

    WORDS = ("auto", "none", *MOODS)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault(
            "help_text",
            "auto (a bed by mood from the mode and prompt), none (no music), a mood "
            f"({', '.join(MOODS)}) or the id of a music brand asset.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip().lower()
        if value in self.WORDS:
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise serializers.ValidationError(
                f"Use auto, none, a mood ({', '.join(MOODS)}) or the id of a music brand asset; got {value!r}."
            ) from None


def music_asset_id(value: str | None) -> str | None:
    """The brand asset id a music setting names, if it names one."""
    return value if value and value not in MusicSettingField.WORDS else None


class CampaignSettingsSerializer(StrictSerializer):
    aspect_ratios = serializers.ListField(
        child=serializers.ChoiceField(choices=AspectRatio.choices), min_length=1, max_length=3, default=lambda: ["9:16"]
    )
    duration_s = serializers.IntegerField(min_value=6, max_value=120, default=30)
    scene_count = serializers.IntegerField(min_value=1, max_value=12, default=6)
    language = serializers.RegexField(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35, default="en")
    voice = serializers.RegexField(r"^[A-Za-z0-9_+\-.]{1,64}$", default="default")
    call_to_action = serializers.CharField(max_length=40, default="Shop now")
    brand_kit = BrandKitSerializer(default=dict)
    music = MusicSettingField(default="auto")

    def validate_aspect_ratios(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each aspect ratio may appear once.")
        return value


class AudienceSerializer(StrictSerializer):
    customer_id = serializers.RegexField(
        r"^[0-9]{1,18}$",
        error_messages={"invalid": "A customer id is the integer user_id of the customer's events, e.g. 512345678."},
        help_text="The customer's user_id in the workspace's events; the purchase gate scores this customer.",
    )


class CampaignOutput(serializers.Serializer):
    id = serializers.UUIDField()
    product_id = serializers.UUIDField()
    name = serializers.CharField()
    prompt = serializers.CharField()
    output_modes = serializers.ListField(child=serializers.CharField())
    settings = serializers.JSONField()
    audience = serializers.SerializerMethodField()
    status = serializers.CharField()
    gate = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_audience(self, campaign: Campaign) -> dict[str, str] | None:
        return {"customer_id": campaign.audience_customer_id} if campaign.audience_customer_id else None

    def get_gate(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "decision": campaign.gate_decision,
            "reason": campaign.gate_reason,
            "probability": campaign.gate_probability,
            "threshold": campaign.gate_threshold,
            "model_version": campaign.gate_model_version or None,
        }


class CampaignCollectionApi(APIView):
    """List the workspace's campaigns; create one for a product."""

    class InputSerializer(StrictSerializer):
        product_id = serializers.UUIDField()
        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        prompt = serializers.CharField(max_length=4000)
        output_modes = serializers.ListField(child=serializers.ChoiceField(choices=OutputMode.choices), min_length=1)
        settings = CampaignSettingsSerializer(default=dict)
        audience = AudienceSerializer(required=False, allow_null=True, default=None)

        def validate_output_modes(self, value: list[str]) -> list[str]:
            if len(set(value)) != len(value):
                raise serializers.ValidationError("Each output mode may appear once.")
            return value

    @extend_schema(operation_id="campaigns_list", responses=CampaignOutput(many=True))
    def get(self, request: Request) -> Response:
        campaigns = selectors.campaigns_for_workspace(workspace=request_workspace(request))
        return paginated_response(request, self, campaigns, CampaignOutput)

    @extend_schema(operation_id="campaigns_create", request=InputSerializer, responses={201: CampaignOutput})
    def post(self, request: Request) -> Response:
        workspace = request_workspace(request)

        def validate() -> tuple[dict[str, Any], Product]:
            serializer = self.InputSerializer(data=request.data)
            if not serializer.is_valid():
                raise validation_problem(serializer.errors)
            data = serializer.validated_data
            product = Product.objects.filter(workspace=workspace, pk=data["product_id"]).first()
            errors: dict[str, list[str]] = {}
            if product is None:
                errors["product_id"] = ["No product with this id in your workspace."]
            brand_kit = data["settings"]["brand_kit"]
            for kind in (BrandAsset.Kind.LOGO, BrandAsset.Kind.FONT):
                asset_id = brand_kit.get(kind)
                if asset_id and not selectors.brand_asset_get_for_workspace(
                    workspace=workspace, asset_id=asset_id, kind=kind
                ):
                    errors[f"settings.brand_kit.{kind}"] = [f"No {kind} brand asset with this id in your workspace."]
            music = music_asset_id(data["settings"]["music"])
            if music and not selectors.brand_asset_get_for_workspace(
                workspace=workspace, asset_id=music, kind=BrandAsset.Kind.MUSIC
            ):
                errors["settings.music"] = ["No music brand asset with this id in your workspace."]
            if errors:
                raise validation_problem(errors)
            return data, product

        def create(validated: tuple[dict[str, Any], Product]) -> Created:
            data, product = validated
            settings = {**data["settings"], "brand_kit": _jsonable(data["settings"]["brand_kit"])}
            campaign = services.campaign_create(
                workspace=workspace,
                product=product,
                name=data["name"],
                prompt=data["prompt"],
                output_modes=data["output_modes"],
                settings=settings,
                audience_customer_id=(data["audience"] or {}).get("customer_id", ""),
            )
            return Created(201, CampaignOutput(campaign).data)

        return idempotent_create(
            request=request, workspace=workspace, fingerprint_body=request.data, validate=validate, create=create
        )


def _jsonable(brand_kit: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if value is not None and key in ("logo", "font") else value for key, value in brand_kit.items()}


class CampaignDetailApi(APIView):
    @extend_schema(operation_id="campaigns_get", responses=CampaignOutput)
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = selectors.campaign_get_for_workspace(workspace=request_workspace(request), campaign_id=campaign_id)
        return Response(CampaignOutput(campaign).data)


class CampaignGateOverrideApi(APIView):
    """Let a gated campaign accept jobs; only an owner's API key may, and the reason is recorded."""

    class InputSerializer(StrictSerializer):
        reason = serializers.CharField(max_length=1000, help_text="Why the campaign should run despite the gate.")

        class Meta:
            ref_name = "GateOverrideInput"  # the schema's component; every nested InputSerializer is "Input"

    @extend_schema(operation_id="campaigns_gate_override", request=InputSerializer, responses=CampaignOutput)
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = selectors.campaign_get_for_workspace(workspace=request_workspace(request), campaign_id=campaign_id)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            raise validation_problem(serializer.errors)
        # A key acts for the user who created it: an owner's key may override, a member's may not.
        campaign = services.campaign_gate_override(
            campaign=campaign, user=request.auth.created_by, reason=serializer.validated_data["reason"]
        )
        return Response(CampaignOutput(campaign).data)
