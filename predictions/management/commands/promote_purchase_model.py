"""`manage.py promote_purchase_model --workspace SLUG VERSION`: make a model version the one the gate uses."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Workspace
from predictions.models import ModelVersion
from predictions.training import promote


class Command(BaseCommand):
    help = "Promote a trained purchase model version; the one promoted before it is unpromoted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("version", type=int, help="the version number (3 for gbm-v3)")

    def handle(self, *args: Any, workspace: str, version: int, **options: Any) -> None:
        owner = Workspace.objects.filter(slug=workspace).first()
        if owner is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        model_version = ModelVersion.objects.filter(workspace=owner, version=version).first()
        if model_version is None:
            known = ", ".join(mv.label for mv in ModelVersion.objects.filter(workspace=owner).order_by("-version")[:10])
            has = f"; it has {known}." if known else "; it has none yet."
            raise CommandError(f"{owner.slug} has no model version {version}{has}")
        promote(model_version=model_version)
        self.stdout.write(
            f"{model_version.label} is promoted for {owner.slug} "
            f"(ROC AUC {model_version.metrics.get('roc_auc')}, threshold {model_version.threshold:.3f})."
        )
