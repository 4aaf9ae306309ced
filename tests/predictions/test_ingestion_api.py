from __future__ import annotations

import gzip
import io
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from predictions.models import CustomerEvent, EventIngestion, IngestionStatus
from predictions.services import ingestion_create, ingestion_process
from tests.factories import product_photo
from tests.integration.conftest import purge_queues, running_worker
from tests.predictions import HEADER, event_row, events_csv, good_rows

URL = "/api/v1/event-ingestions"
FINISHED = (IngestionStatus.SUCCEEDED, IngestionStatus.FAILED)


def _upload(api, content: bytes, name: str = "events.csv", key: str | None = None):
    return api.post(
        URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")}, format="multipart",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def _finished(api, ingestion_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = api.get(f"{URL}/{ingestion_id}").json()
        if body["status"] in FINISHED:
            return body
        time.sleep(0.1)
    raise AssertionError(f"ingestion {ingestion_id} still {body['status']} after {timeout_s} s")


def _stored_ingestion_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "ingestions"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """One real worker for the module's queue tests; three rows a chunk, so every file takes several."""
    with django_db_blocker.unblock():
        purge_queues()
        with running_worker({"ADFAME_INGEST_CHUNK_ROWS": "3"}) as started:
            yield started


# ---- through the queue, processed by a real worker ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_good_file_is_loaded_by_a_worker_and_its_counts_are_shown(owner, worker):
    response = _upload(owner.api, events_csv(*good_rows(10)))
    assert response.status_code == 202, response.json()
    accepted = response.json()
    assert accepted["status"] == "pending"
    assert accepted["original_name"] == "events.csv"

    body = _finished(owner.api, accepted["id"])
    assert body["status"] == "succeeded", (body, worker.log()[-2000:])
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (10, 10, 0)
    assert body["rejected_sample"] == [] and body["error"] == ""
    assert body["started_at"] and body["finished_at"]
    events = CustomerEvent.objects.filter(workspace=owner.workspace, ingestion_id=accepted["id"])
    assert events.count() == 10
    first = events.order_by("event_time").first()
    assert first.event_time.isoformat() == "2019-10-01T10:00:00+00:00"
    assert (first.event_type, first.product_id, first.category_id) == ("view", 1004856, 2053013555631882655)
    assert (first.category_code, first.brand, first.price) == ("electronics.smartphone", "samsung", Decimal("130.76"))
    assert first.user_session == "8187d148-3c41-46d4-b0c0-9c08cd9dc564"


@pytest.mark.django_db(transaction=True)
def test_bad_rows_are_rejected_with_line_numbers_and_reasons_and_the_good_rows_are_loaded(owner, worker):
    content = events_csv(
        event_row(),  # line 2
        "2019-10-01 10:00:01 UTC,view,1004856,2053013555631882655,electronics.smartphone,samsung,130.76,543272936",
        event_row(time="2019-10-01T10:00:02Z"),  # line 4
        event_row(price="-5.00"),  # line 5
        event_row(event_type="wishlist"),  # line 6
        event_row(user_id="12a"),  # line 7
        event_row(brand="b" * 101),  # line 8
        event_row(time="2019-02-30 10:00:00 UTC"),  # line 9: no such day
        event_row(brand='"quoted, with a comma"'),  # line 10: good, through the csv module
        event_row(category_code="", brand="", session=""),  # line 11: good, blanks allowed
    )
    body = _finished(owner.api, _upload(owner.api, content).json()["id"])

    assert body["status"] == "succeeded", body
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (10, 3, 7)
    reasons = {row["line"]: row["reason"] for row in body["rejected_sample"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3] == "expected 9 columns, found 8"
    assert "event_time '2019-10-01T10:00:02Z' is not a time like 2019-10-01 00:00:00 UTC" in reasons[4]
    assert "price '-5.00' is negative" in reasons[5]
    assert "event_type 'wishlist' is not one of view, cart, remove_from_cart, purchase" in reasons[6]
    assert "user_id '12a' is not an integer" in reasons[7]
    assert "brand is longer than 100 characters" in reasons[8]
    assert "event_time '2019-02-30 10:00:00 UTC'" in reasons[9]
    assert body["rejected_sample"][0]["raw"].endswith(",130.76,543272936")
    brands = CustomerEvent.objects.filter(workspace=owner.workspace).values_list("brand", flat=True)
    assert sorted(brands) == ["", "quoted, with a comma", "samsung"]


@pytest.mark.django_db(transaction=True)
def test_a_wrong_header_fails_the_whole_file_and_loads_nothing(owner, worker):
    content = events_csv(*good_rows(5), header=HEADER.replace("product_id", "productid"))
    body = _finished(owner.api, _upload(owner.api, content).json()["id"])
    assert body["status"] == "failed"
    assert "column 3 is 'productid', expected 'product_id'" in body["error"]
    assert body["rows_accepted"] == 0
    assert CustomerEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failure_while_loading_rolls_back_every_row_and_fails_the_file(owner, worker):
    # The database refuses one row the validation accepts: the last of 12, after three chunks went into the COPY.
    content = events_csv(*good_rows(11), event_row(brand="refused-by-the-database"))
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE predictions_customerevent ADD CONSTRAINT test_refuses_a_brand "
            "CHECK (brand <> 'refused-by-the-database') NOT VALID"
        )
    try:
        body = _finished(owner.api, _upload(owner.api, content).json()["id"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE predictions_customerevent DROP CONSTRAINT test_refuses_a_brand")
    assert body["status"] == "failed", body
    assert body["error"].startswith("Loading failed at line 13: ")
    assert "test_refuses_a_brand" in body["error"] and body["error"].endswith("Nothing was loaded.")
    assert body["rows_accepted"] == 12
    assert CustomerEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_progress_is_committed_as_it_goes_so_other_sessions_see_it(owner, settings):
    """What GET shows while a file is processed: each phase and the counts, from another connection."""
    settings.ADFAME_INGEST_CHUNK_ROWS = 4
    ingestion = ingestion_create(
        workspace=owner.workspace, upload=SimpleUploadedFile("e.csv", events_csv(*good_rows(10))), enqueue=False
    )
    db = connection.settings_dict
    seen = []
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         dbname=db["NAME"], autocommit=True) as other:

        def look(progress) -> None:
            seen.append(other.execute(
                "SELECT status, rows_total, rows_accepted FROM predictions_eventingestion WHERE id = %s",
                [ingestion.id],
            ).fetchone() + (other.execute("SELECT count(*) FROM predictions_customerevent").fetchone()[0],))

        ingestion_process(ingestion_id=ingestion.id, progress=look)
    assert seen[:3] == [("validating", 4, 4, 0), ("validating", 8, 8, 0), ("validating", 10, 10, 0)]
    # While loading, the rows are not visible yet: they commit with the success.
    assert set(seen[3:]) == {("loading", 10, 10, 0)}
    assert EventIngestion.objects.get().status == "succeeded" and CustomerEvent.objects.count() == 10


def test_processing_a_finished_ingestion_again_loads_nothing_twice(owner):
    ingestion = ingestion_create(
        workspace=owner.workspace, upload=SimpleUploadedFile("e.csv", events_csv(*good_rows(3))), enqueue=False
    )
    assert ingestion_process(ingestion_id=ingestion.id).status == "succeeded"
    assert ingestion_process(ingestion_id=str(ingestion.id)).status == "succeeded"
    assert CustomerEvent.objects.count() == 3


def test_a_file_whose_rows_are_all_rejected_fails(owner):
    ingestion = ingestion_create(
        workspace=owner.workspace, upload=SimpleUploadedFile("e.csv", events_csv(event_row(price="x"))), enqueue=False
    )
    ingestion = ingestion_process(ingestion_id=ingestion.id)
    assert ingestion.status == "failed"
    assert ingestion.error == "Every one of the 1 rows was rejected; see rejected_sample."
    assert ingestion.rejected_sample[0]["line"] == 2


# ---- what the API refuses -------------------------------------------------------------------------


def _gzip(content: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as archive:
        archive.write(content)
    return out.getvalue()


REFUSED = {
    "empty file": ("events.csv", lambda: b"", "empty"),
    "PNG named .csv": ("events.csv", product_photo, "PNG image, not a CSV"),
    "gzip named .csv": ("events.csv", lambda: _gzip(events_csv(*good_rows(3))), "gzip archive"),
    "NUL bytes": ("events.csv", lambda: events_csv(*good_rows(2)) + b"\x00\x01\x02", "binary data"),
    "Latin-1 text": ("events.csv", lambda: events_csv(event_row(brand="BRAND")).replace(b"BRAND", b"m\xf6bel"),
                     "not UTF-8"),
    "a spreadsheet name": ("events.xlsx", lambda: events_csv(*good_rows(2)), "Only CSV files"),
    "no commas": ("events.csv", lambda: b"just a note\nwith lines\n", "no commas"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_it_refuses_what_is_not_a_csv_with_a_problem_and_creates_nothing(owner_api, case):
    name, make, words = REFUSED[case]
    before = _stored_ingestion_files()
    response = _upload(owner_api, make(), name=name)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == ["file"]
    assert words in errors[0]["detail"]
    assert EventIngestion.objects.count() == 0
    assert _stored_ingestion_files() == before


def test_it_refuses_a_request_without_a_file_or_with_unknown_fields(owner_api):
    response = owner_api.post(URL, {}, format="multipart", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    response = owner_api.post(
        URL, {"file": SimpleUploadedFile("e.csv", events_csv(*good_rows(1))), "delimiter": ";"},
        format="multipart", HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "delimiter"
    assert EventIngestion.objects.count() == 0


def test_it_accepts_only_multipart(owner_api):
    response = owner_api.post(URL, {"file": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"


# ---- idempotency, reading, isolation --------------------------------------------------------------


def test_it_replays_the_first_response_for_a_repeated_idempotency_key(owner_api):
    content = events_csv(*good_rows(3))
    first = _upload(owner_api, content, key="upload-1")
    second = _upload(owner_api, content, key="upload-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert EventIngestion.objects.count() == 1


def test_the_same_key_with_another_file_is_422_and_a_missing_key_is_400(owner_api):
    _upload(owner_api, events_csv(*good_rows(3)), key="upload-2")
    response = _upload(owner_api, events_csv(*good_rows(4)), key="upload-2")
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    response = owner_api.post(URL, {"file": SimpleUploadedFile("e.csv", events_csv(*good_rows(1)))}, format="multipart")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/idempotency-key-missing"
    assert EventIngestion.objects.count() == 1


def test_it_lists_the_workspace_ingestions_newest_first_without_their_samples(owner, outsider):
    first = _upload(owner.api, events_csv(*good_rows(1)), name="first.csv").json()
    second = _upload(owner.api, events_csv(*good_rows(2)), name="second.csv").json()
    _upload(outsider.api, events_csv(*good_rows(1)), name="theirs.csv")
    body = owner.api.get(f"{URL}?page_size=1").json()
    assert body["count"] == 2 and body["next"]
    assert [row["id"] for row in body["results"]] == [second["id"]]
    assert "rejected_sample" not in body["results"][0]
    assert owner.api.get(f"{URL}?page=2&page_size=1").json()["results"][0]["id"] == first["id"]


def test_an_outsider_gets_404_for_an_ingestion_of_another_workspace(owner, outsider_api):
    ingestion_id = _upload(owner.api, events_csv(*good_rows(1))).json()["id"]
    response = outsider_api.get(f"{URL}/{ingestion_id}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert outsider_api.get(URL).json()["count"] == 0
    assert owner.api.get(f"{URL}/{ingestion_id}").status_code == 200
