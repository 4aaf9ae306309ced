"""Everything a client can send gets an RFC 7807 answer, never a 500."""
from __future__ import annotations

import json


def assert_problem(response, status, slug):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == f"/problems/{slug}" and body["status"] == status and body["title"] and body["detail"]
    return body


def test_unknown_api_paths_are_404_problems(owner_api):
    assert_problem(owner_api.get("/api/v1/nothing-here"), 404, "not-found")


def test_a_wrong_method_is_405(owner_api):
    assert_problem(owner_api.delete("/api/v1/jobs"), 405, "method-not-allowed")


def test_malformed_json_is_400(owner_api):
    response = owner_api.generic("POST", "/api/v1/jobs", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="m")
    assert_problem(response, 400, "malformed-request")


def test_a_non_json_body_is_415(owner_api):
    response = owner_api.generic("POST", "/api/v1/jobs", "kind=x", content_type="text/plain", HTTP_IDEMPOTENCY_KEY="t")
    assert_problem(response, 415, "unsupported-media-type")


def test_a_declared_oversized_body_is_413_before_it_is_read(owner_api, settings):
    response = owner_api.generic(
        "POST", "/api/v1/products", b"x", content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(settings.ADFAME_MAX_REQUEST_BYTES + 1),
    )
    assert_problem(response, 413, "payload-too-large")


def test_an_oversized_json_body_is_413(owner_api, settings):
    big = json.dumps({"kind": "product_setup", "payload": {"pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}})
    response = owner_api.generic("POST", "/api/v1/jobs", big, content_type="application/json", HTTP_IDEMPOTENCY_KEY="b")
    assert_problem(response, 413, "payload-too-large")


def test_a_non_numeric_content_length_is_400(owner_api):
    response = owner_api.generic("POST", "/api/v1/jobs", b"{}", content_type="application/json", CONTENT_LENGTH="lots")
    assert_problem(response, 400, "malformed-request")
