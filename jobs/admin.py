"""Admin for jobs: steps inline and read-only, assets, filters by status, mode and workspace."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs.models import Asset, Job, JobStep


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def fidelity_table(fidelity: dict[str, Any]) -> SafeString:
    """A scene still's fidelity attempts as a small table, the chosen one in bold, "needs review" above it."""
    chosen = fidelity.get("chosen")
    review = format_html('<strong style="color:#ba2121">{}</strong>', "needs review")
    verdict = review if fidelity.get("review") else "passed"
    header = format_html("{} &middot; {} scorer, {} scene", verdict, fidelity.get("scorer", ""),
                         fidelity.get("scene_type", ""))
    rows = format_html_join(
        "",
        '<tr style="font-weight:{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            ("bold" if attempt.get("attempt") == chosen else "normal", attempt.get("attempt"), attempt.get("seed"),
             attempt.get("provider"), attempt.get("product_emphasis"), attempt.get("score"), attempt.get("threshold"),
             "yes" if attempt.get("passed") else "no")
            for attempt in fidelity.get("attempts", [])
        ),
    )
    return format_html(
        "<div>{}</div><table><thead><tr><th>attempt</th><th>seed</th><th>provider</th><th>emphasis</th><th>score</th>"
        "<th>threshold</th><th>passed</th></tr></thead><tbody>{}</tbody></table>",
        header, rows,
    )


class JobStepInline(ReadOnlyInline):
    model = JobStep
    fields = ["position", "stage", "scene", "status", "attempt", "provider", "started_at", "finished_at", "worker",
              "error", "fidelity"]
    readonly_fields = fields
    ordering = ["position", "scene"]

    @admin.display(description="fidelity")
    def fidelity(self, step: JobStep) -> SafeString | str:
        fidelity = (step.outputs or {}).get("fidelity")
        return fidelity_table(fidelity) if isinstance(fidelity, dict) else ""


class AssetInline(ReadOnlyInline):
    model = Asset
    fields = ["kind", "role", "scene", "aspect_ratio", "file", "size_bytes", "duration_s"]
    readonly_fields = fields


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "output_mode", "status", "progress", "current_stage", "workspace", "created_at"]
    list_filter = ["status", "output_mode", "kind", "workspace"]
    search_fields = ["id", "campaign__name", "product__name"]
    date_hierarchy = "created_at"
    inlines = [JobStepInline, AssetInline]
    readonly_fields = [field.name for field in Job._meta.fields]
    fieldsets = [
        (None, {"fields": ["id", "workspace", "kind", "output_mode", "status", "progress", "current_stage"]}),
        ("Origin", {"fields": ["campaign", "product", "retry_of", "callback_url"]}),
        ("Failure", {"fields": ["failed_stage", "failed_scene", "error"]}),
        ("Timing", {"fields": ["created_at", "started_at", "finished_at", "cancel_requested_at", "updated_at"]}),
        ("Contract and snapshot", {"fields": ["payload", "metadata", "snapshot"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).select_related("workspace", "campaign", "product")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "role", "job", "scene", "aspect_ratio", "size_bytes", "created_at"]
    list_filter = ["kind", "role", "workspace"]
    readonly_fields = [field.name for field in Asset._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
