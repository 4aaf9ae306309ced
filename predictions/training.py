"""Training, evaluation, promotion and loading of purchase models (gbm, mlp, logreg).

The split is by time, never by customer: with T the end of the events and L the label window,
the model learns from features at T-2L with purchases in [T-2L, T-L) and is judged on features
at T-L with purchases in [T-L, T), which it has never seen. The threshold is chosen on a
validation slice of the training window (the one that maximises F1), so the hold-out stays
untouched until the metrics are computed.

Artifacts are the fitted scikit-learn model (joblib) or the MLP's torch state_dict with its
scaler. `load` reads one once per process and turns it into a numpy predictor, which the gate
calls per customer. scikit-learn and torch are imported only where an artifact is written or
read, so the gate's process pays for torch only when an MLP is promoted.
"""
from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from campaigns.models import Workspace
from predictions.features import FEATURE_NAMES, events_end, feature_set_build
from predictions.models import Algorithm, CustomerEvent, FeatureSet, ModelVersion

VALIDATION_SHARE = 0.2
MIN_PER_CLASS = 10  # below this a stratified validation slice and a threshold mean nothing
RELIABILITY_BINS = 10
MLP_HIDDEN = (64, 32)
MLP_MAX_EPOCHS = 200
MLP_PATIENCE = 10
MLP_BATCH = 256
LOADED_CACHE_SIZE = 16

Progress = Callable[[str], None]


class TrainingError(Exception):
    """The workspace's events cannot train a model (too short a history, a single class)."""


class Predictor(Protocol):
    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Purchase probabilities for rows of features in FEATURE_NAMES order."""


# Every predictor is plain numpy arithmetic on arrays taken from the fitted model: the gate scores
# one row at a time, where scikit-learn's input checks and OpenMP thread start-ups (which spike to
# tens of milliseconds on a busy host) would cost more than the model itself.


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -logits))


@dataclass(frozen=True)
class LinearPredictor:
    """Logistic regression on log1p-standardised inputs."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> LinearPredictor:
        scaler, model = pipeline[-2], pipeline[-1]
        return cls(mean=scaler.mean_, scale=scaler.scale_, coef=model.coef_[0], intercept=float(model.intercept_[0]))

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(((np.log1p(features) - self.mean) / self.scale) @ self.coef + self.intercept)


@dataclass(frozen=True)
class TreeEnsemblePredictor:
    """A fitted HistGradientBoostingClassifier's trees as padded arrays, walked for all trees at once."""

    baseline: float
    feature: np.ndarray  # [trees, nodes]
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    missing_go_left: np.ndarray
    value: np.ndarray
    depth: int

    @classmethod
    def from_model(cls, model: Any) -> TreeEnsemblePredictor:
        # One tree per iteration for a binary classifier; node fields as scikit-learn's TreePredictor keeps them.
        trees = [predictors[0].nodes for predictors in model._predictors]
        width = max(len(nodes) for nodes in trees)

        def padded(field: str, dtype: Any) -> np.ndarray:
            out = np.zeros((len(trees), width), dtype=dtype)
            for index, nodes in enumerate(trees):
                out[index, : len(nodes)] = nodes[field]
            return out

        return cls(
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            feature=padded("feature_idx", np.intp),
            threshold=padded("num_threshold", np.float64),
            left=padded("left", np.intp),
            right=padded("right", np.intp),
            is_leaf=padded("is_leaf", bool),
            missing_go_left=padded("missing_go_to_left", bool),
            value=padded("value", np.float64),
            depth=max(int(nodes["depth"].max()) for nodes in trees),
        )

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        trees = np.arange(self.feature.shape[0])
        node = np.zeros((len(features), len(trees)), dtype=np.intp)
        for _ in range(self.depth):
            values = np.take_along_axis(features, self.feature[trees, node], axis=1)
            go_left = np.where(
                np.isnan(values), self.missing_go_left[trees, node], values <= self.threshold[trees, node]
            )
            child = np.where(go_left, self.left[trees, node], self.right[trees, node])
            node = np.where(self.is_leaf[trees, node], node, child)
        return _sigmoid(self.baseline + self.value[trees, node].sum(axis=1))


@dataclass(frozen=True)
class MlpPredictor:
    """The MLP's forward pass: log1p, standardise, two ReLU layers, a logit."""

    mean: np.ndarray
    scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MlpPredictor:
        layers = sorted({key.split(".")[1] for key in state["state_dict"]}, key=int)
        return cls(
            mean=np.asarray(state["mean"], dtype=np.float64),
            scale=np.asarray(state["scale"], dtype=np.float64),
            weights=tuple(state["state_dict"][f"net.{layer}.weight"].double().numpy() for layer in layers),
            biases=tuple(state["state_dict"][f"net.{layer}.bias"].double().numpy() for layer in layers),
        )

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        hidden = (np.log1p(np.asarray(features, dtype=np.float64)) - self.mean) / self.scale
        for weight, bias in zip(self.weights[:-1], self.biases[:-1]):
            hidden = np.maximum(hidden @ weight.T + bias, 0.0)
        return _sigmoid((hidden @ self.weights[-1].T + self.biases[-1])[:, 0])


