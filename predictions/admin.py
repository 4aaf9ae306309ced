"""Admin for event ingestions, feature sets and model versions: read-only, plus "Promote"."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from predictions.models import EventIngestion, FeatureSet, ModelVersion
from predictions.training import promote


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the ingestion and training code only; staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EventIngestion)
class EventIngestionAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__", "workspace", "status", "rows_total", "rows_accepted", "rows_rejected", "created_at", "finished_at"
    ]
    list_filter = ["status", "workspace"]
    search_fields = ["original_name", "id"]
    fields = [
        "id",
        "workspace",
        "original_name",
        "file",
        "size_bytes",
        "status",
        "rows_total",
        "rows_accepted",
        "rows_rejected",
        "rejected_rows",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description="rejected rows (first ones)")
    def rejected_rows(self, ingestion: EventIngestion) -> str:
        if not ingestion.rejected_sample:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (sample.get("line", ""), sample.get("reason", ""), sample.get("raw", ""))
                for sample in ingestion.rejected_sample
            ),
        )
        return format_html("<table><tr><th>line</th><th>reason</th><th>row</th></tr>{}</table>", rows)


@admin.register(FeatureSet)
class FeatureSetAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "workspace", "version", "cutoff", "label_window_days", "customers", "created_at"]
    list_filter = ["workspace"]
    fields = ["workspace", "version", "cutoff", "label_window_days", "customers", "feature_names", "created_at"]
    readonly_fields = fields


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "label", "workspace", "algorithm", "version", "roc_auc", "pr_auc", "threshold", "promoted", "trained"
    ]
    list_filter = ["promoted", "algorithm", "workspace"]
    fields = [
        "id",
        "workspace",
        "version",
        "algorithm",
        "feature_set",
        "artifact",
        "threshold",
        "metrics",
        "params",
        "training_s",
        "promoted",
        "promoted_at",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["promote_one"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).select_related("workspace")

    @admin.display(description="trained", ordering="created_at")
    def trained(self, model_version: ModelVersion) -> object:
        return model_version.created_at

    @admin.display(description="ROC AUC")
    def roc_auc(self, model_version: ModelVersion) -> float | None:
        return model_version.metrics.get("roc_auc")

    @admin.display(description="PR AUC")
    def pr_auc(self, model_version: ModelVersion) -> float | None:
        return model_version.metrics.get("pr_auc")

    def has_promote_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("predictions.change_modelversion")

    @admin.action(description="Promote the selected version (the gate will use it)", permissions=["promote"])
    def promote_one(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        model_version = promote(model_version=selected[0])
        message = f"Promoted {model_version.label}: the gate of {model_version.workspace} uses it now."
        self.message_user(request, message, messages.SUCCESS)
