"""Synthetic e-commerce events in the REES46 layout, from a generative model whose truth is known.

The purchase model is trained on histories like these; because the model that made them is
written down here, each customer's exact probability of buying in the label window is known, and
with it the best ROC AUC any predictor could reach on the data (`Truth.probability`).

The model
---------
Customers i = 1..N (user ids 500000001...) have four latent traits, independent N(0, 1):
`a` activity, `s` price sensitivity, `b` brand loyalty and `e` an idiosyncratic taste for buying.

- Propensity. A session of customer i ends in a purchase with probability
  pi_i = sigmoid(-3.0 + 0.6 a + 0.5 b - 0.5 s + 0.7 e). Active, loyal, price-insensitive customers buy more.
- Sessions. They arrive as a non-homogeneous Poisson process over the D days with rate
  r_i(t) = R_i exp(g_i (t - D) / D) per day, t in days since the start, where
  R_i = 0.3 exp(0.8 a - 0.32) is the rate at the end of the period and g_i ~ N(0, 1) is the
  customer's trend (engagement rising for g > 0, fading for g < 0). So recency carries signal.
- Within a session (events seconds to minutes apart, Exp(40 s) gaps):
  1 + Poisson(2 exp(0.3 s)) views (price-sensitive customers compare more); then, with probability
  c_i = sigmoid(logit(pi_i) + 1.6), the last viewed product goes to the cart; a carted product is
  bought with probability pi_i / c_i (so a session buys with probability pi_i exactly), and one
  not bought is removed from the cart with probability 0.45.
- Products. A fixed catalogue of 110 products in 11 categories (see CATALOGUE). A view picks the
  customer's favourite brand (chosen once, by brand popularity) with probability
  sigmoid(1.5 b - 1), uniformly among its products; otherwise a product with probability
  proportional to popularity_j * exp(-0.9 s' z_j), z_j the product's standardised log price and
  s' the customer's price sensitivity rounded to the nearest 0.5 in [-2, 2].
- Label window: the last L days [D - L, D). A session belongs to the window its start falls in;
  its later events are kept inside that window (clipped one second before the boundary), so
  labels read from event times agree with the model exactly.

Purchasing sessions in the window are a thinned Poisson process, so the number of them is
Poisson(pi_i * integral of r_i over the window) and the probability of at least one purchase is

    P_i = 1 - exp(-pi_i * R_i * D * (1 - exp(-g_i L / D)) / g_i)      (pi_i R_i L when g_i = 0).

That is `Truth.probability`; `Truth.purchased` is what happened in this draw. Everything is drawn
from one numpy Generator seeded with `seed`, in a fixed order: the same arguments give the same
bytes. Events are sorted by time (ties keep a session's order).
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import IO, NamedTuple

import numpy as np

HEADER = (
    "event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price", "user_id",
    "user_session",
)
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
VIEW, CART, REMOVE, PURCHASE = range(4)
FIRST_USER_ID = 500_000_001
TRUTH_HEADER = ("user_id", "true_probability", "purchased_in_label_window")

SECONDS_PER_DAY = 86_400
MEAN_GAP_S = 40.0
REMOVE_GIVEN_UNBOUGHT_CART = 0.45


@dataclass(frozen=True)
class Product:
    product_id: int
    category_id: int
    category_code: str
    brand: str
    price: str  # two decimals, as REES46 writes it


# (category_code, category_id, brands, lowest price, highest price); "" is a blank field, as in REES46.
_CATEGORIES = (
    ("electronics.smartphone", 2053013555631882655, ("samsung", "apple", "xiaomi", "huawei"), 120, 1300),
    ("electronics.audio.headphone", 2053013554658804075, ("sony", "apple", "jbl", "xiaomi"), 15, 380),
    ("electronics.video.tv", 2053013554415534427, ("samsung", "lg", "sony"), 230, 2100),
    ("computers.notebook", 2053013558920217191, ("lenovo", "asus", "hp", "apple"), 330, 2600),
    ("appliances.kitchen.refrigerators", 2053013565983425517, ("lg", "samsung", "bosch"), 280, 1600),
    ("appliances.kitchen.washer", 2053013563810775923, ("bosch", "lg", "samsung"), 220, 950),
    ("appliances.environment.vacuum", 2053013563277099603, ("xiaomi", "samsung", "bosch"), 70, 640),
    ("furniture.living_room.sofa", 2053013559733109567, ("", "ikea"), 180, 1500),
    ("apparel.shoes", 2053013561579618781, ("nike", "adidas", "puma"), 35, 220),
    ("kids.toys", 2053013554482643219, ("lego", "hasbro", ""), 8, 160),
    ("", 2053013565992820193, ("",), 1, 60),
)
PRODUCTS_PER_CATEGORY = 10


def _catalogue() -> tuple[tuple[Product, ...], np.ndarray, np.ndarray]:
    """The fixed catalogue, its popularity weights and standardised log prices (seed 2019, not the caller's)."""
    rng = np.random.default_rng(2019)
    products, popularity, log_prices = [], [], []
    for index, (code, category_id, brands, low, high) in enumerate(_CATEGORIES):
        for j in range(PRODUCTS_PER_CATEGORY):
            price = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            products.append(Product(
                product_id=1_000_000 + 1_000 * (index + 1) + 37 * j + 1,
                category_id=category_id,
                category_code=code,
                brand=brands[j % len(brands)],
                price=f"{price:.2f}",
            ))
            popularity.append(rng.pareto(1.5) + 0.2)
            log_prices.append(np.log(price))
    weights = np.array(popularity)
    logs = np.array(log_prices)
    return tuple(products), weights / weights.sum(), (logs - logs.mean()) / logs.std()


CATALOGUE, POPULARITY, PRICE_Z = _catalogue()
SENSITIVITY_LEVELS = np.arange(-2.0, 2.01, 0.5)


@dataclass(frozen=True)
class Events:
    """Generated events as column arrays sorted by time; iterating yields CSV rows (tuples of str)."""

    start: datetime
    cutoff: datetime  # the label window starts here
    end: datetime
    seconds: np.ndarray  # int64, seconds since `start`
    event_type: np.ndarray  # int8, index into EVENT_TYPES
    product: np.ndarray  # int32, index into CATALOGUE
    user_id: np.ndarray  # int64
    session: np.ndarray  # int64, index into session_ids
    session_ids: np.ndarray  # object array of UUID strings

    def __len__(self) -> int:
        return len(self.seconds)

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        for batch in self.batches():
            yield from batch

    def batches(self, size: int = 50_000) -> Iterator[list[tuple[str, ...]]]:
        """CSV rows, `size` at a time: string columns are built per batch with numpy, then zipped."""
        product_ids = np.array([str(p.product_id) for p in CATALOGUE], dtype=object)
        category_ids = np.array([str(p.category_id) for p in CATALOGUE], dtype=object)
        codes = np.array([p.category_code for p in CATALOGUE], dtype=object)
        brands = np.array([p.brand for p in CATALOGUE], dtype=object)
        prices = np.array([p.price for p in CATALOGUE], dtype=object)
        types = np.array(EVENT_TYPES, dtype=object)
        origin = np.datetime64(self.start.replace(tzinfo=None), "s")
        for first in range(0, len(self), size):
            part = slice(first, first + size)
            stamps = np.datetime_as_string(origin + self.seconds[part].astype("timedelta64[s]"), unit="s")
            times = [f"{stamp[:10]} {stamp[11:]} UTC" for stamp in stamps.tolist()]
            product = self.product[part]
            yield list(zip(
                times,
                types[self.event_type[part]].tolist(),
                product_ids[product].tolist(),
                category_ids[product].tolist(),
                codes[product].tolist(),
                brands[product].tolist(),
                prices[product].tolist(),
                self.user_id[part].astype(str).tolist(),
                self.session_ids[self.session[part]].tolist(),
                strict=True,
            ))


@dataclass(frozen=True)
class Truth:
    """Per customer: the exact probability of a purchase in the label window, and what happened."""

    user_id: np.ndarray  # int64
    probability: np.ndarray  # float64, in (0, 1)
    purchased: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.user_id)

    def __iter__(self) -> Iterator[tuple[int, float, bool]]:
        return zip(self.user_id.tolist(), self.probability.tolist(), self.purchased.tolist(), strict=True)

    def probability_by_user(self) -> dict[int, float]:
        return dict(zip(self.user_id.tolist(), self.probability.tolist(), strict=True))


