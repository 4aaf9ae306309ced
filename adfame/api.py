"""Pieces every app's API shares: strict input serializers, pagination, the caller's workspace."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rest_framework import pagination, serializers
from rest_framework.request import Request

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


class PagePagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def request_workspace(request: Request) -> Workspace:
    return request.user.workspace
