"""Purchase features computed in SQL: one customer's history worked out by hand, sets and labels."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from predictions.features import FEATURE_NAMES, RECENCY_CAP_DAYS, feature_set_build, features_for_customer
from predictions.models import CustomerEvent, CustomerFeatures, FeatureSet

CUTOFF = datetime(2019, 11, 1, tzinfo=timezone.utc)
ALICE, BOB, CAROL = 7, 8, 9


def at(day: int, hour: int = 0, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2019, month, day, hour, minute, tzinfo=timezone.utc)


def event(workspace, user_id: int, when: datetime, kind: str, price: str, category: int, brand: str, session: str):
    return CustomerEvent(
        workspace=workspace,
        user_id=user_id,
        event_time=when,
        event_type=kind,
        product_id=1000 + category,
        category_id=category,
        category_code="",
        brand=brand,
        price=Decimal(price),
        user_session=session,
    )


@pytest.fixture
def history(owner):
    """Alice shops before the cutoff and buys again after it; Bob arrives after it; Carol only looks."""
    ws = owner.workspace
    CustomerEvent.objects.bulk_create(
        [
            event(ws, ALICE, at(1, 10, 0), "view", "100.00", 1, "x", "s1"),
            event(ws, ALICE, at(1, 10, 1), "view", "200.00", 1, "x", "s1"),
            event(ws, ALICE, at(1, 10, 2), "cart", "200.00", 1, "x", "s1"),
            event(ws, ALICE, at(1, 10, 3), "purchase", "200.00", 1, "x", "s1"),
            event(ws, ALICE, at(27, 9, 0), "view", "50.00", 2, "y", "s2"),
            event(ws, ALICE, at(27, 9, 1), "cart", "50.00", 2, "y", "s2"),
            event(ws, ALICE, at(27, 9, 2), "remove_from_cart", "50.00", 2, "y", "s2"),
            event(ws, ALICE, at(27, 9, 3), "view", "60.00", 2, "y", "s2"),
            event(ws, ALICE, at(31, 12, 0), "view", "30.00", 2, "", "s3"),
            event(ws, ALICE, at(2, 10, 0, month=11), "purchase", "80.00", 2, "y", "s4"),
            event(ws, BOB, at(1, 9, 0, month=11), "view", "20.00", 3, "z", "s5"),
            event(ws, CAROL, at(20, 8, 0), "view", "10.00", 3, "z", "s6"),
        ]
    )
    return ws


def test_a_customers_features_are_their_events_before_the_cutoff_worked_out_by_hand(history):
    values = dict(zip(FEATURE_NAMES, features_for_customer(workspace=history, user_id=ALICE, at=CUTOFF)))
    expected = {
        "events": 9,
        "sessions": 3,
        "views": 5,
        "carts": 2,
        "removals": 1,
        "purchases": 1,
        "spend": 200,
        "average_order_value": 200,
        "cart_to_purchase_ratio": 0.5,
        "days_since_last_event": 0.5,
        "days_since_first_event": (CUTOFF - at(1, 10, 0)) / timedelta(days=1),
        "days_since_last_purchase": (CUTOFF - at(1, 10, 3)) / timedelta(days=1),
        "distinct_categories": 2,
        "distinct_brands": 2,  # a blank brand is no brand
        "top_category_share": 5 / 9,
        "top_brand_share": 4 / 9,
        "median_view_price_band": math.log(1 + 60),  # views at 100, 200, 50, 60, 30
        "views_per_session": 5 / 3,
        "carts_per_session": 2 / 3,
        "sessions_last_7d": 2,
        "sessions_last_30d": 2,
        "events_last_7d": 5,
        "events_last_30d": 5,
        "carts_last_7d": 1,
        "purchases_last_30d": 0,
    }
    assert set(expected) == set(FEATURE_NAMES)
    assert values == pytest.approx(expected)


def test_a_customer_without_events_gets_the_never_seen_vector(history):
    values = dict(zip(FEATURE_NAMES, features_for_customer(workspace=history, user_id=424242, at=CUTOFF)))
    recencies = {"days_since_last_event", "days_since_first_event", "days_since_last_purchase"}
    assert {name: values[name] for name in recencies} == dict.fromkeys(recencies, RECENCY_CAP_DAYS)
    assert all(value == 0 for name, value in values.items() if name not in recencies)


def test_a_customer_unknown_to_every_feature_set_is_scored_from_their_events(history):
    # Bob's only event is after the cutoff: the set at the cutoff does not know him, a later look does.
    feature_set = feature_set_build(workspace=history, cutoff=CUTOFF, label_days=1)
    assert not feature_set.rows.filter(user_id=BOB).exists()
    later = features_for_customer(workspace=history, user_id=BOB, at=CUTOFF + timedelta(days=1))
    values = dict(zip(FEATURE_NAMES, later))
    assert values["views"] == 1 and values["days_since_last_event"] == pytest.approx(15 / 24)


def test_another_workspaces_events_never_count(history, outsider):
    CustomerEvent.objects.bulk_create([event(outsider.workspace, ALICE, at(30), "purchase", "999.00", 9, "q", "t1")])
    mine = features_for_customer(workspace=history, user_id=ALICE, at=CUTOFF)
    theirs = dict(zip(FEATURE_NAMES, features_for_customer(workspace=outsider.workspace, user_id=ALICE, at=CUTOFF)))
    assert dict(zip(FEATURE_NAMES, mine))["spend"] == 200
    assert theirs["spend"] == 999 and theirs["events"] == 1


def test_a_feature_set_stores_the_same_values_the_on_the_fly_path_computes(history):
    feature_set = feature_set_build(workspace=history, cutoff=CUTOFF, label_days=1)
    assert feature_set.version == 1 and feature_set.feature_names == FEATURE_NAMES
    assert feature_set.customers == 2 and feature_set.label_window_days == 1
    for row in CustomerFeatures.objects.filter(feature_set=feature_set):
        assert row.values == pytest.approx(features_for_customer(workspace=history, user_id=row.user_id, at=CUTOFF))


@pytest.mark.parametrize(
    ("label_days", "alice", "carol"),
    [
        (1, False, False),  # [Nov 1, Nov 2): Alice's purchase at Nov 2 10:00 is after it
        (2, True, False),  # [Nov 1, Nov 3): it is inside
        (7, None, None),  # the events end on Nov 2, so a week after the cutoff is not known yet
    ],
)
def test_labels_are_purchases_in_the_window_after_the_cutoff_and_unknown_past_the_data(
    history, label_days, alice, carol
):
    feature_set = feature_set_build(workspace=history, cutoff=CUTOFF, label_days=label_days)
    labels = dict(feature_set.rows.values_list("user_id", "label"))
    assert labels == {ALICE: alice, CAROL: carol}


def test_feature_set_versions_count_up_per_workspace(history, outsider):
    first = feature_set_build(workspace=history, cutoff=CUTOFF, label_days=1)
    second = feature_set_build(workspace=history, cutoff=CUTOFF - timedelta(days=7), label_days=1)
    theirs = feature_set_build(workspace=outsider.workspace, cutoff=CUTOFF, label_days=1)
    assert (first.version, second.version, theirs.version) == (1, 2, 1)
    assert theirs.customers == 0 and FeatureSet.objects.filter(workspace=history).count() == 2
