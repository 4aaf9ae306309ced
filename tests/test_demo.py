"""`make demo` runs with no services (SQLite, filesystem broker, a real worker) and prints its outputs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_runs_every_mode_on_a_worker_and_prints_the_files(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_DEBUG="1", ADFAME_DATA_DIR=str(tmp_path))  # small output sizes come from tests/settings
    for command in (["migrate", "--noinput", "-v", "0"], ["demo", "--timeout", "600"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert "sqlite3" in out and "filesystem://" in out
    assert re.search(r"API key:\s+adf_[0-9a-f]{12}_\S{20,}", out)
    jobs = re.findall(r"job:\s+([0-9a-f-]{36})\s+(\w+)\s+queued", out)
    assert sorted(mode for _, mode in jobs) == ["fast_paced", "image_bundle", "script_to_video", "ugc"]
    assert out.count("100%") >= 4
    files = [Path(line.split()[-1]) for line in out.split("outputs:")[1].splitlines() if line.strip()]
    assert sorted(path.suffix for path in files) == [".jpg", ".mp4", ".mp4", ".mp4", ".mp4", ".mp4", ".zip"]
    assert all(path.exists() and path.stat().st_size > 0 for path in files)
