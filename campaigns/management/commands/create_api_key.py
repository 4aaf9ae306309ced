"""Issue another API key for a workspace and print it (shown only once)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Workspace
from campaigns.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the workspace with this slug and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="The workspace's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'production backend'.")

    def handle(self, *args: Any, workspace: str, name: str, **options: Any) -> None:
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        issued = api_key_create(workspace=target, name=name)
        self.stdout.write(f"key {issued.api_key.prefix} for {target.slug} (shown once, store it now):")
        self.stdout.write(issued.secret)
