"""Training purchase models on a time-based split: metrics, artifacts, promotion, and the AUC limit."""
from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import joblib
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from sklearn.metrics import brier_score_loss, roc_auc_score

from predictions.generator import Generated, generate, truth_write_csv
from predictions.models import FeatureSet, ModelVersion
from predictions.training import TrainingError, artifact_read, load, promote, split_build, train

ALGORITHMS = ["gbm", "mlp", "logreg"]
_STAGED = """
CREATE TEMP TABLE staged_events (
    event_time timestamptz, event_type text, product_id bigint, category_id bigint, category_code text,
    brand text, price numeric, user_id bigint, user_session text
)
"""


def events_load(workspace, generated: Generated) -> int:
    """COPY generated events into the workspace's events; they are valid by construction, so no ingestion."""
    with connection.cursor() as cursor:
        cursor.execute(_STAGED)
        with cursor.cursor.copy("COPY staged_events FROM STDIN (FORMAT csv)") as copy:
            for batch in generated.events.batches():
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows(batch)
                copy.write(text.getvalue())
        # CSV reads a blank field as NULL; REES46 blanks are empty strings.
        cursor.execute(
            """
            INSERT INTO predictions_customerevent
                (workspace_id, event_time, event_type, product_id, category_id, category_code, brand, price,
                 user_id, user_session)
            SELECT %s, event_time, event_type, product_id, category_id, coalesce(category_code, ''),
                   coalesce(brand, ''), price, user_id, coalesce(user_session, '')
            FROM staged_events
            """,
            [workspace.id],
        )
        loaded = cursor.rowcount
        cursor.execute("DROP TABLE staged_events")
        cursor.execute("ANALYZE predictions_customerevent")
    return loaded


@pytest.fixture(scope="module")
def small_history() -> Generated:
    return generate(1500, 35, seed=3, label_days=7)


@pytest.fixture
def shop(owner, small_history):
    events_load(owner.workspace, small_history)
    return owner.workspace


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_trains_on_the_time_split_and_records_its_hold_out_metrics(shop, small_history, algorithm):
    model_version = train(workspace=shop, algorithm=algorithm, truth=small_history.truth.probability_by_user())

    assert (model_version.algorithm, model_version.version, model_version.promoted) == (algorithm, 1, False)
    metrics = model_version.metrics
    assert 0.7 < metrics["roc_auc"] <= metrics["limit_roc_auc"] + 0.02
    assert metrics["base_rate"] < metrics["pr_auc"] < 1
    assert 0 < metrics["precision"] <= 1 and 0 < metrics["recall"] <= 1 and 0 < metrics["brier"] < 0.25
    assert [row["bin"] for row in metrics["reliability"]][:2] == ["0.0-0.1", "0.1-0.2"]
    assert sum(row["count"] for row in metrics["reliability"]) == metrics["holdout_customers"]
    assert 0 < model_version.threshold < 1
    assert model_version.params["threshold_rule"].startswith("maximises F1")
    assert model_version.training_s > 0
    assert model_version.artifact.name == f"models/{shop.id}/1.bin"
    assert default_storage.size(model_version.artifact.name) < 1_000_000

    # Features at T-2L labelled by [T-2L, T-L); the hold-out at T-L labelled by [T-L, T), T the end of the data.
    end = small_history.events.end
    training_set = model_version.feature_set
    holdout_set = FeatureSet.objects.get(workspace=shop, version=model_version.params["holdout_feature_set"])
    assert (training_set.cutoff, holdout_set.cutoff) == (end - timedelta(days=14), end - timedelta(days=7))
    assert training_set.label_window_days == holdout_set.label_window_days == 7
    holdout_labels = dict(holdout_set.rows.values_list("user_id", "label"))
    truth = dict(zip(small_history.truth.user_id.tolist(), small_history.truth.purchased.tolist()))
    assert all(label == truth[user_id] for user_id, label in holdout_labels.items())
    assert metrics["holdout_customers"] == len(holdout_labels)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_reloaded_artifact_predicts_exactly_what_training_measured(shop, algorithm):
    model_version = train(workspace=shop, algorithm=algorithm, seed=1)
    holdout = FeatureSet.objects.get(workspace=shop, version=model_version.params["holdout_feature_set"])
    rows = list(holdout.rows.order_by("user_id").values_list("values", "label"))
    features = np.array([values for values, _ in rows])
    labels = np.array([label for _, label in rows])

    first, second = artifact_read(model_version), artifact_read(model_version)
    probabilities = first.predict_proba(features)
    assert np.array_equal(probabilities, second.predict_proba(features))
    assert round(roc_auc_score(labels, probabilities), 4) == model_version.metrics["roc_auc"]
    assert round(brier_score_loss(labels, probabilities), 5) == model_version.metrics["brier"]
    assert load(model_version) is load(model_version)
    if algorithm != "mlp":
        # The gate's numpy predictor is the stored scikit-learn model, to the last bits of a float.
        with default_storage.open(model_version.artifact.name, "rb") as stored:
            fitted = joblib.load(stored)
        assert np.allclose(probabilities, fitted.predict_proba(features)[:, 1], rtol=0, atol=1e-12)


def test_the_same_seed_trains_the_same_mlp(shop):
    first, again = train(workspace=shop, algorithm="mlp", seed=4), train(workspace=shop, algorithm="mlp", seed=4)
    assert first.metrics == again.metrics and first.threshold == again.threshold


