"""Shared test set-up: PostgreSQL and RabbitMQ, and the named actors every test talks about.

- `owner` and `teammate` belong to the Acme workspace; `owner_api` calls the API with its key.
- `outsider_api` calls with a key of another workspace (Globex) and must see nothing of Acme's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import make_product, save_real_photos


@dataclass
class Actor:
    workspace: object
    user: object
    key: str
    api: APIClient


def _actor(name: str, email: str) -> Actor:
    from campaigns.services import api_key_create, workspace_create

    workspace = workspace_create(name=name, owner_email=email)
    user = workspace.memberships.get().user
    key = api_key_create(workspace=workspace, name="tests", created_by=user).secret
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return Actor(workspace=workspace, user=user, key=key, api=api)


@pytest.fixture(scope="session", autouse=True)
def _suite_runs_on_postgresql(django_db_setup, django_db_blocker) -> None:
    from django.db import connection

    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "the suite must run on PostgreSQL (set DATABASE_URL)"


@pytest.fixture
def owner(db) -> Actor:
    return _actor("Acme", "owner@acme.test")


@pytest.fixture
def teammate(owner: Actor) -> object:
    from django.contrib.auth import get_user_model

    from campaigns.models import Membership
    from campaigns.services import membership_add

    user = get_user_model().objects.create_user("teammate@acme.test", "teammate@acme.test")
    membership_add(workspace=owner.workspace, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def outsider(db) -> Actor:
    return _actor("Globex", "someone@globex.test")


@pytest.fixture
def owner_api(owner: Actor) -> APIClient:
    return owner.api


@pytest.fixture
def outsider_api(outsider: Actor) -> APIClient:
    return outsider.api


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def product(owner: Actor):
    return make_product(owner.workspace)


@pytest.fixture(scope="session", autouse=True)
def _no_test_job_is_left_for_an_engine() -> None:
    """Jobs submitted by tests are handed to the orchestrator queue; drop them when the run ends."""
    yield
    from django.conf import settings
    from kombu import Connection, Queue

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        Queue("orchestrator", routing_key="orchestrator")(conn.channel()).purge()


@pytest.fixture(scope="session")
def real_photos(tmp_path_factory) -> dict[str, Path]:
    """scikit-image's coffee, astronaut, chelsea and rocket as PNG files, saved once per run."""
    return save_real_photos(tmp_path_factory.mktemp("real-photos"))
