"""Revoke an API key by its visible prefix; requests with it get 401 from then on."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import ApiKey
from campaigns.services import API_KEY_PREFIX, api_key_revoke


class Command(BaseCommand):
    help = "Revoke the API key with this prefix (the part after 'adf_' and before the next '_')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        prefix = prefix.removeprefix(API_KEY_PREFIX).split("_")[0]
        api_key = ApiKey.objects.filter(prefix=prefix).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        api_key_revoke(api_key=api_key)
        self.stdout.write(f"revoked {api_key.prefix} ({api_key.name}) of {api_key.workspace.slug}")
