"""`manage.py train_purchase_model`: train a purchase model on a workspace's events and print its metrics.

    manage.py train_purchase_model --workspace acme --algo gbm [--label-days 7] [--truth truth.csv] [--promote]

The split is by time (see predictions.training). With --truth (the generator's truth file) the
hold-out AUC is printed next to the best AUC any model could reach on the same customers.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Workspace
from predictions.models import Algorithm
from predictions import training


def truth_read(path: Path) -> dict[int, float]:
    """user_id -> true_probability from a truth file (user_id,true_probability,purchased_in_label_window)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"user_id", "true_probability"} <= set(reader.fieldnames):
            raise CommandError(f"{path} is not a truth file: expected the columns user_id,true_probability,...")
        return {int(row["user_id"]): float(row["true_probability"]) for row in reader}


class Command(BaseCommand):
    help = "Train a purchase model (gbm, mlp or logreg) on a time-based split and store it as a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--algo", required=True, choices=Algorithm.values)
        parser.add_argument("--label-days", type=int, default=7, help="the purchase window to predict, in days")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--truth", type=Path, help="the generator's truth file: also print the limit AUC")
        parser.add_argument("--promote", action="store_true", help="make the new version the one the gate uses")

    def handle(
        self, *args: Any, workspace: str, algo: str, label_days: int, seed: int, truth: Path | None,
        promote: bool, **options: Any,
    ) -> None:
        owner = Workspace.objects.filter(slug=workspace).first()
        if owner is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        if label_days < 1:
            raise CommandError("--label-days must be at least 1.")
        true_probabilities = truth_read(truth) if truth else None
        started = time.perf_counter()

        def progress(message: str) -> None:
            self.stderr.write(f"  [{time.perf_counter() - started:6.1f} s] {message}", style_func=lambda text: text)

        try:
            model_version = training.train(
                workspace=owner, algorithm=algo, label_days=label_days, seed=seed, truth=true_probabilities,
                progress=progress,
            )
        except training.TrainingError as exc:
            raise CommandError(str(exc)) from None
        metrics = model_version.metrics
        self.stdout.write(f"{model_version.label} trained in {model_version.training_s:.1f} s")
        self.stdout.write(
            f"  hold-out: {metrics['holdout_customers']} customers, {metrics['holdout_positives']} purchasers "
            f"(base rate {metrics['base_rate']:.3f}); trained on {metrics['train_customers']} customers"
        )
        self.stdout.write(
            f"  ROC AUC {metrics['roc_auc']:.3f}  PR AUC {metrics['pr_auc']:.3f}  Brier {metrics['brier']:.4f}"
        )
        self.stdout.write(
            f"  threshold {model_version.threshold:.3f}: precision {metrics['precision']:.3f}, "
            f"recall {metrics['recall']:.3f}"
        )
        self.stdout.write("  reliability (predicted -> observed):")
        for row in metrics["reliability"]:
            if row["count"]:
                self.stdout.write(
                    f"    {row['bin']}: {row['count']:6d} customers, "
                    f"{row['mean_predicted']:.3f} -> {row['observed_rate']:.3f}"
                )
        if "limit_roc_auc" in metrics:
            self.stdout.write(
                f"hold-out AUC {metrics['roc_auc']:.3f}, limit (generator's true probabilities) "
                f"{metrics['limit_roc_auc']:.3f}"
            )
        if promote:
            training.promote(model_version=model_version)
            self.stdout.write(f"{model_version.label} is promoted: the gate of {owner.slug} uses it.")

