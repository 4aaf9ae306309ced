"""The purchase gate through the API: gated campaigns, refused jobs, owners' overrides, predictions."""
from __future__ import annotations

import uuid

import numpy as np
import pytest
from rest_framework.test import APIClient

from campaigns.models import Campaign
from campaigns.services import api_key_create
from predictions.features import FEATURE_NAMES, features_for_customer
from predictions.gate import customer_predict
from predictions.generator import Generated, generate
from predictions.models import CustomerEvent, FeatureSet
from predictions.training import promote, train
from tests.predictions.test_training import events_load


@pytest.fixture(scope="module")
def history() -> Generated:
    return generate(1200, 35, seed=5, label_days=7)


@pytest.fixture
def model(owner, history):
    """Acme's events and a promoted logistic model trained on them."""
    events_load(owner.workspace, history)
    return promote(model_version=train(workspace=owner.workspace, algorithm="logreg"))


def _by_true_probability(history: Generated) -> list[int]:
    active = set(history.events.user_id.tolist())
    order = np.argsort(history.truth.probability)
    return [user_id for user_id in history.truth.user_id[order].tolist() if user_id in active]


@pytest.fixture
def unlikely_buyer(history) -> int:
    return _by_true_probability(history)[0]


@pytest.fixture
def likely_buyer(history) -> int:
    return _by_true_probability(history)[-1]


