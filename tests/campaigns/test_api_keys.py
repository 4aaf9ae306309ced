from __future__ import annotations

import hashlib

from django.core.management import call_command

from campaigns.models import ApiKey


def test_it_stores_only_the_hash_of_a_key(owner):
    stored = ApiKey.objects.get(workspace=owner.workspace)
    assert stored.hashed_key == hashlib.sha256(owner.key.encode()).hexdigest()
    row = ApiKey.objects.filter(pk=stored.pk).values().get()
    assert owner.key not in {str(value) for value in row.values()}
    assert owner.key.startswith(f"adf_{stored.prefix}_")


def test_a_request_without_a_key_gets_401_problem(db, anonymous_api):
    response = anonymous_api.get("/api/v1/products")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_gets_401(owner):
    assert owner.api.get("/api/v1/products").status_code == 200
    call_command("revoke_api_key", owner.key.split("_")[1], stdout=open("/dev/null", "w"))
    response = owner.api.get("/api/v1/products")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_an_unknown_key_and_a_malformed_header_get_401(db, anonymous_api):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Bearer adf_000000000000_nope")
    assert anonymous_api.get("/api/v1/jobs").status_code == 401
    anonymous_api.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert anonymous_api.get("/api/v1/jobs").status_code == 401


def test_it_records_when_a_key_was_last_used(owner):
    assert ApiKey.objects.get(workspace=owner.workspace).last_used_at is None
    owner.api.get("/api/v1/campaigns")
    assert ApiKey.objects.get(workspace=owner.workspace).last_used_at is not None


def test_create_workspace_prints_a_key_that_works(db, capsys):
    from rest_framework.test import APIClient

    call_command("create_workspace", "Initech", "--owner", "boss@initech.test")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/products").json()["count"] == 0
    assert ApiKey.objects.get(hashed_key=hashlib.sha256(key.encode()).hexdigest()).workspace.name == "Initech"
