"""docker/compose.yaml must be a valid Compose file describing the whole stack."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        pytest.fail("neither 'docker compose' nor 'docker-compose' is installed (make test installs docker-compose)")
    return [legacy]


def test_compose_config_is_valid_and_has_every_service():
    env = {**os.environ, "DJANGO_SECRET_KEY": "compose-config-check"}
    result = subprocess.run(
        [*_compose(), "-f", "docker/compose.yaml", "config", "--services"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"postgres", "rabbitmq", "minio", "web", "worker", "beat", "flower"} <= services


def test_compose_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    result = subprocess.run(
        [*_compose(), "-f", "docker/compose.yaml", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