@dataclass(frozen=True)
class Fitted:
    predictor: Predictor
    artifact: bytes
    params: dict[str, Any]


@dataclass(frozen=True)
class Matrix:
    user_ids: np.ndarray
    features: np.ndarray
    labels: np.ndarray


def _matrix(feature_set: FeatureSet) -> Matrix:
    rows = list(feature_set.rows.order_by("user_id").values_list("user_id", "values", "label"))
    return Matrix(
        user_ids=np.array([row[0] for row in rows], dtype=np.int64),
        features=np.array([row[1] for row in rows], dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES)),
        labels=np.array([bool(row[2]) for row in rows], dtype=np.int8),
    )


# Counts and amounts are heavy-tailed: log1p, then standardise (the logistic pipeline does the same).
def _log_scaler(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logged = np.log1p(features)
    scale = logged.std(axis=0)
    return logged.mean(axis=0), np.where(scale > 0, scale, 1.0)


def _fit_gbm(fit: Matrix, validation: Matrix, seed: int) -> Fitted:
    import joblib
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = {
        "learning_rate": 0.05,
        "max_iter": 400,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "validation_fraction": 0.15,
        "n_iter_no_change": 20,
        "random_state": seed,
    }
    model = HistGradientBoostingClassifier(**params).fit(fit.features, fit.labels)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    params["iterations"] = int(model.n_iter_)
    return Fitted(TreeEnsemblePredictor.from_model(model), buffer.getvalue(), params)


def _fit_logreg(fit: Matrix, validation: Matrix, seed: int) -> Fitted:
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    params = {"C": 1.0, "max_iter": 2000, "random_state": seed}
    model = make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(**params)
    ).fit(fit.features, fit.labels)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return Fitted(LinearPredictor.from_pipeline(model), buffer.getvalue(), {**params, "inputs": "log1p, standardised"})


def _fit_mlp(fit: Matrix, validation: Matrix, seed: int) -> Fitted:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    mean, scale = _log_scaler(fit.features)

    def tensors(matrix: Matrix) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = (np.log1p(matrix.features) - mean) / scale
        return torch.tensor(inputs, dtype=torch.float32), torch.tensor(matrix.labels, dtype=torch.float32)

    class PurchaseMlp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            first, second = MLP_HIDDEN
            self.net = nn.Sequential(
                nn.Linear(len(FEATURE_NAMES), first),
                nn.ReLU(),
                nn.Linear(first, second),
                nn.ReLU(),
                nn.Linear(second, 1),
            )

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.net(inputs).squeeze(-1)

    fit_x, fit_y = tensors(fit)
    val_x, val_y = tensors(validation)
    model = PurchaseMlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    best_loss, best_state, best_epoch, epoch = float("inf"), None, 0, 0
    # Batches of 256 rows through 64 units are too small to share between threads: intra-op
    # threading made training 20x slower on a busy two-core host. The setting is restored after.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for epoch in range(1, MLP_MAX_EPOCHS + 1):
            model.train()
            for batch in torch.randperm(len(fit_x), generator=shuffle).split(MLP_BATCH):
                optimizer.zero_grad()
                loss_fn(model(fit_x[batch]), fit_y[batch]).backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                val_loss = loss_fn(model(val_x), val_y).item()
            if val_loss < best_loss - 1e-5:
                best_loss, best_epoch = val_loss, epoch
                best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
            elif epoch - best_epoch >= MLP_PATIENCE:
                break
    finally:
        torch.set_num_threads(threads)
    state = {"state_dict": best_state, "mean": mean.tolist(), "scale": scale.tolist(), "hidden": list(MLP_HIDDEN)}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    params = {
        "hidden": list(MLP_HIDDEN),
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "batch": MLP_BATCH,
        "epochs_run": epoch,
        "best_epoch": best_epoch,
        "best_validation_loss": round(best_loss, 6),
        "inputs": "log1p, standardised",
        "seed": seed,
    }
    return Fitted(MlpPredictor.from_state(state), buffer.getvalue(), params)


FITTERS: dict[str, Callable[[Matrix, Matrix, int], Fitted]] = {
    Algorithm.GBM: _fit_gbm,
    Algorithm.MLP: _fit_mlp,
    Algorithm.LOGREG: _fit_logreg,
}


