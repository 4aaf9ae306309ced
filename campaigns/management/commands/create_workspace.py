"""Create a workspace with its owner and a first API key, and print the key (shown only once)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from campaigns.services import api_key_create, workspace_create


class Command(BaseCommand):
    help = "Create a workspace owned by EMAIL (the user is created if new) and print its first API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="The owner's email address.")
        parser.add_argument("--key-name", default="default", help="Name of the first API key.")

    def handle(self, *args: Any, name: str, owner: str, key_name: str, **options: Any) -> None:
        try:
            validate_email(owner)
        except ValidationError:
            raise CommandError(f"--owner must be an email address, got {owner!r}") from None
        with transaction.atomic():
            workspace = workspace_create(name=name, owner_email=owner)
            issued = api_key_create(workspace=workspace, name=key_name, created_by=workspace.memberships.get().user)
        self.stdout.write(f"workspace {workspace.id} ({workspace.slug}), owner {owner}")
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(issued.secret)
