"""Admin for webhooks: endpoints (secrets never shown), deliveries with their attempts, events."""
from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import ngettext

from callbacks import services
from callbacks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are registered through the API, the one place their secret is ever shown."""

    list_display = ["url", "workspace", "active", "disabled_reason", "created_at"]
    list_filter = ["active"]
    list_select_related = ["workspace"]
    search_fields = ["url"]
    exclude = ["secret", "previous_secret"]
    # The URL stays read-only: only the API checks that it reaches a public address.
    readonly_fields = [
        "id",
        "workspace",
        "url",
        "event_types",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: ModelForm, change: bool) -> None:
        # Through the service, so that disabling records a reason and re-enabling clears it.
        services.endpoint_update(endpoint=obj, **{name: form.cleaned_data[name] for name in form.changed_data})


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_body"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id", "event_type", "url", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"
    ]
    list_filter = ["status"]
    search_fields = ["url"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["redeliver"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("event", "endpoint")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.action(description="Redeliver selected deliveries", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset:
            services.delivery_redeliver(delivery=delivery)
            count += 1
        message = ngettext("Redelivering %(count)d delivery.", "Redelivering %(count)d deliveries.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "job", "sequence", "workspace", "created_at"]
    list_filter = ["type"]
    list_select_related = ["workspace", "job"]
    date_hierarchy = "created_at"
    fields = ["id", "workspace", "type", "job", "sequence", "created_at", "payload_pretty"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="payload")
    def payload_pretty(self, event: Event) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap">{}</pre>', json.dumps(event.payload, indent=2, sort_keys=True)
        )