def _best_f1_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, probabilities)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def _reliability(labels: np.ndarray, probabilities: np.ndarray) -> list[dict[str, Any]]:
    bins = np.minimum((probabilities * RELIABILITY_BINS).astype(int), RELIABILITY_BINS - 1)
    table = []
    for index in range(RELIABILITY_BINS):
        members = bins == index
        count = int(members.sum())
        table.append(
            {
                "bin": f"{index / RELIABILITY_BINS:.1f}-{(index + 1) / RELIABILITY_BINS:.1f}",
                "count": count,
                "mean_predicted": round(float(probabilities[members].mean()), 4) if count else None,
                "observed_rate": round(float(labels[members].mean()), 4) if count else None,
            }
        )
    return table


def _metrics(
    holdout: Matrix, probabilities: np.ndarray, threshold: float, truth: dict[int, float] | None
) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, brier_score_loss, precision_score, recall_score, roc_auc_score

    predicted = probabilities >= threshold
    metrics: dict[str, Any] = {
        "roc_auc": round(float(roc_auc_score(holdout.labels, probabilities)), 4),
        "pr_auc": round(float(average_precision_score(holdout.labels, probabilities)), 4),
        "precision": round(float(precision_score(holdout.labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(holdout.labels, predicted, zero_division=0)), 4),
        "brier": round(float(brier_score_loss(holdout.labels, probabilities)), 5),
        "reliability": _reliability(holdout.labels, probabilities),
        "holdout_customers": len(holdout.labels),
        "holdout_positives": int(holdout.labels.sum()),
        "base_rate": round(float(holdout.labels.mean()), 4),
    }
    if truth is not None:
        known = np.array([int(user_id) in truth for user_id in holdout.user_ids])
        true_probabilities = np.array([truth.get(int(user_id), 0.0) for user_id in holdout.user_ids])[known]
        metrics["limit_roc_auc"] = round(float(roc_auc_score(holdout.labels[known], true_probabilities)), 4)
        metrics["limit_customers"] = int(known.sum())
    return metrics


def _check_classes(matrix: Matrix, window: str) -> None:
    positives = int(matrix.labels.sum())
    if min(positives, len(matrix.labels) - positives) < MIN_PER_CLASS:
        raise TrainingError(
            f"The {window} window has {positives} purchasers among {len(matrix.labels)} customers; "
            f"a model needs at least {MIN_PER_CLASS} buyers and {MIN_PER_CLASS} non-buyers."
        )


@dataclass(frozen=True)
class Split:
    """The two feature sets of one time-based split: features at T-2L and at T-L, labels L days on."""

    training: FeatureSet
    holdout: FeatureSet


def split_build(*, workspace: Workspace, label_days: int = 7, progress: Progress | None = None) -> Split:
    """Build the training and hold-out feature sets; T is the end of the events, L `label_days`."""
    say = progress or (lambda message: None)
    end = events_end(workspace=workspace)
    first = CustomerEvent.objects.filter(workspace=workspace).aggregate(first=Min("event_time"))["first"]
    window = timedelta(days=label_days)
    if end is None or first >= end - 2 * window:
        raise TrainingError(
            f"Training needs events from before T-{2 * label_days} days (T = {end}); the first event is at {first}."
        )
    sets = []
    for name, cutoff in (("training", end - 2 * window), ("hold-out", end - window)):
        say(f"Features at {cutoff:%Y-%m-%d %H:%M} ({name} window) ...")
        sets.append(feature_set_build(workspace=workspace, cutoff=cutoff, label_days=label_days))
        say(f"  feature set v{sets[-1].version}: {sets[-1].customers} customers")
    return Split(training=sets[0], holdout=sets[1])


def train(
    *,
    workspace: Workspace,
    algorithm: str,
    label_days: int = 7,
    seed: int = 0,
    truth: dict[int, float] | None = None,
    progress: Progress | None = None,
    split: Split | None = None,
) -> ModelVersion:
    """Train one model on the time-based split, score it on the hold-out, store it as a new version.

    `split` (from `split_build`) lets several algorithms be compared on exactly the same feature
    sets; without it the sets are built from the events now.
    """
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    say = progress or (lambda message: None)
    if algorithm not in FITTERS:
        raise TrainingError(f"Unknown algorithm {algorithm!r}; use one of {', '.join(FITTERS)}.")
    started = time.perf_counter()

    # 1. Features in SQL: at T-2L for training, at T-L for the hold-out.
    if split is None:
        split = split_build(workspace=workspace, label_days=label_days, progress=progress)
    elif split.training.label_window_days != label_days or split.training.workspace_id != workspace.pk:
        raise TrainingError(f"The split was built for another workspace or label window than {label_days} days.")
    training, holdout = _matrix(split.training), _matrix(split.holdout)
    _check_classes(training, "training")
    _check_classes(holdout, "hold-out")

    # 2. Fit on most of the training window; its validation slice stops the MLP and sets the threshold.
    fit_rows, validation_rows = train_test_split(
        np.arange(len(training.labels)), test_size=VALIDATION_SHARE, random_state=seed, stratify=training.labels
    )
    fit, validation = (
        Matrix(training.user_ids[rows], training.features[rows], training.labels[rows])
        for rows in (fit_rows, validation_rows)
    )
    say(f"Training {algorithm} on {len(fit.labels)} customers ({int(fit.labels.sum())} purchasers) ...")
    # One customer per row is thousands of rows, not millions: OpenMP and BLAS threads only fight
    # (over the web and database processes too) and made gbm 25x slower on a busy two-core host.
    with threadpool_limits(limits=1):
        fitted = FITTERS[algorithm](fit, validation, seed)
    threshold = _best_f1_threshold(validation.labels, fitted.predictor.predict_proba(validation.features))

    # 3. Judge it on the hold-out window, which it has never seen.
    say(f"Scoring the hold-out: {len(holdout.labels)} customers ...")
    metrics = _metrics(holdout, fitted.predictor.predict_proba(holdout.features), threshold, truth)
    metrics.update(train_customers=len(training.labels), train_positives=int(training.labels.sum()))
    params = {
        **fitted.params,
        "label_days": label_days,
        "seed": seed,
        "threshold_rule": "maximises F1 on a stratified 20% validation slice of the training window",
        "train_cutoff": split.training.cutoff.isoformat(),
        "holdout_cutoff": split.holdout.cutoff.isoformat(),
        "holdout_feature_set": split.holdout.version,
    }
    return _model_version_create(
        workspace=workspace,
        algorithm=algorithm,
        feature_set=split.training,
        artifact=fitted.artifact,
        threshold=threshold,
        metrics=metrics,
        params=params,
        training_s=time.perf_counter() - started,
    )


@transaction.atomic
def _model_version_create(
    *,
    workspace: Workspace,
    algorithm: str,
    feature_set: FeatureSet,
    artifact: bytes,
    threshold: float,
    metrics: dict[str, Any],
    params: dict[str, Any],
    training_s: float,
) -> ModelVersion:
    Workspace.objects.select_for_update().get(pk=workspace.pk)
    version = (ModelVersion.objects.filter(workspace=workspace).aggregate(last=Max("version"))["last"] or 0) + 1
    stored = default_storage.save(f"models/{workspace.id}/{version}.bin", ContentFile(artifact))
    return ModelVersion.objects.create(
        workspace=workspace,
        version=version,
        algorithm=algorithm,
        feature_set=feature_set,
        artifact=stored,
        threshold=threshold,
        metrics=metrics,
        params=params,
        training_s=round(training_s, 3),
    )


@transaction.atomic
def promote(*, model_version: ModelVersion) -> ModelVersion:
    """Make this version the one the gate uses; the partial unique constraint keeps it the only one."""
    Workspace.objects.select_for_update().get(pk=model_version.workspace_id)
    ModelVersion.objects.filter(workspace_id=model_version.workspace_id, promoted=True).exclude(
        pk=model_version.pk
    ).update(promoted=False, promoted_at=None)
    ModelVersion.objects.filter(pk=model_version.pk).update(promoted=True, promoted_at=timezone.now())
    model_version.refresh_from_db(fields=["promoted", "promoted_at"])
    return model_version


_loaded: OrderedDict[Any, Predictor] = OrderedDict()
_loaded_lock = threading.Lock()


def artifact_read(model_version: ModelVersion) -> Predictor:
    """The version's predictor, read from storage now (`load` is the cached way)."""
    with default_storage.open(model_version.artifact.name, "rb") as stored:
        content = stored.read()
    if model_version.algorithm == Algorithm.MLP:
        import torch

        return MlpPredictor.from_state(torch.load(io.BytesIO(content), weights_only=True))
    import joblib

    # Artifacts are written only by `train` into the service's own storage, so unpickling is trusted.
    model = joblib.load(io.BytesIO(content))
    if model_version.algorithm == Algorithm.GBM:
        return TreeEnsemblePredictor.from_model(model)
    return LinearPredictor.from_pipeline(model)


def load(model_version: ModelVersion) -> Predictor:
    """The version's predictor, read from storage once per process (artifacts never change)."""
    with _loaded_lock:
        if model_version.pk in _loaded:
            _loaded.move_to_end(model_version.pk)
            return _loaded[model_version.pk]
    predictor = artifact_read(model_version)
    with _loaded_lock:
        _loaded[model_version.pk] = predictor
        while len(_loaded) > LOADED_CACHE_SIZE:
            _loaded.popitem(last=False)
    return predictor
