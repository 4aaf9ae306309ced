"""HTTP API of the predictions app: event CSV ingestions (upload, status, list) and customer scoring."""
from __future__ import annotations

import codecs
import dataclasses
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adfame.api import StrictSerializer, paginated_response, request_workspace, upload_sha256
from adfame.problems import validation_problem
from campaigns.idempotency import Created, idempotent_create
from predictions import selectors, services
from predictions.ingestion import COLUMNS, MAX_BIGINT

SNIFF_BYTES = 64 * 1024
# Signatures of what people upload by mistake instead of a CSV: archives, spreadsheets, images, PDFs.
_BINARY_SIGNATURES = {
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a zip archive (or an .xlsx spreadsheet)",
    b"\xd0\xcf\x11\xe0": "an .xls spreadsheet",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"%PDF": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PAR1": "a Parquet file",
}


class IngestionListOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    original_name = serializers.CharField()
    size_bytes = serializers.IntegerField()
    rows_total = serializers.IntegerField(help_text="Data rows read so far (the header excluded).")
    rows_accepted = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    error = serializers.CharField(help_text="Why the whole file failed; empty otherwise.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class RejectedRowOutput(serializers.Serializer):
    line = serializers.IntegerField(help_text="1-based line in the file; the header is line 1.")
    reason = serializers.CharField()
    raw = serializers.CharField(help_text="The line as uploaded, shortened.")


class IngestionOutput(IngestionListOutput):
    rejected_sample = RejectedRowOutput(many=True, help_text="The first rejected rows; all are counted.")


class IngestionCollectionApi(APIView):
    """Upload a CSV of events in the REES46 layout (processed by a worker); list the uploads."""

    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="EventIngestionUpload")  # nested "Input" names collide in the schema
    class InputSerializer(StrictSerializer):
        file = serializers.FileField(help_text=f"A UTF-8 CSV with the header {','.join(COLUMNS)}.")

    @extend_schema(operation_id="event_ingestions_list", responses=IngestionListOutput(many=True))
    def get(self, request: Request) -> Response:
        ingestions = selectors.event_ingestions_for_workspace(workspace=request_workspace(request))
        return paginated_response(request, self, ingestions, IngestionListOutput)

    @extend_schema(
        operation_id="event_ingestions_create",
        request={"multipart/form-data": InputSerializer},
        responses={202: IngestionOutput},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        description="Stores the file and answers 202 at once; poll the ingestion until it is succeeded or "
        "failed. Rows are checked one by one (rejected ones are counted and the first are listed with "
        "their line numbers); the accepted rows are loaded together or not at all.",
    )
    def post(self, request: Request) -> Response:
        workspace = request_workspace(request)
        upload: UploadedFile | None = request.FILES.get("file")

        def validate() -> UploadedFile:
            serializer = self.InputSerializer(data={**request.data.dict(), "file": upload})
            if not serializer.is_valid():
                raise validation_problem(serializer.errors)
            refusal = csv_upload_refusal(serializer.validated_data["file"])
            if refusal:
                raise validation_problem({"file": [refusal]}, "The file was refused; nothing was stored.")
            return serializer.validated_data["file"]

        def create(csv_file: UploadedFile) -> Created:
            ingestion = services.ingestion_create(workspace=workspace, upload=csv_file)
            return Created(202, IngestionOutput(ingestion).data)

        fingerprint = {
            "fields": {key: request.data.getlist(key) for key in sorted(request.data.keys()) if key != "file"},
            "file": [upload.name, upload_sha256(upload)] if upload else None,
        }
        return idempotent_create(
            request=request, workspace=workspace, fingerprint_body=fingerprint, validate=validate, create=create
        )


def csv_upload_refusal(upload: UploadedFile) -> str:
    """Why an upload is not a CSV worth queueing (empty string when it is); looks at its first 64 KiB.

    The header and the rows are checked by the worker, which reports them on the ingestion; this
    only refuses what can never be a CSV of events: other formats, binary content, non-UTF-8 text.
    """
    name = upload.name or ""
    if not name.lower().endswith(".csv"):
        return f"Only CSV files are accepted (a name ending in .csv); got {name!r}."
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head:
        return "The file is empty."
    for signature, what in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return f"This is {what}, not a CSV; upload the uncompressed CSV file."
    if b"\x00" in head:
        return "The file holds binary data (NUL bytes), not CSV text."
    try:
        # Incremental, so a character cut by the 64 KiB boundary is not held against the file.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        return f"The file is not UTF-8 text (byte {exc.start} cannot be decoded)."
    first_line = text.splitlines()[0] if text.strip() else ""
    if "," not in first_line:
        return f"This does not look like a CSV: its first line has no commas (expected {','.join(COLUMNS)})."
    return ""


class IngestionDetailApi(APIView):
    @extend_schema(operation_id="event_ingestions_get", responses=IngestionOutput)
    def get(self, request: Request, ingestion_id: str) -> Response:
        ingestion = selectors.event_ingestion_get_for_workspace(
            workspace=request_workspace(request), ingestion_id=ingestion_id
        )
        return Response(IngestionOutput(ingestion).data)


class CustomerPredictionOutput(serializers.Serializer):
    customer_id = serializers.IntegerField()
    probability = serializers.FloatField(allow_null=True, help_text="Of a purchase within the label window.")
    threshold = serializers.FloatField(allow_null=True)
    decision = serializers.ChoiceField(choices=["passed", "gated", "not_run"])
    model_version = serializers.CharField(help_text='e.g. "gbm-v3"; empty when no model answered.')
    feature_set_version = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class CustomerPredictionApi(APIView):
    """Score one customer (a user_id of the workspace's events) with the promoted or a named model."""

    @extend_schema_serializer(component_name="CustomerPredictionInput")
    class InputSerializer(StrictSerializer):
        model_version = serializers.IntegerField(
            min_value=1, required=False, allow_null=True, default=None,
            help_text="A model version number of this workspace; the promoted model when left out.",
        )

    @extend_schema(operation_id="customer_predict", request=InputSerializer, responses=CustomerPredictionOutput)
    def post(self, request: Request, customer_id: int) -> Response:
        from predictions.gate import customer_predict

        if customer_id > int(MAX_BIGINT):
            raise validation_problem({"customer_id": [f"A customer id is at most {MAX_BIGINT}."]})
        serializer = self.InputSerializer(data=request.data or {})
        if not serializer.is_valid():
            raise validation_problem(serializer.errors)
        result = customer_predict(
            workspace=request_workspace(request),
            user_id=customer_id,
            model_version=serializer.validated_data["model_version"],
        )
        body: dict[str, Any] = {"customer_id": customer_id, **dataclasses.asdict(result)}
        return Response(CustomerPredictionOutput(body).data)
