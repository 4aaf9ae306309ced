"""Pieces every app's API shares: strict input serializers, pagination, the caller's workspace."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

if TYPE_CHECKING:
    from campaigns.models import Workspace


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, at every nesting level."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def get_default(self) -> Any:
        # Nested with default=dict: fill in the nested fields' own defaults, as if {} was sent.
        default = super().get_default()
        return self.run_validation(default) if default == {} else default


def http_url(value: str) -> str:
    """A validator: only http and https links (no ftp, no javascript:, no file:)."""
    if not value.lower().startswith(("http://", "https://")):
        raise serializers.ValidationError("Only http and https URLs are accepted.")
    return value


def public_url(value: str) -> str:
    """A validator for URLs the service will call: http(s) to public addresses only (SSRF guard)."""
    from adfame.ssrf import UnsafeUrl, resolve_public

    try:
        resolve_public(value)
    except UnsafeUrl as refused:
        raise serializers.ValidationError(str(refused)) from None
    return value


class PagePagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def request_workspace(request: Request) -> Workspace:
    return request.user.workspace


def paginated_response(
    request: Request, view: APIView, queryset: QuerySet[Any], output: type[serializers.Serializer]
) -> Response:
    paginator = PagePagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(page, many=True, context={"request": request}).data)


def upload_sha256(upload: UploadedFile) -> str:
    """The SHA-256 of an uploaded file, read in chunks; the file is left at its start."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def file_url(request: Request, storage_name: str) -> str:
    """An absolute URL of a stored file (a signed URL when storage is S3)."""
    return request.build_absolute_uri(default_storage.url(storage_name))
