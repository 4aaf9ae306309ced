"""Purchase-model benchmark: event ingestion beside a plain COPY, training per algorithm, gate latency.

    .venv/bin/python benchmarks/predictions.py [--customers 10000] [--days 60] [--seed 7] [--gate-calls 1000]

On the `adfame_bench` database, in one run:
- generate: the synthetic events (predictions.generator) and how long drawing and writing took.
- ingest: `ingestion_process` on that file (validation, then COPY into the events table with its
  indexes and foreign keys, in one transaction) against, on the same file, `COPY ... FROM STDIN
  (FORMAT csv)` into a bare scratch table (`copy_rows_per_s`, the floor the brief asks about) and
  into a scratch table with the events table's indexes and foreign keys (`schema_copy_rows_per_s`).
  `ratio` is against the bare COPY; `schema_ratio` says what our validation costs on top of what
  the schema itself costs.
- train: seconds and hold-out ROC AUC per algorithm (gbm, mlp, logreg), with `limit_auc`, the
  AUC of the generator's true probabilities on the same hold-out: the best any model could reach.
- gate: `customer_predict` latency p50/p99 over --gate-calls customers, the best model promoted
  and already loaded.
Each section prints one line of key=value pairs. The run's workspace, events and files are removed at the end.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "adfame_bench"
WORKSPACE_NAME = "predictions benchmark"
DATA_DIR = tempfile.mkdtemp(prefix="adfame-bench-predictions-")

os.environ.update(
    DJANGO_SETTINGS_MODULE="adfame.settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "benchmark-only"),
    DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
    ADFAME_DATA_DIR=DATA_DIR,
    ADFAME_LOG_LEVEL="WARNING",
    ADFAME_LOG_FORMAT="text",
)
sys.path.insert(0, str(ROOT))


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("dbname=postgres user=postgres host=127.0.0.1", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone():
            conn.execute(f"create database {DATABASE}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def say(section: str, **figures: Any) -> None:
    print(section + " " + " ".join(f"{key}={value}" for key, value in figures.items()), flush=True)


def remove_benchmark_data() -> None:
    """This benchmark's workspaces, from this run or an interrupted one; events first, in bulk."""
    from django.db import connection

    from campaigns.models import Workspace
    from predictions.models import ModelVersion

    ids = list(Workspace.objects.filter(name=WORKSPACE_NAME).values_list("id", flat=True))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM predictions_customerevent WHERE workspace_id = ANY(%s)", [ids])
        # Model versions protect their feature sets, which the workspace's cascade would reach first.
        ModelVersion.objects.filter(workspace_id__in=ids).delete()
        Workspace.objects.filter(id__in=ids).delete()
        with connection.cursor() as cursor:
            # Dead rows left by the delete would slow the next run's index inserts.
            cursor.execute("VACUUM predictions_customerevent")


def run_generate(customers: int, days: int, seed: int, folder: Path) -> tuple[Path, Any]:
    from predictions.generator import events_write_csv, generate

    started = time.perf_counter()
    events, truth = generate(customers, days, seed)
    drawn = time.perf_counter()
    path = folder / "events.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        events_write_csv(events, handle)
    written = time.perf_counter()
    say(
        "generate", customers=customers, days=days, events=len(events), draw_s=f"{drawn - started:.2f}",
        write_s=f"{written - drawn:.2f}", events_per_s=f"{len(events) / (written - started):.0f}",
        size_mb=f"{path.stat().st_size / 1e6:.1f}", purchase_rate=f"{truth.purchased.mean():.3f}",
        mean_true_probability=f"{truth.probability.mean():.3f}",
    )
    return path, truth


