"""Reads of the campaigns app, every one scoped to a workspace; and the snapshots jobs run from."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.models import BrandAsset, Campaign, Product, Workspace


def products_for_workspace(*, workspace: Workspace) -> QuerySet[Product]:
    return Product.objects.filter(workspace=workspace).prefetch_related("images").order_by("-created_at", "id")


def product_get_for_workspace(*, workspace: Workspace, product_id: object) -> Product:
    return get_object_or_404(products_for_workspace(workspace=workspace), pk=product_id)


def campaigns_for_workspace(*, workspace: Workspace) -> QuerySet[Campaign]:
    return Campaign.objects.filter(workspace=workspace).order_by("-created_at", "id")


def campaign_get_for_workspace(*, workspace: Workspace, campaign_id: object) -> Campaign:
    return get_object_or_404(campaigns_for_workspace(workspace=workspace), pk=campaign_id)


def brand_asset_get_for_workspace(*, workspace: Workspace, asset_id: object, kind: str) -> BrandAsset | None:
    return BrandAsset.objects.filter(workspace=workspace, pk=asset_id, kind=kind).first()


def product_snapshot(*, product: Product) -> dict[str, Any]:
    """Everything a job needs of a product, so it never reads the product rows again."""
    return {
        "id": str(product.id),
        "name": product.name,
        "description": product.description,
        "link": product.link,
        "images": [
            {
                "id": str(image.id),
                "storage_name": image.file.name,
                "sha256": image.sha256,
                "format": image.format,
                "width": image.width,
                "height": image.height,
            }
            for image in product.images.all()
        ],
        "captured_at": timezone.now().isoformat(),
    }


def brand_kit_resolve(*, workspace_id: object, brand_kit: dict[str, Any]) -> dict[str, Any]:
    """A brand kit with its logo and font ids replaced by their stored files and checksums."""
    resolved = dict(brand_kit)
    for kind in (BrandAsset.Kind.LOGO, BrandAsset.Kind.FONT):
        asset_id = resolved.get(kind)
        if asset_id:
            asset = BrandAsset.objects.get(workspace_id=workspace_id, pk=asset_id)
            resolved[kind] = {"id": str(asset.id), "storage_name": asset.file.name, "sha256": asset.sha256}
    return resolved


def music_resolve(*, workspace_id: object, music: Any) -> Any:
    """A `music` setting with a brand asset id replaced by its stored file and checksum; "auto",
    "none" and mood names as they are."""
    if not isinstance(music, str) or music in ("auto", "none") or "-" not in music:
        return music
    asset = BrandAsset.objects.filter(workspace_id=workspace_id, pk=music, kind=BrandAsset.Kind.MUSIC).first()
    if asset is None:  # deleted since: job contracts refuse it; a campaign's snapshot keeps the id
        return music
    return {"id": str(asset.id), "storage_name": asset.file.name, "sha256": asset.sha256}


def campaign_snapshot(*, campaign: Campaign) -> dict[str, Any]:
    """The campaign as a job sees it, its brand assets resolved to stored files and checksums."""
    settings = dict(campaign.settings)
    settings["brand_kit"] = brand_kit_resolve(
        workspace_id=campaign.workspace_id, brand_kit=settings.get("brand_kit") or {}
    )
    if "music" in settings:
        settings["music"] = music_resolve(workspace_id=campaign.workspace_id, music=settings["music"])
    return {
        "id": str(campaign.id),
        "name": campaign.name,
        "prompt": campaign.prompt,
        "output_modes": list(campaign.output_modes),
        "settings": settings,
        "audience_customer_id": campaign.audience_customer_id,
        "gate_decision": campaign.gate_decision,
    }
