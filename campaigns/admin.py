"""Admin for workspaces, members, API keys (hash never shown), products with thumbnails, campaigns."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from campaigns.models import ApiKey, BrandAsset, Campaign, Membership, Product, ProductImage, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline, ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_api_key` (the only time the key is shown)."""

    list_display = ["prefix", "name", "workspace", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["workspace", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "workspace__name"]
    fields = ["workspace", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


def _thumbnail(url: str) -> str:
    return format_html('<img src="{}" style="max-height:96px;max-width:160px;border-radius:4px" alt="">', url)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["thumbnail", "position", "format", "width", "height", "size_bytes", "sha256"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="image")
    def thumbnail(self, image: ProductImage) -> str:
        return _thumbnail(image.file.url)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["cover", "name", "workspace", "image_count", "created_at"]
    list_display_links = ["cover", "name"]
    list_filter = ["workspace"]
    search_fields = ["name", "description", "id"]
    readonly_fields = ["id", "workspace", "created_at", "updated_at"]
    inlines = [ProductImageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).select_related("workspace").prefetch_related("images")

    @admin.display(description="")
    def cover(self, product: Product) -> str:
        images = list(product.images.all())
        return _thumbnail(images[0].file.url) if images else "—"

    @admin.display(description="images")
    def image_count(self, product: Product) -> int:
        return len(product.images.all())


@admin.register(BrandAsset)
class BrandAssetAdmin(admin.ModelAdmin):
    list_display = ["kind", "original_name", "workspace", "size_bytes", "created_at"]
    list_filter = ["kind", "workspace"]
    readonly_fields = ["id", "workspace", "kind", "file", "size_bytes", "sha256", "width", "height", "created_at"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "product", "workspace", "status", "gate_decision", "gate_probability", "gate_model_version", "created_at"
    ]
    list_filter = ["status", "gate_decision", "workspace"]
    search_fields = ["name", "prompt", "id", "audience_customer_id"]
    # The gate's record is evidence of a decision (or an owner's override): shown, never edited here.
    gate_fields = ["gate_decision", "gate_reason", "gate_probability", "gate_threshold", "gate_model_version"]
    readonly_fields = ["id", "workspace", "product", "audience_customer_id", *gate_fields, "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "workspace", "product", "name", "prompt", "output_modes", "settings", "status"]}),
        ("Purchase gate", {"fields": ["audience_customer_id", *gate_fields]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