class Generated(NamedTuple):
    events: Events
    truth: Truth


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _integral_fraction(g: np.ndarray, span: float) -> np.ndarray:
    """(1 - exp(-g * span)) / g: the integral of exp(g x) over the last `span` of [0, 1], stable at g = 0."""
    small = np.abs(g) < 1e-9
    safe = np.where(small, 1.0, g)
    return np.where(small, span, -np.expm1(-safe * span) / safe)


def generate(
    customers: int, days: int, seed: int, label_days: int = 7, start: date | datetime = date(2019, 10, 1)
) -> Generated:
    """Draw `customers` customers' events over `days` days from `start` (see the module docstring)."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    if not 0 < label_days < days:
        raise ValueError(f"label_days must be between 1 and days - 1 ({days - 1}), got {label_days}")
    if isinstance(start, datetime):
        origin = start.astimezone(timezone.utc) if start.tzinfo else start.replace(tzinfo=timezone.utc)
    else:
        origin = datetime.combine(start, time(), tzinfo=timezone.utc)
    rng = np.random.default_rng(seed)
    n, horizon = customers, float(days)

    # 1. Traits and the quantities derived from them.
    activity, sensitivity, loyalty, taste = rng.standard_normal((4, n))
    trend = rng.standard_normal(n)
    propensity = _sigmoid(-3.0 + 0.6 * activity + 0.5 * loyalty - 0.5 * sensitivity + 0.7 * taste)
    end_rate = 0.3 * np.exp(0.8 * activity - 0.32)
    cart_probability = _sigmoid(np.log(propensity / (1 - propensity)) + 1.6)
    brand_probability = _sigmoid(1.5 * loyalty - 1.0)
    mean_extra_views = 2.0 * np.exp(0.3 * sensitivity)
    brands = sorted({p.brand for p in CATALOGUE if p.brand})
    brand_of = np.array([brands.index(p.brand) if p.brand else -1 for p in CATALOGUE])
    brand_weight = np.array([POPULARITY[brand_of == k].sum() for k in range(len(brands))])
    favourite = rng.choice(len(brands), size=n, p=brand_weight / brand_weight.sum())
    level = np.clip(np.rint(sensitivity * 2) / 2, -2.0, 2.0)

    # 2. Sessions: Poisson counts over the whole period, start times by inverting the rate's CDF.
    expected_sessions = end_rate * horizon * _integral_fraction(trend, 1.0)
    counts = rng.poisson(expected_sessions)
    owner = np.repeat(np.arange(n), counts)
    g = trend[owner]
    u = rng.random(len(owner))
    small = np.abs(g) < 1e-9
    safe = np.where(small, 1.0, g)
    position = np.where(small, u, np.log1p(u * np.expm1(safe)) / safe)
    session_start = np.minimum(np.floor(position * horizon * SECONDS_PER_DAY), days * SECONDS_PER_DAY - 1)
    sessions = len(owner)

    # 3. What each session does.
    views = 1 + rng.poisson(mean_extra_views[owner])
    carted = rng.random(sessions) < cart_probability[owner]
    bought = carted & (rng.random(sessions) < propensity[owner] / cart_probability[owner])
    removed = carted & ~bought & (rng.random(sessions) < REMOVE_GIVEN_UNBOUGHT_CART)
    per_session = views + carted + bought + removed
    offsets = np.concatenate(([0], np.cumsum(per_session)[:-1]))
    total = int(per_session.sum())
    session_of = np.repeat(np.arange(sessions), per_session)
    step = np.arange(total) - offsets[session_of]
    view_count = views[session_of]
    kind = np.full(total, VIEW, dtype=np.int8)
    kind[step == view_count] = CART
    after_cart = step == view_count + 1
    kind[after_cart & bought[session_of]] = PURCHASE
    kind[after_cart & removed[session_of]] = REMOVE

    # 4. Products: favourite brand or a price-tilted draw for views; the cart holds the last view.
    buyer = owner[session_of]
    product = np.empty(total, dtype=np.int32)
    is_view = kind == VIEW
    view_index = np.flatnonzero(is_view)
    loyal = rng.random(len(view_index)) < brand_probability[buyer[view_index]]
    draw = rng.random(len(view_index))
    by_brand = [np.flatnonzero(brand_of == k) for k in range(len(brands))]
    chosen = np.empty(len(view_index), dtype=np.int32)
    fav = favourite[buyer[view_index]]
    for k, members in enumerate(by_brand):
        mask = loyal & (fav == k)
        chosen[mask] = members[(draw[mask] * len(members)).astype(np.int64)]
    view_level = level[buyer[view_index]]
    for value in SENSITIVITY_LEVELS:
        mask = ~loyal & (view_level == value)
        weights = POPULARITY * np.exp(-0.9 * value * PRICE_Z)
        cdf = np.cumsum(weights / weights.sum())
        chosen[mask] = np.minimum(np.searchsorted(cdf, draw[mask], side="right"), len(CATALOGUE) - 1)
    product[view_index] = chosen
    rest = np.flatnonzero(~is_view)
    product[rest] = product[offsets[session_of[rest]] + view_count[rest] - 1]

    # 5. Times: gaps after the session start, kept inside the window the session started in.
    gaps = rng.exponential(MEAN_GAP_S, total)
    gaps[step == 0] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[offsets][session_of]
    cutoff_s = (days - label_days) * SECONDS_PER_DAY
    end_s = days * SECONDS_PER_DAY
    starts = session_start[session_of]
    boundary = np.where(starts < cutoff_s, cutoff_s, end_s)
    seconds = np.minimum(starts + np.floor(elapsed), boundary - 1).astype(np.int64)

    # 6. Session ids: random UUIDs (version 4 layout) from the same generator.
    text = rng.bytes(16 * sessions).hex()
    session_ids = np.array([_uuid4_text(text[32 * k:32 * k + 32]) for k in range(sessions)], dtype=object)

    order = np.argsort(seconds, kind="stable")
    user_ids = FIRST_USER_ID + np.arange(n, dtype=np.int64)
    window_sessions = end_rate * horizon * _integral_fraction(trend, label_days / horizon)
    probability = -np.expm1(-propensity * window_sessions)
    purchased = np.zeros(n, dtype=bool)
    purchased[buyer[(kind == PURCHASE) & (seconds >= cutoff_s)]] = True
    events = Events(
        start=origin,
        cutoff=origin + timedelta(days=days - label_days),
        end=origin + timedelta(days=days),
        seconds=seconds[order],
        event_type=kind[order],
        product=product[order],
        user_id=user_ids[buyer][order],
        session=session_of[order],
        session_ids=session_ids,
    )
    return Generated(events, Truth(user_id=user_ids, probability=probability, purchased=purchased))


def _uuid4_text(text: str) -> str:
    """32 random hex digits in the UUID version 4 layout (version nibble 4, variant 8-b)."""
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


def events_write_csv(
    events: Events, handle: IO[str], *, progress: Callable[[int, int], None] | None = None
) -> int:
    """Write the header and every event to an open text file; `progress(done, total)` after each batch."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(HEADER)
    done = 0
    for batch in events.batches():
        writer.writerows(batch)
        done += len(batch)
        if progress:
            progress(done, len(events))
    return done


def truth_write_csv(truth: Truth, handle: IO[str]) -> int:
    """user_id, true_probability (repr: round-trips exactly, never rounds to 0 or 1), purchased 0/1."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(TRUTH_HEADER)
    writer.writerows((user, repr(p), int(bought)) for user, p, bought in truth)
    return len(truth)
