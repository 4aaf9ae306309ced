"""Builders shared by the predictions tests: rows and files in the REES46 events layout."""
from __future__ import annotations

from predictions.ingestion import COLUMNS

HEADER = ",".join(COLUMNS)


def event_row(
    time: str = "2019-10-01 10:00:00 UTC",
    event_type: str = "view",
    product_id: str = "1004856",
    category_id: str = "2053013555631882655",
    category_code: str = "electronics.smartphone",
    brand: str = "samsung",
    price: str = "130.76",
    user_id: str = "543272936",
    session: str = "8187d148-3c41-46d4-b0c0-9c08cd9dc564",
) -> str:
    return ",".join([time, event_type, product_id, category_id, category_code, brand, price, user_id, session])


def good_rows(count: int, user_id: int = 543272936) -> list[str]:
    """`count` valid rows, a second apart, cycling through the four event types."""
    types = ("view", "cart", "remove_from_cart", "purchase")
    return [
        event_row(time=f"2019-10-01 10:{minute // 60:02d}:{minute % 60:02d} UTC", event_type=types[minute % 4],
                  user_id=str(user_id + minute % 3))
        for minute in range(count)
    ]


def events_csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()
