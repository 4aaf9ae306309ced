from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from predictions.generator import CATALOGUE, EVENT_TYPES, HEADER, PURCHASE, generate
from predictions.ingestion import COLUMNS
from predictions.models import CustomerEvent


@pytest.fixture(scope="module")
def ten_thousand(tmp_path_factory) -> dict:
    """The figure the benchmark uses: 10,000 customers over 60 days, written by the command."""
    folder = tmp_path_factory.mktemp("generated")
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    call_command(
        "generate_events", customers=10_000, days=60, seed=11, out=folder / "events.csv",
        truth=folder / "truth.csv", stdout=out, stderr=err,
    )
    return {"seconds": time.perf_counter() - started, "folder": folder, "out": out.getvalue(), "err": err.getvalue()}


def test_it_is_deterministic_for_a_seed():
    first, again, other = generate(300, 20, 5), generate(300, 20, 5), generate(300, 20, 6)
    assert list(first.events) == list(again.events)
    assert list(first.truth) == list(again.truth)
    assert list(first.events) != list(other.events)


def test_ten_thousand_customers_over_sixty_days_make_half_a_million_events_in_well_under_a_minute(ten_thousand):
    with open(ten_thousand["folder"] / "events.csv", newline="") as handle:
        lines = sum(1 for _ in handle)
    assert lines - 1 >= 500_000
    assert ten_thousand["seconds"] < 30
    assert f"wrote {lines - 1} events of 10000 customers" in ten_thousand["out"]
    assert "  writing     [##############################] 100.0%" in ten_thousand["err"]


def test_it_writes_the_rees46_header_and_time_ordered_rows(ten_thousand):
    with open(ten_thousand["folder"] / "events.csv", newline="") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == HEADER == COLUMNS
        rows = [row for _, row in zip(range(20_000), reader)]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert all(row[0].endswith(" UTC") and len(row[0]) == 23 for row in rows)
    assert {row[1] for row in rows} == set(EVENT_TYPES)
    known = {(str(p.product_id), str(p.category_id), p.category_code, p.brand, p.price) for p in CATALOGUE}
    assert all(tuple(row[2:7]) in known for row in rows)
    assert all(len(row[8]) == 36 and row[8][14] == "4" for row in rows)


def test_the_truth_file_gives_probabilities_in_0_1_whose_mean_matches_the_purchase_rate(ten_thousand):
    with open(ten_thousand["folder"] / "truth.csv", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["user_id", "true_probability", "purchased_in_label_window"]
        truth = [(int(user), float(p), int(bought)) for user, p, bought in reader]
    probability = np.array([p for _, p, _ in truth])
    purchased = np.array([bought for _, _, bought in truth])
    assert len(truth) == 10_000
    assert ((probability > 0) & (probability < 1)).all()
    assert abs(probability.mean() - purchased.mean()) < 0.02
    assert 0.05 < purchased.mean() < 0.4
    # Exact, not merely right on average: every tenth of the customers by probability buys at its mean rate.
    order = np.argsort(probability)
    for tenth in np.array_split(order, 10):
        assert abs(probability[tenth].mean() - purchased[tenth].mean()) < 0.05


def test_the_truth_labels_are_the_purchases_in_the_label_window():
    events, truth = generate(2_000, 30, 3, label_days=7)
    cutoff_s = (30 - 7) * 86_400
    buyers = set(events.user_id[(events.event_type == PURCHASE) & (events.seconds >= cutoff_s)].tolist())
    assert buyers == set(truth.user_id[truth.purchased].tolist())
    assert events.cutoff.isoformat() == "2019-10-24T00:00:00+00:00"


def test_the_generated_file_is_ingested_without_a_rejected_row(owner, tmp_path):
    path = tmp_path / "events.csv"
    call_command("generate_events", "--start=2020-01-01", customers=200, days=21, seed=2, out=path,
                 stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("ingest_events", str(path), workspace=owner.workspace.slug, stdout=out, stderr=io.StringIO())
    with open(path) as handle:
        rows = sum(1 for _ in handle) - 1
    assert f"rows:      {rows} read, {rows} accepted, 0 rejected" in out.getvalue()
    assert CustomerEvent.objects.filter(workspace=owner.workspace).count() == rows
    assert CustomerEvent.objects.order_by("event_time").first().event_time.isoformat() >= "2020-01-01"


def test_it_refuses_a_label_window_as_long_as_the_period(tmp_path):
    with pytest.raises(CommandError, match="label_days must be between 1 and days - 1"):
        call_command("generate_events", customers=10, days=7, label_days=7, out=tmp_path / "e.csv",
                     stdout=io.StringIO(), stderr=io.StringIO())