def checkpoint() -> None:
    """Start each timed load with nothing left to flush from the one before (needs a superuser, as here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def plain_copy(path: Path, *, like_events_table: bool, workspace_id: Any, ingestion_id: Any) -> float:
    """Seconds for COPY FROM STDIN (FORMAT csv) of the file into a scratch table, committed."""
    from django.db import connection, transaction

    columns = "event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scratch_events")
        if like_events_table:
            cursor.execute(
                "CREATE TABLE bench_scratch_events (LIKE predictions_customerevent INCLUDING ALL);"
                "ALTER TABLE bench_scratch_events ADD FOREIGN KEY (workspace_id) REFERENCES campaigns_workspace (id)"
                " DEFERRABLE INITIALLY DEFERRED;"
                "ALTER TABLE bench_scratch_events ADD FOREIGN KEY (ingestion_id)"
                " REFERENCES predictions_eventingestion (id) DEFERRABLE INITIALLY DEFERRED;"
                f"ALTER TABLE bench_scratch_events ALTER COLUMN workspace_id SET DEFAULT '{workspace_id}';"
                f"ALTER TABLE bench_scratch_events ALTER COLUMN ingestion_id SET DEFAULT '{ingestion_id}'"
            )
        else:
            cursor.execute(
                "CREATE TABLE bench_scratch_events (event_time timestamptz, event_type varchar(16), product_id bigint,"
                " category_id bigint, category_code varchar(200), brand varchar(100), price numeric(12, 2),"
                " user_id bigint, user_session varchar(64))"
            )
    try:
        checkpoint()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            # FORCE_NOT_NULL: empty text fields are empty strings, as ingestion stores them, not NULLs.
            options = "FORMAT csv, HEADER true, FORCE_NOT_NULL (category_code, brand, user_session)"
            with cursor.copy(f"COPY bench_scratch_events ({columns}) FROM STDIN ({options})") as copy:
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
        return time.perf_counter() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_scratch_events")


def run_ingest(workspace: Any, path: Path, rows: int) -> Any:
    from django.core.files.base import File

    from predictions.models import IngestionStatus
    from predictions.services import ingestion_create, ingestion_process

    with open(path, "rb") as handle:
        ingestion = ingestion_create(workspace=workspace, upload=File(handle, name=path.name), enqueue=False)
    bare_s = plain_copy(path, like_events_table=False, workspace_id=workspace.id, ingestion_id=ingestion.id)
    schema_s = plain_copy(path, like_events_table=True, workspace_id=workspace.id, ingestion_id=ingestion.id)
    loading_from: list[float] = []

    def progress(state: Any) -> None:
        if state.phase == IngestionStatus.LOADING and not loading_from:
            loading_from.append(time.perf_counter())

    checkpoint()
    started = time.perf_counter()
    ingestion = ingestion_process(ingestion_id=ingestion.id, progress=progress)
    ingest_s = time.perf_counter() - started
    if ingestion.status != IngestionStatus.SUCCEEDED or ingestion.rows_accepted != rows:
        raise SystemExit(f"the benchmark ingestion did not load every row: {ingestion.status} {ingestion.error}")
    say(
        "ingest", rows=rows, ingest_rows_per_s=f"{rows / ingest_s:.0f}", copy_rows_per_s=f"{rows / bare_s:.0f}",
        ratio=f"{bare_s / ingest_s:.3f}", schema_copy_rows_per_s=f"{rows / schema_s:.0f}",
        schema_ratio=f"{schema_s / ingest_s:.3f}", validate_s=f"{loading_from[0] - started:.2f}",
        load_s=f"{started + ingest_s - loading_from[0]:.2f}",
    )
    return ingestion


def run_training(workspace: Any, truth: Any) -> Any | None:
    """Train each algorithm; promote and return the best by hold-out AUC (None without predictions.training)."""
    try:
        from predictions import training
    except ImportError:
        say("train", skipped="predictions.training is not available")
        return None
    probabilities = truth.probability_by_user()
    trained = []
    for algorithm in ("gbm", "mlp", "logreg"):
        started = time.perf_counter()
        version = training.train(workspace=workspace, algorithm=algorithm, label_days=7, truth=probabilities)
        wall = time.perf_counter() - started
        metrics = version.metrics
        say(
            "train", algorithm=algorithm, train_s=f"{wall:.1f}", fit_s=f"{version.training_s:.1f}",
            auc=metrics["roc_auc"], limit_auc=metrics.get("limit_roc_auc", "n/a"), pr_auc=metrics.get("pr_auc"),
            precision=metrics.get("precision"), recall=metrics.get("recall"),
            holdout_customers=metrics.get("holdout_customers"),
        )
        trained.append(version)
    best = max(trained, key=lambda version: version.metrics["roc_auc"])
    return training.promote(model_version=best)


def run_gate(workspace: Any, promoted: Any, truth: Any, calls: int, seed: int) -> None:
    import numpy as np

    from predictions.gate import customer_predict

    rng = np.random.default_rng(seed)
    users = rng.choice(truth.user_id, size=calls).tolist()
    customer_predict(workspace=workspace, user_id=users[0])  # loads the model: not part of the figure
    latencies, decisions = [], {}
    for user_id in users:
        started = time.perf_counter()
        result = customer_predict(workspace=workspace, user_id=user_id)
        latencies.append((time.perf_counter() - started) * 1000)
        decisions[result.decision] = decisions.get(result.decision, 0) + 1
    say(
        "gate", model=promoted.label, calls=calls, p50_ms=f"{statistics.median(latencies):.2f}",
        p99_ms=f"{percentile(latencies, 0.99):.2f}",
        passed=decisions.get("passed", 0), gated=decisions.get("gated", 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gate-calls", type=int, default=1_000)
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    from campaigns.services import workspace_create

    call_command("migrate", verbosity=0)
    remove_benchmark_data()
    try:
        workspace = workspace_create(name=WORKSPACE_NAME, owner_email="bench@adfame.local")
        path, truth = run_generate(args.customers, args.days, args.seed, Path(DATA_DIR))
        with open(path, "rb") as handle:
            rows = sum(1 for _ in handle) - 1
        run_ingest(workspace, path, rows)
        promoted = run_training(workspace, truth)
        if promoted is not None:
            run_gate(workspace, promoted, truth, args.gate_calls, args.seed)
    finally:
        remove_benchmark_data()
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
