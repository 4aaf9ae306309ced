from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.models import Product, ProductImage
from tests.factories import png_bomb, product_photo


def _upload(api, *files, key=None, **fields):
    data = {"images": list(files), **fields}
    return api.post("/api/v1/products", data, format="multipart", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def _media_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def test_it_creates_a_product_from_images_and_stores_their_checksums(owner_api):
    photo, second = product_photo((800, 600)), product_photo((600, 600), "JPEG")
    response = _upload(
        owner_api,
        SimpleUploadedFile("front.png", photo),
        SimpleUploadedFile("side.jpg", second),
        name="Trail bottle",
        link="https://shop.example.com/bottle",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Trail bottle"
    assert [(i["format"], i["width"], i["height"]) for i in body["images"]] == [("PNG", 800, 600), ("JPEG", 600, 600)]
    import hashlib

    assert body["images"][0]["sha256"] == hashlib.sha256(photo).hexdigest()
    served = owner_api.get(body["images"][0]["url"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == photo


def test_it_applies_exif_orientation(owner_api):
    rotated = product_photo((640, 480), "JPEG", exif_orientation=6)
    response = _upload(owner_api, SimpleUploadedFile("phone.jpg", rotated))
    assert response.status_code == 201
    image = response.json()["images"][0]
    assert (image["width"], image["height"]) == (480, 640)
    stored = ProductImage.objects.get()
    with stored.file.open("rb") as handle:
        assert Image.open(handle).size == (480, 640)


BAD_IMAGES = {
    "truncated PNG": (lambda: product_photo()[:-300], "truncated"),
    "decompression bomb": (png_bomb, "pixels"),
    "text named .png": (lambda: b"just some text, not an image\n" * 10, "not a PNG, JPEG or WebP"),
    "empty file": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("case", BAD_IMAGES, ids=list(BAD_IMAGES))
def test_it_refuses_a_bad_image_naming_the_field_and_stores_nothing(owner_api, case):
    make, words = BAD_IMAGES[case]
    before = _media_files()
    response = _upload(
        owner_api, SimpleUploadedFile("good.png", product_photo()), SimpleUploadedFile("bad.png", make())
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == ["images[1]"]
    assert words in errors[0]["detail"]
    assert Product.objects.count() == 0 and ProductImage.objects.count() == 0
    assert _media_files() == before


def test_it_refuses_other_formats_and_images_over_the_byte_limit(owner_api, settings):
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = _upload(owner_api, SimpleUploadedFile("a.png", gif.getvalue()))
    assert "GIF" in response.json()["errors"][0]["detail"]
    settings.ADFAME_MAX_IMAGE_BYTES = 1000
    response = _upload(owner_api, SimpleUploadedFile("big.png", product_photo()))
    assert response.status_code == 400
    assert "limit" in response.json()["errors"][0]["detail"]


def test_it_refuses_a_product_without_images_or_with_unknown_fields(owner_api):
    response = owner_api.post("/api/v1/products", {"name": "x"}, format="multipart", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "images"
    response = _upload(owner_api, SimpleUploadedFile("a.png", product_photo()), colour="red")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "colour"


def test_it_accepts_only_multipart(owner_api):
    response = owner_api.post("/api/v1/products", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"


def test_it_lists_only_the_workspace_products_newest_first(owner, outsider):
    from tests.factories import make_product

    make_product(owner.workspace, "First")
    make_product(owner.workspace, "Second")
    make_product(outsider.workspace, "Theirs")
    body = owner.api.get("/api/v1/products?page_size=1").json()
    assert body["count"] == 2
    assert [p["name"] for p in body["results"]] == ["Second"]
    assert body["next"]


def test_a_product_link_must_be_http_or_https(owner_api):
    response = _upload(owner_api, SimpleUploadedFile("a.png", product_photo()), link="ftp://files.example.com/p.png")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "link"
