"""HTTP API of the callbacks app: webhook endpoints, their deliveries, secrets, and job events."""
from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adfame.api import PagePagination, StrictSerializer, http_url, paginated_response, request_workspace
from adfame.problems import Problem, validation_problem
from adfame.ssrf import UnsafeUrl
from callbacks import selectors, services
from callbacks.models import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from jobs import selectors as job_selectors

# A ping is sent on request to one endpoint; nobody subscribes to it.
SUBSCRIBABLE_EVENT_TYPES = [(value, label) for value, label in EventType.choices if value != EventType.PING]
MAX_OVERLAP_S = 7 * 24 * 3600


def _unsafe_url_problem(error: UnsafeUrl) -> Problem:
    return Problem(
        400,
        "unsafe-url",
        "URL not allowed",
        str(error),
        errors=[{"field": "url", "pointer": "#/url", "detail": str(error), "code": "unsafe_url"}],
    )


def _valid(serializer: serializers.Serializer, detail: str = "The request has invalid fields.") -> dict[str, Any]:
    if not serializer.is_valid():
        raise validation_problem(serializer.errors, detail)
    return dict(serializer.validated_data)


def _event_types_unique(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise serializers.ValidationError("Each event type may appear once.")
    return value


# ---- endpoints -----------------------------------------------------------------------------------


class SecretRotationOutput(serializers.Serializer):
    previous_secret_expires_at = serializers.DateTimeField()


class EndpointOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every event.")
    active = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    secret_rotation = serializers.SerializerMethodField(
        help_text="While the previous secret still signs (both signatures are sent): when it stops."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(SecretRotationOutput(allow_null=True))
    def get_secret_rotation(self, endpoint: WebhookEndpoint) -> dict[str, Any] | None:
        expires_at = endpoint.previous_secret_expires_at
        if not endpoint.previous_secret or expires_at is None or expires_at <= timezone.now():
            return None
        return SecretRotationOutput({"previous_secret_expires_at": expires_at}).data


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(help_text="The whsec_ signing secret; shown only now.")


class EndpointRotatedOutput(EndpointCreatedOutput):
    previous_secret_expires_at = serializers.DateTimeField(help_text="Until then the old secret signs too.")


class EndpointCreateInput(StrictSerializer):
    url = serializers.URLField(max_length=2000, validators=[http_url])
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_TYPES),
        required=False,
        default=list,
        validators=[_event_types_unique],
        help_text="The events it receives; empty or absent: every event.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointUpdateInput(StrictSerializer):
    url = serializers.URLField(max_length=2000, required=False, validators=[http_url])
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENT_TYPES),
        required=False,
        validators=[_event_types_unique],
        help_text="The events it receives; empty: every event.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False, help_text="Re-enabling clears the disabled reason.")


class SecretRotateInput(StrictSerializer):
    overlap_s = serializers.IntegerField(
        min_value=0,
        max_value=MAX_OVERLAP_S,
        required=False,
        help_text="How long the previous secret keeps signing; the server's default when absent.",
    )


class EndpointCollectionApi(APIView):
    """List the workspace's webhook endpoints; register one (its secret is shown only then)."""

    @extend_schema(operation_id="webhook_endpoints_list", responses=EndpointOutput(many=True))
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoints_for_workspace(workspace=request_workspace(request))
        return paginated_response(request, self, endpoints, EndpointOutput)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=EndpointCreateInput,
        responses={201: EndpointCreatedOutput},
        description="No Idempotency-Key: a stored response would keep the secret. A URL that is not "
        "http(s) or reaches a non-public address is refused (problem type unsafe-url).",
    )
    def post(self, request: Request) -> Response:
        data = _valid(EndpointCreateInput(data=request.data))
        try:
            endpoint = services.endpoint_create(workspace=request_workspace(request), **data)
        except UnsafeUrl as error:
            raise _unsafe_url_problem(error) from None
        return Response(EndpointCreatedOutput(endpoint).data, status=201)


class EndpointDetailApi(APIView):
    @extend_schema(operation_id="webhook_endpoints_get", responses=EndpointOutput)
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_workspace(workspace=request_workspace(request), endpoint_id=endpoint_id)
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_update", request=EndpointUpdateInput, responses=EndpointOutput)
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_workspace(workspace=request_workspace(request), endpoint_id=endpoint_id)
        changes = _valid(EndpointUpdateInput(data=request.data))
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **changes)
        except UnsafeUrl as error:
            raise _unsafe_url_problem(error) from None
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_delete", responses={204: None})
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_workspace(workspace=request_workspace(request), endpoint_id=endpoint_id)
        # Its deliveries (and their history) go with it, so nothing is ever sent to it again.
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=204)


class EndpointRotateSecretApi(APIView):
    """A new signing secret, shown once; the previous one keeps signing for the overlap."""

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        request=SecretRotateInput,
        responses=EndpointRotatedOutput,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_workspace(workspace=request_workspace(request), endpoint_id=endpoint_id)
        data = _valid(SecretRotateInput(data=request.data))
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint, overlap_s=data.get("overlap_s"))
        return Response(EndpointRotatedOutput(endpoint).data)


