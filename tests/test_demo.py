"""`make demo`'s command runs with no services (SQLite, filesystem broker) and prints what it made."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_prints_a_key_and_one_queued_job_per_mode(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_DEBUG="1", ADFAME_DATA_DIR=str(tmp_path))
    for command in (["migrate", "--noinput", "-v", "0"], ["demo"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sqlite3" in out and "filesystem://" in out
    assert re.search(r"API key:\s+adf_[0-9a-f]{12}_\S{20,}", out)
    jobs = re.findall(r"job:\s+([0-9a-f-]{36})\s+(\w+)\s+queued", out)
    assert sorted(mode for _, mode in jobs) == ["fast_paced", "image_bundle", "script_to_video", "ugc"]
    assert len(list((tmp_path / "broker" / "queue").glob("*.orchestrator.msg"))) == 4
    assert (tmp_path / "db.sqlite3").exists()
