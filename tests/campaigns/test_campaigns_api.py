from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.models import Campaign


def _create(api, body, key=None):
    return api.post("/api/v1/campaigns", body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def test_it_creates_a_campaign_with_default_settings_and_records_that_no_gate_ran(owner_api, product):
    response = _create(owner_api, {"product_id": str(product.id), "prompt": "Summer launch", "output_modes": ["ugc"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["settings"]["aspect_ratios"] == ["9:16"]
    assert body["settings"]["scene_count"] == 6
    assert body["status"] == "active"
    assert body["gate"]["decision"] == "not_run"
    assert body["gate"]["probability"] is None
    assert "No audience" in body["gate"]["reason"]


def test_an_audience_is_recorded_and_the_missing_gate_is_said(owner_api, product):
    response = _create(
        owner_api,
        {
            "product_id": str(product.id),
            "prompt": "p",
            "output_modes": ["fast_paced", "image_bundle"],
            "settings": {"aspect_ratios": ["1:1", "16:9"], "duration_s": 15, "brand_kit": {"colors": ["#FF0000"]}},
            "audience": {"customer_id": "42"},
        },
    )
    body = response.json()
    assert body["audience"] == {"customer_id": "42"}
    assert "No purchase model is promoted" in body["gate"]["reason"]
    assert Campaign.objects.get().settings["brand_kit"]["colors"] == ["#FF0000"]


def test_it_refuses_unknown_nested_fields_and_bad_values_naming_each(owner_api, product):
    response = _create(
        owner_api,
        {
            "product_id": str(product.id),
            "prompt": "p",
            "output_modes": ["tiktok"],
            "settings": {"aspect_ratios": ["4:3"], "brand_kit": {"colour": "#fff"}},
        },
    )
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"output_modes[0]", "settings.aspect_ratios[0]", "settings.brand_kit.colour"}
    assert Campaign.objects.count() == 0


def test_a_product_of_another_workspace_is_not_found(owner_api, outsider):
    from tests.factories import make_product

    theirs = make_product(outsider.workspace)
    response = _create(owner_api, {"product_id": str(theirs.id), "prompt": "p", "output_modes": ["ugc"]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "product_id"


def test_a_brand_kit_refers_to_an_uploaded_logo(owner_api, outsider_api, product):
    logo = io.BytesIO()
    Image.new("RGBA", (120, 40), (200, 20, 20, 255)).save(logo, "PNG")
    upload = owner_api.post(
        "/api/v1/brand-assets",
        {"kind": "logo", "file": SimpleUploadedFile("logo.png", logo.getvalue())},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="logo-1",
    )
    assert upload.status_code == 201, upload.json()
    logo_id = upload.json()["id"]
    body = {"product_id": str(product.id), "prompt": "p", "output_modes": ["ugc"], "settings": {"brand_kit": {"logo": logo_id}}}
    assert _create(owner_api, body).status_code == 201
    font = owner_api.post(
        "/api/v1/brand-assets",
        {"kind": "font", "file": SimpleUploadedFile("f.ttf", b"not a font")},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="font-1",
    )
    assert font.status_code == 400 and font.json()["errors"][0]["field"] == "file"
    outsider_body = {**body, "settings": {"brand_kit": {"logo": logo_id}}}
    response = _create(outsider_api, outsider_body)
    assert response.status_code == 400


def test_it_gets_a_campaign(owner_api, product):
    created = _create(owner_api, {"product_id": str(product.id), "prompt": "p", "output_modes": ["ugc"]}).json()
    assert owner_api.get(f"/api/v1/campaigns/{created['id']}").json() == created
    assert owner_api.get("/api/v1/campaigns").json()["count"] == 1