# ---- deliveries ----------------------------------------------------------------------------------


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(help_text="The first 2 KB of the receiver's answer.")
    error = serializers.CharField()


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField(help_text="The webhook-id header the receiver saw.")
    event_type = serializers.CharField(source="event.type")
    job_id = serializers.UUIDField(source="event.job_id", allow_null=True)
    sequence = serializers.IntegerField(source="event.sequence", allow_null=True)
    endpoint_id = serializers.UUIDField(allow_null=True, help_text="Null for the job contract's callback_url.")
    url = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.SerializerMethodField(help_text="When the next attempt is due; null unless pending.")
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempt_history = DeliveryAttemptOutput(source="attempt_rows", many=True)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: Delivery) -> str | None:
        if delivery.status != DeliveryStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class DeliveryFilters(StrictSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    event_type = serializers.ChoiceField(choices=EventType.choices, required=False)
    job = serializers.UUIDField(required=False)
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=PagePagination.max_page_size, required=False)


class DeliveryListFilters(DeliveryFilters):
    endpoint = serializers.UUIDField(required=False)


_DELIVERY_FILTER_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
    OpenApiParameter("event_type", OpenApiTypes.STR, enum=EventType.values),
    OpenApiParameter("job", OpenApiTypes.UUID),
]


def _deliveries_response(
    request: Request, view: APIView, filters: DeliveryFilters, endpoint_id: object | None = None
) -> Response:
    params = _valid(filters, "Invalid filter.")
    deliveries = selectors.deliveries_for_workspace(
        workspace=request_workspace(request),
        endpoint_id=endpoint_id or params.get("endpoint"),
        status=params.get("status"),
        event_type=params.get("event_type"),
        job_id=params.get("job"),
    )
    return paginated_response(request, view, deliveries, DeliveryOutput)


class DeliveryCollectionApi(APIView):
    """Every delivery of the workspace's events, newest first: to endpoints and to callback_urls."""

    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[*_DELIVERY_FILTER_PARAMETERS, OpenApiParameter("endpoint", OpenApiTypes.UUID)],
        responses=DeliveryOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return _deliveries_response(request, self, DeliveryListFilters(data=request.query_params.dict()))


class EndpointDeliveriesApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_deliveries",
        parameters=_DELIVERY_FILTER_PARAMETERS,
        responses=DeliveryOutput(many=True),
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get_for_workspace(workspace=request_workspace(request), endpoint_id=endpoint_id)
        filters = DeliveryFilters(data=request.query_params.dict())
        return _deliveries_response(request, self, filters, endpoint_id=endpoint.pk)


class EndpointPingApi(APIView):
    """Send a signed webhook.ping to the endpoint (even a disabled one); answers with its delivery."""

    @extend_schema(operation_id="webhook_endpoints_ping", request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, endpoint_id: str) -> Response:
        workspace = request_workspace(request)
        endpoint = selectors.endpoint_get_for_workspace(workspace=workspace, endpoint_id=endpoint_id)
        delivery = services.endpoint_ping(endpoint=endpoint)
        delivery = selectors.delivery_get_for_workspace(workspace=workspace, delivery_id=delivery.pk)
        return Response(DeliveryOutput(delivery).data, status=202)


class DeliveryDetailApi(APIView):
    @extend_schema(operation_id="webhook_deliveries_get", responses=DeliveryOutput)
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.delivery_get_for_workspace(workspace=request_workspace(request), delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data)


class DeliveryRedeliverApi(APIView):
    """Send a delivery again now, whatever became of it; a failed one gets one more attempt."""

    @extend_schema(operation_id="webhook_deliveries_redeliver", request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, delivery_id: int) -> Response:
        workspace = request_workspace(request)
        delivery = selectors.delivery_get_for_workspace(workspace=workspace, delivery_id=delivery_id)
        services.delivery_redeliver(delivery=delivery)
        delivery = selectors.delivery_get_for_workspace(workspace=workspace, delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data, status=202)


# ---- the callback_url secret ---------------------------------------------------------------------


class CallbackSecretOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="The new whsec_ secret; shown only now.")
    previous_secret_expires_at = serializers.DateTimeField(help_text="Until then the old secret signs too.")


class CallbackSecretRotateApi(APIView):
    """A new secret for deliveries to job contracts' own callback_url, shown once per rotation."""

    @extend_schema(
        operation_id="webhook_callback_secret_rotate", request=SecretRotateInput, responses=CallbackSecretOutput
    )
    def post(self, request: Request) -> Response:
        data = _valid(SecretRotateInput(data=request.data))
        secret = services.callback_secret_rotate(workspace=request_workspace(request), overlap_s=data.get("overlap_s"))
        return Response(CallbackSecretOutput(secret).data)


# ---- a job's events ------------------------------------------------------------------------------


class EventOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The webhook-id every receiver sees.")
    type = serializers.ChoiceField(choices=EventType.choices)
    sequence = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.DictField(help_text="The body every receiver got: type, timestamp, data.")


class JobEventsApi(APIView):
    """A job's events in the order they happened, whether or not anyone received them."""

    @extend_schema(operation_id="jobs_events", responses=EventOutput(many=True))
    def get(self, request: Request, job_id: str) -> Response:
        workspace = request_workspace(request)
        job = job_selectors.job_get_for_workspace(workspace=workspace, job_id=job_id)
        events = selectors.events_for_job(workspace=workspace, job_id=job.pk)
        return paginated_response(request, self, events, EventOutput)
