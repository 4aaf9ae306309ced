"""Per-customer purchase features, computed in SQL from a workspace's events before a cutoff.

One list of features (`FEATURES`) serves both paths: `feature_set_build` runs the aggregate for
every customer of a workspace and stores the rows; `features_for_customer` runs the very same
aggregate for one customer at prediction time. Without a GROUP BY an aggregate always returns
one row, so a customer with no events gets the "never seen" vector from the same SQL: every
count and share 0, both recencies at `RECENCY_CAP_DAYS`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from campaigns.models import Workspace
from predictions.models import CustomerEvent, CustomerFeatures, EventType, FeatureSet

# Recency beyond a year says nothing more, and a customer who never did the thing is "a year ago".
RECENCY_CAP_DAYS = 365

_PURCHASE = f"event_type = '{EventType.PURCHASE}'"
_VIEW = f"event_type = '{EventType.VIEW}'"
_CART = f"event_type = '{EventType.CART}'"
_REMOVE = f"event_type = '{EventType.REMOVE_FROM_CART}'"
_SESSIONS = "count(DISTINCT nullif(user_session, ''))"


def _count(condition: str) -> str:
    return f"(count(*) FILTER (WHERE {condition}))::float8"


def _ratio(numerator: str, denominator: str) -> str:
    return f"coalesce({numerator} / nullif({denominator}, 0), 0)"


def _last_days(days: int) -> str:
    return f"event_time >= %(cutoff)s - interval '{days} days'"


def _days_since(moment: str) -> str:
    return (
        f"least(coalesce(extract(epoch FROM %(cutoff)s - {moment})::float8 / 86400, {RECENCY_CAP_DAYS}), "
        f"{RECENCY_CAP_DAYS})"
    )


# (name, SQL aggregate over the `ev` rows of one customer); every value is a float8 and never NULL.
FEATURES: list[tuple[str, str]] = [
    ("events", "count(*)::float8"),
    ("sessions", f"{_SESSIONS}::float8"),
    ("views", _count(_VIEW)),
    ("carts", _count(_CART)),
    ("removals", _count(_REMOVE)),
    ("purchases", _count(_PURCHASE)),
    ("spend", f"coalesce(sum(price) FILTER (WHERE {_PURCHASE}), 0)"),
    ("average_order_value", _ratio(f"sum(price) FILTER (WHERE {_PURCHASE})", _count(_PURCHASE))),
    ("cart_to_purchase_ratio", _ratio(_count(_PURCHASE), _count(_CART))),
    ("days_since_last_event", _days_since("max(event_time)")),
    ("days_since_first_event", _days_since("min(event_time)")),
    ("days_since_last_purchase", _days_since(f"max(event_time) FILTER (WHERE {_PURCHASE})")),
    ("distinct_categories", "count(DISTINCT category_id)::float8"),
    ("distinct_brands", "count(DISTINCT nullif(brand, ''))::float8"),
    ("top_category_share", _ratio("max(category_events)::float8", "count(*)")),
    ("top_brand_share", _ratio("(max(brand_events) FILTER (WHERE brand <> ''))::float8", "count(*)")),
    # ln(1 + median price of viewed items): the price band the customer browses in.
    (
        "median_view_price_band",
        f"ln(1 + coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY price) FILTER (WHERE {_VIEW}), 0))",
    ),
    ("views_per_session", _ratio(_count(_VIEW), _SESSIONS)),
    ("carts_per_session", _ratio(_count(_CART), _SESSIONS)),
    ("sessions_last_7d", f"({_SESSIONS} FILTER (WHERE {_last_days(7)}))::float8"),
    ("sessions_last_30d", f"({_SESSIONS} FILTER (WHERE {_last_days(30)}))::float8"),
    ("events_last_7d", _count(_last_days(7))),
    ("events_last_30d", _count(_last_days(30))),
    ("carts_last_7d", _count(f"{_CART} AND {_last_days(7)}")),
    ("purchases_last_30d", _count(f"{_PURCHASE} AND {_last_days(30)}")),
]
FEATURE_NAMES: list[str] = [name for name, _ in FEATURES]

# The window counts give each event the size of its customer's category and brand groups, so the
# outer aggregate finds the top category's and top brand's share without a second pass.
_EVENTS = """
WITH ev AS (
    SELECT user_id, event_time, event_type, price::float8 AS price, user_session, category_id, brand,
           count(*) OVER (PARTITION BY user_id, category_id) AS category_events,
           count(*) OVER (PARTITION BY user_id, brand) AS brand_events
    FROM predictions_customerevent
    WHERE workspace_id = %(workspace_id)s AND event_time < %(cutoff)s {only_customer}
)
"""
_ALL_CUSTOMERS_SQL = (
    _EVENTS.format(only_customer="")
    + "SELECT user_id, "
    + ", ".join(expression for _, expression in FEATURES)
    + " FROM ev GROUP BY user_id ORDER BY user_id"
)
_ONE_CUSTOMER_SQL = (
    _EVENTS.format(only_customer="AND user_id = %(user_id)s")
    + "SELECT "
    + ", ".join(expression for _, expression in FEATURES)
    + " FROM ev"
)


def events_end(*, workspace: Workspace) -> datetime | None:
    """Midnight after the workspace's last event: the end of its data, None when it has none.

    Whole days line the windows up with data exported (or generated) per calendar day, so the
    last label window is exactly the last `label_days` days of the export.
    """
    # Raw SQL: the gate asks this on every call, and the ORM's aggregate costs more than the query.
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(event_time) FROM predictions_customerevent WHERE workspace_id = %s", [workspace.id])
        last = cursor.fetchone()[0]
    if last is None:
        return None
    return last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def features_for_customer(*, workspace: Workspace, user_id: int, at: datetime) -> list[float]:
    """One customer's features from their events before `at`; the never-seen vector without any."""
    with connection.cursor() as cursor:
        cursor.execute(_ONE_CUSTOMER_SQL, {"workspace_id": workspace.id, "cutoff": at, "user_id": user_id})
        return [float(value) for value in cursor.fetchone()]


