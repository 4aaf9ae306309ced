"""Product setup runs on a worker, reads the product link's OpenGraph fields, and later jobs use it."""
from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.models import Asset, Job, JobStatus, JobStep
from tests.factories import make_campaign
from tests.integration.conftest import running_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = b"""<html><head><meta property="og:title" content="Trail Bottle 750 ml">
<meta property="og:description" content="Cold for 24 hours on every trail."></head><body>shop</body></html>"""


@pytest.fixture
def shop_page():
    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/products/trail-bottle"
    server.shutdown()


def test_product_setup_makes_a_cutout_a_sheet_and_seeds_that_later_jobs_read(owner, product, shop_page, clean_broker):
    body = {"kind": "product_setup", "payload": {"product_id": str(product.id), "link": shop_page,
                                                 "options": {"storyboard_seeds": 2}}}
    setup_id = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()["id"]
    with running_worker():
        setup = wait_for(setup_id)
    assert setup.status == JobStatus.SUCCEEDED, setup.error
    analysis = JobStep.objects.get(job=setup, stage="product_analysis").outputs
    assert analysis["og"] == {"title": "Trail Bottle 750 ml", "description": "Cold for 24 hours on every trail."}
    assert analysis["category"] == "drinkware"
    assert analysis["colors"] and all(color.startswith("#") for color in analysis["colors"])
    assert set(Asset.objects.filter(job=setup).values_list("role", flat=True)) == {"neutral", "reference_sheet"}
    assert len(JobStep.objects.get(job=setup, stage="storyboard").outputs["seeds"]) == 2

    campaign = make_campaign(owner.workspace, product, modes=["image_bundle"])
    job = owner.api.post(
        "/api/v1/jobs", {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": "image_bundle"}},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    ).json()
    checkpoint = Job.objects.get(pk=job["id"]).snapshot["product_setup"]
    assert checkpoint["job_id"] == str(setup.id)
    assert checkpoint["neutral_image"] == Asset.objects.get(job=setup, role="neutral").file.name