def test_promoting_a_version_unpromotes_the_others_so_exactly_one_answers_the_gate(shop, outsider, small_history):
    events_load(outsider.workspace, small_history)
    theirs = promote(model_version=train(workspace=outsider.workspace, algorithm="logreg"))
    first = train(workspace=shop, algorithm="logreg")
    second = train(workspace=shop, algorithm="logreg", seed=2)

    promote(model_version=first)
    promote(model_version=second)
    assert list(ModelVersion.objects.filter(workspace=shop, promoted=True)) == [second]
    promote(model_version=first)
    assert list(ModelVersion.objects.filter(workspace=shop, promoted=True).values_list("version", flat=True)) == [1]
    assert ModelVersion.objects.get(pk=theirs.pk).promoted, "another workspace's promotion is its own"

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(promoted=True)


def test_staff_promote_exactly_one_selected_version_from_the_admin(shop, client, django_user_model):
    first = train(workspace=shop, algorithm="logreg")
    second = train(workspace=shop, algorithm="logreg", seed=2)
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@adfame.test", "s3cret-pass"))
    listing = client.get("/admin/predictions/modelversion/").content.decode()
    assert "logreg-v2" in listing and f"{first.metrics['roc_auc']}" in listing

    url = "/admin/predictions/modelversion/"
    both = client.post(url, {"action": "promote_one", "_selected_action": [first.pk, second.pk]}, follow=True)
    assert "Select exactly one version" in both.content.decode()
    assert not ModelVersion.objects.filter(promoted=True).exists()
    one = client.post(url, {"action": "promote_one", "_selected_action": [second.pk]}, follow=True)
    assert "Promoted logreg-v2: the gate of Acme uses it now." in one.content.decode()
    assert list(ModelVersion.objects.filter(promoted=True)) == [second]


def test_training_refuses_a_history_shorter_than_two_label_windows(owner):
    events_load(owner.workspace, generate(200, 12, seed=1, label_days=7))
    with pytest.raises(TrainingError, match="T-14 days"):
        train(workspace=owner.workspace, algorithm="logreg")


def test_training_refuses_a_workspace_without_events(owner):
    with pytest.raises(TrainingError):
        train(workspace=owner.workspace, algorithm="gbm")


def test_the_command_trains_prints_the_metrics_and_the_limit_and_promotes(shop, small_history, tmp_path):
    truth_file = tmp_path / "truth.csv"
    with open(truth_file, "w", newline="") as handle:
        truth_write_csv(small_history.truth, handle)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "train_purchase_model",
        workspace=shop.slug, algo="logreg", truth=truth_file, promote=True, stdout=out, stderr=err,
    )
    model_version = ModelVersion.objects.get(workspace=shop)
    assert model_version.promoted
    text = out.getvalue()
    assert f"hold-out AUC {model_version.metrics['roc_auc']:.3f}, limit (generator's true probabilities) " in text
    assert f"{model_version.metrics['limit_roc_auc']:.3f}" in text and "precision" in text and "Brier" in text
    assert "Training logreg on" in err.getvalue()

    call_command("train_purchase_model", workspace=shop.slug, algo="gbm", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("promote_purchase_model", "2", workspace=shop.slug, stdout=out)
    assert ModelVersion.objects.get(workspace=shop, promoted=True).label == "gbm-v2"


def test_acceptance_on_10000_generated_customers_the_best_model_is_within_0_03_auc_of_the_limit(owner):
    """The acceptance test: predictions/generator.py data, >= 10,000 customers and >= 500,000 events.

    120 days of history: with 60, all three models reach about 0.83 against a limit of 0.865,
    and a logistic model fitted on the hold-out itself gets no closer, so what is missing there
    is history per customer, not model. With 120 days they sit about 0.022 under the limit.
    """
    started = time.perf_counter()
    generated = generate(10_000, 120, seed=7, label_days=7)
    assert events_load(owner.workspace, generated) >= 500_000
    truth = generated.truth.probability_by_user()

    # The three models see exactly the same feature sets, so their AUCs compare the models alone.
    split = split_build(workspace=owner.workspace)
    loaded_and_built = time.perf_counter() - started
    versions = {
        algorithm: train(workspace=owner.workspace, algorithm=algorithm, truth=truth, split=split)
        for algorithm in ALGORITHMS
    }
    auc = {algorithm: version.metrics["roc_auc"] for algorithm, version in versions.items()}
    limit = versions["gbm"].metrics["limit_roc_auc"]
    seconds = {algorithm: version.training_s for algorithm, version in versions.items()}
    print(f"hold-out AUC {auc}, limit {limit}; events and features {loaded_and_built:.0f} s, training {seconds}")

    assert {version.metrics["limit_roc_auc"] for version in versions.values()} == {limit}
    best = promote(model_version=max(versions.values(), key=lambda version: version.metrics["roc_auc"]))
    assert ModelVersion.objects.get(workspace=owner.workspace, promoted=True) == best
    assert limit - best.metrics["roc_auc"] <= 0.03
    # Both richer models are compared with the logistic baseline. The generator's propensity is
    # log-linear in its traits, so the baseline is strong here: neither may trail it by over 0.01.
    assert auc["gbm"] >= auc["logreg"] - 0.01
    assert auc["mlp"] >= auc["logreg"] - 0.01