def _features_for_all(workspace: Workspace, cutoff: datetime) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_ALL_CUSTOMERS_SQL, {"workspace_id": workspace.id, "cutoff": cutoff})
        return cursor.fetchall()


def _purchasers(workspace: Workspace, start: datetime, end: datetime) -> set[int]:
    return set(
        CustomerEvent.objects.filter(
            workspace=workspace, event_type=EventType.PURCHASE, event_time__gte=start, event_time__lt=end
        )
        .values_list("user_id", flat=True)
        .distinct()
    )


@transaction.atomic
def feature_set_build(*, workspace: Workspace, cutoff: datetime, label_days: int) -> FeatureSet:
    """A new feature set version: every customer with events before `cutoff`, and their labels.

    A label says whether the customer purchased in [cutoff, cutoff + label_days); it is left
    empty when the events do not reach the end of that window, because "no purchase seen" would
    then be a guess.
    """
    # The workspace row lock serialises version numbering; the unique constraint backs it up.
    Workspace.objects.select_for_update().get(pk=workspace.pk)
    version = (FeatureSet.objects.filter(workspace=workspace).aggregate(last=Max("version"))["last"] or 0) + 1
    rows = _features_for_all(workspace, cutoff)
    end = events_end(workspace=workspace)
    label_end = cutoff + timedelta(days=label_days)
    labels_known = label_days > 0 and end is not None and label_end <= end
    purchasers = _purchasers(workspace, cutoff, label_end) if labels_known else set()
    feature_set = FeatureSet.objects.create(
        workspace=workspace,
        version=version,
        cutoff=cutoff,
        label_window_days=label_days,
        feature_names=FEATURE_NAMES,
        customers=len(rows),
    )
    CustomerFeatures.objects.bulk_create(
        (
            CustomerFeatures(
                feature_set=feature_set,
                user_id=row[0],
                values=[float(value) for value in row[1:]],
                label=(row[0] in purchasers) if labels_known else None,
            )
            for row in rows
        ),
        batch_size=5000,
    )
    return feature_set