def create_campaign(api: APIClient, product, customer_id: object | None):
    body = {"product_id": str(product.id), "prompt": "Autumn offer", "output_modes": ["fast_paced"]}
    if customer_id is not None:
        body["audience"] = {"customer_id": customer_id}
    return api.post("/api/v1/campaigns", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def submit_job(api: APIClient, campaign_id: str):
    body = {"kind": "output_generation", "payload": {"campaign_id": campaign_id, "output_mode": "fast_paced"}}
    return api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def override(api: APIClient, campaign_id: str, reason: object = "VIP customer, sales asked for it"):
    return api.post(f"/api/v1/campaigns/{campaign_id}/gate-override", {"reason": reason}, format="json")


def predict(api: APIClient, customer_id: int, **body: object):
    return api.post(f"/api/v1/predictions/customers/{customer_id}", body, format="json")


def key_of(user, workspace) -> APIClient:
    api = APIClient()
    secret = api_key_create(workspace=workspace, name="their key", created_by=user).secret
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


@pytest.fixture
def gated_campaign(owner_api, product, model, unlikely_buyer) -> dict:
    response = create_campaign(owner_api, product, str(unlikely_buyer))
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_campaign_for_an_unlikely_buyer_is_created_gated_with_the_gate_in_the_api(gated_campaign, model, owner_api):
    assert gated_campaign["status"] == "gated"
    gate = gated_campaign["gate"]
    assert gate["decision"] == "gated" and gate["model_version"] == model.label == "logreg-v1"
    assert gate["probability"] < gate["threshold"] == pytest.approx(model.threshold)
    assert "below its threshold" in gate["reason"] and "Scored as of 2019-11-05" in gate["reason"]
    assert owner_api.get(f"/api/v1/campaigns/{gated_campaign['id']}").json()["gate"] == gate
    stored = Campaign.objects.get(pk=gated_campaign["id"])
    assert (stored.gate_probability, stored.gate_model_version) == (gate["probability"], "logreg-v1")


def test_a_job_for_a_gated_campaign_is_refused_with_campaign_gated(gated_campaign, owner_api):
    response = submit_job(owner_api, gated_campaign["id"])
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/campaign-gated"
    assert problem["probability"] == gated_campaign["gate"]["probability"]
    assert problem["threshold"] == gated_campaign["gate"]["threshold"] and problem["model_version"] == "logreg-v1"
    assert f"/api/v1/campaigns/{gated_campaign['id']}/gate-override" in problem["detail"]
    assert f"below the threshold {gated_campaign['gate']['threshold']:.1%} of model logreg-v1" in problem["detail"]


def test_a_campaign_for_a_likely_buyer_passes_and_accepts_jobs(owner_api, product, model, likely_buyer):
    response = create_campaign(owner_api, product, likely_buyer)  # an integer is fine too
    body = response.json()
    assert body["status"] == "active" and body["audience"] == {"customer_id": str(likely_buyer)}
    assert body["gate"]["decision"] == "passed" and body["gate"]["probability"] >= body["gate"]["threshold"]
    assert submit_job(owner_api, body["id"]).status_code == 201


def test_an_owner_overrides_a_gated_campaign_with_a_reason_and_jobs_are_then_accepted(gated_campaign, owner_api):
    response = override(owner_api, gated_campaign["id"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "active" and body["gate"]["decision"] == "overridden"
    assert body["gate"]["reason"].startswith("Overridden by owner@acme.test at ")
    assert "VIP customer, sales asked for it" in body["gate"]["reason"]
    assert body["gate"]["probability"] == gated_campaign["gate"]["probability"], "the evidence is kept"
    assert submit_job(owner_api, gated_campaign["id"]).status_code == 201
    assert override(owner_api, gated_campaign["id"]).json()["type"] == "/problems/campaign-not-gated"


def test_a_members_key_may_not_override_the_gate(gated_campaign, owner, teammate):
    response = override(key_of(teammate, owner.workspace), gated_campaign["id"])
    assert response.status_code == 403 and response.json()["type"] == "/problems/gate-override-forbidden"
    assert Campaign.objects.get(pk=gated_campaign["id"]).status == "gated"


def test_an_override_needs_a_reason_and_another_workspace_cannot_find_the_campaign(
    gated_campaign, owner_api, outsider_api
):
    blank = override(owner_api, gated_campaign["id"], reason="  ")
    assert blank.status_code == 400 and blank.json()["errors"][0]["field"] == "reason"
    assert override(outsider_api, gated_campaign["id"]).status_code == 404
    assert Campaign.objects.get(pk=gated_campaign["id"]).status == "gated"


def test_a_campaign_that_is_not_gated_cannot_be_overridden(owner_api, product):
    campaign = create_campaign(owner_api, product, None).json()
    response = override(owner_api, campaign["id"])
    assert response.status_code == 409 and response.json()["type"] == "/problems/campaign-not-gated"


def test_an_archived_campaign_still_refuses_jobs_as_not_active(owner_api, product):
    campaign = create_campaign(owner_api, product, None).json()
    Campaign.objects.filter(pk=campaign["id"]).update(status=Campaign.Status.ARCHIVED)
    assert submit_job(owner_api, campaign["id"]).json()["type"] == "/problems/campaign-not-active"


def test_without_a_promoted_model_allow_lets_the_campaign_run_unscored_and_says_so(owner_api, product, settings):
    settings.ADFAME_GATE_WITHOUT_MODEL = "allow"
    body = create_campaign(owner_api, product, "500000001").json()
    assert body["status"] == "active"
    assert body["gate"]["decision"] == "not_run" and body["gate"]["probability"] is None
    assert "No purchase model is promoted" in body["gate"]["reason"] and "allow" in body["gate"]["reason"]
    assert submit_job(owner_api, body["id"]).status_code == 201


def test_without_a_promoted_model_block_gates_the_campaign_and_says_why(owner_api, product, settings):
    settings.ADFAME_GATE_WITHOUT_MODEL = "block"
    body = create_campaign(owner_api, product, "500000001").json()
    assert body["status"] == "gated" and body["gate"]["decision"] == "gated"
    assert body["gate"]["model_version"] is None and "ADFAME_GATE_WITHOUT_MODEL=block" in body["gate"]["reason"]
    refused = submit_job(owner_api, body["id"]).json()
    assert refused["type"] == "/problems/campaign-gated" and "ADFAME_GATE_WITHOUT_MODEL=block" in refused["detail"]
    assert refused["probability"] is None and refused["model_version"] is None


def test_a_campaign_without_an_audience_is_not_scored(owner_api, product, model):
    body = create_campaign(owner_api, product, None).json()
    assert body["status"] == "active" and body["gate"]["decision"] == "not_run"
    assert "No audience" in body["gate"]["reason"]


@pytest.mark.parametrize("customer_id", ["c-42", "4.2", "", "99999999999999999999", "٤٢"])
def test_an_audience_that_is_not_an_integer_customer_id_is_refused(owner_api, product, customer_id):
    response = create_campaign(owner_api, product, customer_id)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "audience.customer_id"
    assert not Campaign.objects.exists()


def test_the_prediction_api_gives_probability_decision_threshold_and_versions(owner_api, model, likely_buyer):
    response = predict(owner_api, likely_buyer)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["decision"] == "passed" and body["probability"] >= body["threshold"] == pytest.approx(model.threshold)
    assert body["model_version"] == "logreg-v1" and body["feature_set_version"] == model.feature_set.version
    assert body["reason"]


def test_the_prediction_api_scores_with_a_named_version_and_404s_an_unknown_one(owner, owner_api, model, likely_buyer):
    gbm = train(workspace=owner.workspace, algorithm="gbm")
    named = predict(owner_api, likely_buyer, model_version=gbm.version)
    assert named.json()["model_version"] == "gbm-v2"
    missing = predict(owner_api, likely_buyer, model_version=99)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/model-version-not-found"
    assert "its latest versions are 2, 1." in missing.json()["detail"]


def test_an_outsider_scores_only_with_their_own_workspaces_events_and_model(
    owner, outsider, outsider_api, model, likely_buyer
):
    # Globex has neither Acme's model nor its events: its answer knows nothing of Acme's customer.
    assert predict(outsider_api, likely_buyer).json()["decision"] == "not_run"

    events_load(outsider.workspace, generate(300, 30, seed=9, label_days=7))
    CustomerEvent.objects.filter(workspace=outsider.workspace, user_id=likely_buyer).delete()  # ids may overlap
    theirs = promote(model_version=train(workspace=outsider.workspace, algorithm="gbm"))
    body = predict(outsider_api, likely_buyer).json()
    assert body["model_version"] == theirs.label == "gbm-v1"
    assert "no events in this workspace" in body["reason"]
    never_seen = features_for_customer(workspace=outsider.workspace, user_id=likely_buyer, at=theirs.feature_set.cutoff)
    assert dict(zip(FEATURE_NAMES, never_seen))["events"] == 0
    acme = customer_predict(workspace=owner.workspace, user_id=likely_buyer)
    assert acme.model_version == "logreg-v1" and acme.probability != body["probability"]


def test_a_model_trained_on_other_features_is_refused_until_retrained(owner, owner_api, likely_buyer):
    events_load(owner.workspace, generate(600, 30, seed=2, label_days=7))
    stale = promote(model_version=train(workspace=owner.workspace, algorithm="logreg"))
    FeatureSet.objects.filter(pk=stale.feature_set_id).update(feature_names=["views", "carts"])
    response = predict(owner_api, likely_buyer)
    assert response.status_code == 409 and response.json()["type"] == "/problems/model-features-outdated"
