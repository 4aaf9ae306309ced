"""HTTP API of the jobs app: submit a contract, read status, list, cancel."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adfame.api import PagePagination, StrictSerializer, file_url, paginated_response, request_workspace
from adfame.problems import validation_problem
from campaigns.idempotency import Created, idempotent_create
from campaigns.models import OutputMode
from jobs import selectors, services
from jobs.contracts import JobEnvelope, contract_resolve
from jobs.models import Job, JobKind, JobStatus


class AssetOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    role = serializers.CharField()
    url = serializers.SerializerMethodField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    scene = serializers.IntegerField(allow_null=True)
    aspect_ratio = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)

    def get_url(self, asset: Any) -> str:
        return file_url(self.context["request"], asset.file.name)


class JobErrorOutput(serializers.Serializer):
    stage = serializers.CharField(allow_null=True)
    scene = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()


class StepSummaryOutput(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class JobListOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField(help_text="0-100")
    current_stage = serializers.CharField()
    output_mode = serializers.CharField()
    campaign_id = serializers.UUIDField(allow_null=True)
    product_id = serializers.UUIDField(allow_null=True)
    retry_of = serializers.UUIDField(source="retry_of_id", allow_null=True)
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobOutput(JobListOutput):
    payload = serializers.DictField()
    error = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    assets = serializers.SerializerMethodField()

    @extend_schema_field(JobErrorOutput(allow_null=True))
    def get_error(self, job: Job) -> dict[str, Any] | None:
        return selectors.job_error(job=job)

    @extend_schema_field(StepSummaryOutput)
    def get_steps(self, job: Job) -> dict[str, int]:
        return selectors.step_summary(job=job)

    @extend_schema_field(AssetOutput(many=True))
    def get_assets(self, job: Job) -> list[dict[str, Any]]:
        return AssetOutput(selectors.assets_for_job(job=job), many=True, context=self.context).data


class JobFilters(StrictSerializer):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    campaign = serializers.UUIDField(required=False)
    mode = serializers.ChoiceField(choices=OutputMode.choices, required=False)
    kind = serializers.ChoiceField(choices=JobKind.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=PagePagination.max_page_size, required=False)


class JobCollectionApi(APIView):
    """Submit a job contract (product_setup, output_generation, retry); list jobs."""

    @extend_schema(
        operation_id="jobs_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=JobStatus.values),
            OpenApiParameter("campaign", OpenApiTypes.UUID),
            OpenApiParameter("mode", OpenApiTypes.STR, enum=OutputMode.values),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=JobKind.values),
        ],
        responses=JobListOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = JobFilters(data=request.query_params.dict())
        if not filters.is_valid():
            raise validation_problem(filters.errors, "Invalid filter.")
        params = filters.validated_data
        jobs = selectors.jobs_for_workspace(
            workspace=request_workspace(request),
            status=params.get("status"),
            campaign_id=params.get("campaign"),
            output_mode=params.get("mode"),
            kind=params.get("kind"),
        )
        return paginated_response(request, self, jobs, JobListOutput)

    @extend_schema(
        operation_id="jobs_submit",
        request=JobEnvelope,
        responses={201: JobOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        description="Payload per kind: product_setup {product_id, link?, options?}; output_generation "
        "{campaign_id, output_mode, prompt?, aspect_ratios?, duration_s?, scene_count?, voice?, language?, "
        "call_to_action?, brand_kit?, callback_url?}; retry {job_id, stage, scene?, reason?}.",
    )
    def post(self, request: Request) -> Response:
        return _submit(request, request.data)


class JobDetailApi(APIView):
    @extend_schema(operation_id="jobs_get", responses=JobOutput)
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_for_workspace(workspace=request_workspace(request), job_id=job_id)
        return Response(JobOutput(job, context={"request": request}).data)


class JobCancelApi(APIView):
    @extend_schema(operation_id="jobs_cancel", request=None, responses=JobOutput)
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_for_workspace(workspace=request_workspace(request), job_id=job_id)
        job = services.job_cancel(job=job)
        return Response(JobOutput(job, context={"request": request}).data)


class StepOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()
    scene = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    status = serializers.CharField()
    attempt = serializers.IntegerField(help_text="How many times the step has been started.")
    provider = serializers.CharField()
    worker = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    outputs = serializers.DictField()
    history = serializers.ListField(child=serializers.DictField(), help_text="One entry per attempt.")


class JobStepsApi(APIView):
    @extend_schema(operation_id="jobs_steps", responses=StepOutput(many=True))
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get_for_workspace(workspace=request_workspace(request), job_id=job_id)
        return Response(StepOutput(selectors.steps_for_job(job=job), many=True).data)


class RetryInput(StrictSerializer):
    stage = serializers.CharField()
    scene = serializers.IntegerField(required=False)
    reason = serializers.CharField(max_length=1000, required=False)


class SceneRetryInput(StrictSerializer):
    stage = serializers.CharField()
    reason = serializers.CharField(max_length=1000, required=False)


def _submit(request: Request, body: Any) -> Response:
    """Submit a job contract once per Idempotency-Key: resolve it, store the job, hand it on."""
    workspace = request_workspace(request)

    def create(spec: Any) -> Created:
        job = services.job_submit(workspace=workspace, spec=spec)
        return Created(201, JobOutput(job, context={"request": request}).data)

    return idempotent_create(
        request=request,
        workspace=workspace,
        fingerprint_body=body,
        validate=lambda: contract_resolve(workspace=workspace, data=body),
        create=create,
    )


def _submit_retry(request: Request, job_id: str, payload: dict[str, Any]) -> Response:
    """A retry job for a job of the caller's workspace, through the same contract as POST /jobs."""
    selectors.job_get_for_workspace(workspace=request_workspace(request), job_id=job_id)
    return _submit(request, {"kind": JobKind.RETRY, "payload": {"job_id": job_id, **payload}})


class JobRetryApi(APIView):
    """Re-run a finished job from a stage (and a scene): a new retry job reuses what succeeded."""

    @extend_schema(
        operation_id="jobs_retry",
        request=RetryInput,
        responses={201: JobOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
    )
    def post(self, request: Request, job_id: str) -> Response:
        data = RetryInput(data=request.data)
        if not data.is_valid():
            raise validation_problem(data.errors)
        return _submit_retry(request, str(job_id), dict(data.validated_data))


class JobSceneRetryApi(APIView):
    """Re-run one scene of a finished job from a per-scene stage, and what depends on it."""

    @extend_schema(
        operation_id="jobs_scene_retry",
        request=SceneRetryInput,
        responses={201: JobOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
    )
    def post(self, request: Request, job_id: str, scene: int) -> Response:
        data = SceneRetryInput(data=request.data)
        if not data.is_valid():
            raise validation_problem(data.errors)
        return _submit_retry(request, str(job_id), {**data.validated_data, "scene": scene})
