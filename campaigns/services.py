"""Write paths of the campaigns app: workspaces, API keys, products, brand assets, campaigns."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from campaigns.audio import ValidatedAudio
from campaigns.images import ValidatedFont, ValidatedImage
from campaigns.models import (
    ApiKey,
    BrandAsset,
    Campaign,
    IdempotencyRecord,
    Membership,
    Product,
    ProductImage,
    Workspace,
)

API_KEY_PREFIX = "adf_"
# Customers are the `user_id` of their events, a PostgreSQL bigint.
MAX_CUSTOMER_ID = 2**63 - 1


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `secret` is the only copy of the key and is never stored."""

    api_key: ApiKey
    secret: str


def api_key_hash(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def workspace_create(*, name: str, owner_email: str) -> Workspace:
    user_model = get_user_model()
    owner, created = user_model.objects.get_or_create(
        username=owner_email, defaults={"email": owner_email}
    )
    if created:
        owner.set_unusable_password()
        owner.save(update_fields=["password"])
    base_slug = slugify(name)[:180] or "workspace"
    slug = base_slug
    while Workspace.objects.filter(slug=slug).exists():
        slug = f"{base_slug}-{secrets.token_hex(3)}"
    workspace = Workspace.objects.create(name=name, slug=slug)
    Membership.objects.create(workspace=workspace, user=owner, role=Membership.Role.OWNER)
    return workspace


def membership_add(*, workspace: Workspace, user: AbstractBaseUser, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return membership


def api_key_create(*, workspace: Workspace, name: str, created_by: AbstractBaseUser | None = None) -> IssuedKey:
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=prefix, hashed_key=api_key_hash(secret), created_by=created_by
    )
    return IssuedKey(api_key=api_key, secret=secret)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def _store_content_addressed(folder: str, sha256: str, extension: str, content: bytes) -> str:
    """Save bytes under a name derived from their hash; the same bytes are stored once."""
    name = f"{folder}/{sha256}{extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(content))
    return name


@transaction.atomic
def product_create(
    *,
    workspace: Workspace,
    name: str,
    description: str,
    link: str,
    images: list[tuple[ValidatedImage, str]],
) -> Product:
    """Create a product from images that were already validated (see campaigns.images)."""
    product = Product.objects.create(workspace=workspace, name=name, description=description, link=link)
    for position, (image, original_name) in enumerate(images):
        stored = _store_content_addressed(f"products/{workspace.id}", image.sha256, image.extension, image.content)
        ProductImage.objects.create(
            product=product,
            position=position,
            file=stored,
            original_name=original_name[:255],
            format=image.format,
            width=image.width,
            height=image.height,
            size_bytes=len(image.content),
            sha256=image.sha256,
        )
    return product


def brand_asset_create(
    *, workspace: Workspace, kind: str, validated: ValidatedImage | ValidatedFont | ValidatedAudio, original_name: str
) -> BrandAsset:
    stored = _store_content_addressed(
        f"brand/{workspace.id}", validated.sha256, validated.extension, validated.content
    )
    return BrandAsset.objects.create(
        workspace=workspace,
        kind=kind,
        file=stored,
        original_name=original_name[:255],
        size_bytes=len(validated.content),
        sha256=validated.sha256,
        width=getattr(validated, "width", None),
        height=getattr(validated, "height", None),
    )


def campaign_create(
    *,
    workspace: Workspace,
    product: Product,
    name: str,
    prompt: str,
    output_modes: list[str],
    settings: dict[str, Any],
    audience_customer_id: str | int,
) -> Campaign:
    """Create a campaign; with an audience, the purchase gate decides whether it may run.

    A customer under the model's threshold gets a GATED campaign: it is kept, with the
    probability, threshold and model version that decided, and accepts no generation job
    until an owner overrides the gate.
    """
    # Imported here: DRF's settings import campaigns.authentication, which imports this module,
    # so this module must not import rest_framework (through the gate and adfame.problems) at load.
    from predictions.gate import customer_predict

    audience = str(audience_customer_id).strip()
    if audience and not (audience.isascii() and audience.isdigit() and int(audience) <= MAX_CUSTOMER_ID):
        raise ValueError(f"audience_customer_id must be a customer's integer user_id, got {audience_customer_id!r}")
    gate = {
        "gate_decision": Campaign.GateDecision.NOT_RUN,
        "gate_reason": "No audience was given, so there is no customer to score.",
    }
    status = Campaign.Status.ACTIVE
    if audience:
        result = customer_predict(workspace=workspace, user_id=int(audience))
        gate = {
            "gate_decision": result.decision,
            "gate_reason": result.reason,
            "gate_probability": result.probability,
            "gate_threshold": result.threshold,
            "gate_model_version": result.model_version,
        }
        if result.decision == Campaign.GateDecision.GATED:
            status = Campaign.Status.GATED
    return Campaign.objects.create(
        workspace=workspace,
        product=product,
        name=name,
        prompt=prompt,
        output_modes=output_modes,
        settings=settings,
        audience_customer_id=audience,
        status=status,
        **gate,
    )


@transaction.atomic
def campaign_gate_override(*, campaign: Campaign, user: AbstractBaseUser | None, reason: str) -> Campaign:
    """Let a GATED campaign run: only a workspace owner may, and who, when and why are recorded."""
    from adfame.problems import Problem  # not at load: see campaign_create

    reason = reason.strip()
    if not reason:
        raise ValueError("An override needs a reason.")
    is_owner = user is not None and Membership.objects.filter(
        workspace_id=campaign.workspace_id, user=user, role=Membership.Role.OWNER
    ).exists()
    if not is_owner:
        raise Problem(
            403,
            "gate-override-forbidden",
            "Only an owner may override the gate",
            "The purchase gate may be overridden only with an API key created by an owner of this workspace.",
        )
    now = timezone.now()
    who = getattr(user, "email", "") or user.get_username()
    record = f"Overridden by {who} at {now:%Y-%m-%d %H:%M:%S} UTC: {reason} (the gate had said: {campaign.gate_reason})"
    # The conditional update is the check: of two concurrent overrides exactly one changes the row.
    changed = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.GATED).update(
        status=Campaign.Status.ACTIVE,
        gate_decision=Campaign.GateDecision.OVERRIDDEN,
        gate_reason=record,
        updated_at=now,
    )
    campaign.refresh_from_db()
    if changed != 1:
        raise Problem(
            409,
            "campaign-not-gated",
            "Campaign is not gated",
            f"Campaign {campaign.id} is {campaign.status} (gate {campaign.gate_decision}); only a gated campaign "
            "can be overridden.",
        )
    return campaign


def idempotency_records_purge() -> int:
    """Delete Idempotency-Key records older than ADFAME_IDEMPOTENCY_TTL_HOURS; return how many."""
    cutoff = timezone.now() - timedelta(hours=django_settings.ADFAME_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
