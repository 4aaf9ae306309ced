"""The purchase gate: a customer's probability of buying soon, and whether a campaign may run.

Called by `campaign_create` for a campaign's audience and by the prediction API. The decision is
"passed" at or above the model's threshold, "gated" below it, and without a promoted model it
follows ADFAME_GATE_WITHOUT_MODEL: "not_run" (allow) or "gated" (block), with the reason said.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.utils import timezone

from adfame.problems import Problem
from campaigns.models import Workspace
from predictions.features import FEATURE_NAMES, events_end, features_for_customer
from predictions.models import ModelVersion
from predictions.selectors import model_version_id_for_scoring
from predictions.training import load

PASSED = "passed"
GATED = "gated"
NOT_RUN = "not_run"

_EVENTS = FEATURE_NAMES.index("events")


@dataclass(frozen=True)
class GateResult:
    probability: float | None
    threshold: float | None
    decision: str  # "passed" | "gated" | "not_run"
    model_version: str  # ModelVersion.label, e.g. "gbm-v3"; "" when no model answered
    feature_set_version: int | None
    reason: str


def _without_model() -> GateResult:
    if settings.ADFAME_GATE_WITHOUT_MODEL == "block":
        return GateResult(
            probability=None,
            threshold=None,
            decision=GATED,
            model_version="",
            feature_set_version=None,
            reason=(
                "No purchase model is promoted in this workspace and ADFAME_GATE_WITHOUT_MODEL=block refuses "
                "unscored campaigns; train and promote one (manage.py train_purchase_model --promote)."
            ),
        )
    return GateResult(
        probability=None,
        threshold=None,
        decision=NOT_RUN,
        model_version="",
        feature_set_version=None,
        reason=(
            "No purchase model is promoted in this workspace; ADFAME_GATE_WITHOUT_MODEL=allow lets the "
            "campaign run without a score."
        ),
    )


@lru_cache(maxsize=64)
def _model_version(model_version_id: uuid.UUID) -> ModelVersion:
    # A trained version never changes (only `promoted` does, and scoring reads that per call), so
    # its row is read once per process.
    model_version = ModelVersion.objects.select_related("feature_set").get(pk=model_version_id)
    if model_version.feature_set.feature_names != FEATURE_NAMES:
        raise Problem(
            409,
            "model-features-outdated",
            "Model needs retraining",
            f"{model_version.label} was trained on other features than this version computes; train a new "
            "version (manage.py train_purchase_model) and promote it.",
        )
    return model_version


def customer_predict(*, workspace: Workspace, user_id: int, model_version: int | None = None) -> GateResult:
    """Score one customer of the workspace with the promoted model, or with `model_version` if given."""
    chosen_id = model_version_id_for_scoring(workspace=workspace, version=model_version)
    if chosen_id is None:
        return _without_model()
    chosen = _model_version(chosen_id)
    predictor = load(chosen)

    # Events uploaded in bulk stop in the past: scoring them "as of now" would make every
    # customer look lapsed, so the clock stops at the end of the workspace's events.
    now = timezone.now()
    end = events_end(workspace=workspace)
    at = min(now, end) if end is not None else now
    features = features_for_customer(workspace=workspace, user_id=user_id, at=at)
    probability = float(predictor.predict_proba(np.array([features]))[0])
    passed = probability >= chosen.threshold

    window = chosen.feature_set.label_window_days
    verdict = (
        f"at or above its threshold of {chosen.threshold:.1%}."
        if passed
        else f"below its threshold of {chosen.threshold:.1%}: a campaign for them is gated until an owner overrides it."
    )
    reason = f"{chosen.label} gives customer {user_id} a {probability:.1%} chance of a purchase within {window} days, "
    reason += verdict
    if features[_EVENTS] == 0:
        reason += " The customer has no events in this workspace, so they were scored as a new customer."
    if now - at > timedelta(days=1):
        reason += f" Scored as of {at:%Y-%m-%d}, the end of the workspace's events."
    return GateResult(
        probability=probability,
        threshold=chosen.threshold,
        decision=PASSED if passed else GATED,
        model_version=chosen.label,
        feature_set_version=chosen.feature_set.version,
        reason=reason,
    )
