"""Reads of the predictions app, every one scoped to a workspace."""
from __future__ import annotations

import uuid

from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from adfame.problems import Problem
from campaigns.models import Workspace
from predictions.models import EventIngestion, ModelVersion


def model_versions_for_workspace(*, workspace: Workspace) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(workspace=workspace).select_related("feature_set").order_by("-version")


def model_version_id_for_scoring(*, workspace: Workspace, version: int | None) -> uuid.UUID | None:
    """The promoted version's id when `version` is None (None if none is), else that version's or a 404 problem.

    Only the id: scoring reads the rest from its per-process cache, since a trained version never changes.
    """
    # Raw SQL: this runs on every gate call, where the ORM's query building cost twice the query.
    condition = "promoted" if version is None else "version = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM predictions_modelversion WHERE workspace_id = %s AND {condition}",
            [workspace.id] if version is None else [workspace.id, version],
        )
        found = cursor.fetchone()
    if found:
        return found[0]
    if version is None:
        return None
    numbers = model_versions_for_workspace(workspace=workspace).values_list("version", flat=True)[:10]
    known = [str(number) for number in numbers]
    raise Problem(
        404,
        "model-version-not-found",
        "Model version not found",
        f"This workspace has no model version {version}; "
        + (f"its latest versions are {', '.join(known)}." if known else "it has no trained model yet."),
    )


def event_ingestions_for_workspace(*, workspace: Workspace) -> QuerySet[EventIngestion]:
    return EventIngestion.objects.filter(workspace=workspace).order_by("-created_at", "id")


def event_ingestion_get_for_workspace(*, workspace: Workspace, ingestion_id: object) -> EventIngestion:
    return get_object_or_404(event_ingestions_for_workspace(workspace=workspace), pk=ingestion_id)
