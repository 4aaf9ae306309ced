"""Bearer API-key authentication: every API request acts for exactly one workspace."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from campaigns.models import ApiKey, Workspace
from campaigns.services import api_key_hash

# last_used_at is written at most this often per key, so reads do not become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller of an API request: a workspace, through one of its keys."""

    workspace: Workspace
    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <API key>'.")
        try:
            api_key = ApiKey.objects.select_related("workspace").get(
                hashed_key=api_key_hash(token.strip()), revoked_at__isnull=True
            )
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("The API key is invalid or has been revoked.") from None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiPrincipal(workspace=api_key.workspace, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="adfame"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "campaigns.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key (adf_…)."}
