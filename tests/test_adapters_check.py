"""`manage.py adapters_check`: each configured provider and the fidelity scorer, ready or not, and the exit code."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[1]
WEIGHTLESS = "tests.fidelity_providers.WeightlessImage"


def adapters_check(**env: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it, in its own process: its exit code is the verdict."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ADFAME_PROVIDER_")}
    environment.update(DJANGO_SETTINGS_MODULE="tests.settings", **env)
    return subprocess.run([sys.executable, "manage.py", "adapters_check"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def line_of(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [label])


def check_in_process() -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("adapters_check", stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_the_cpu_family_is_ready_and_the_command_exits_zero():
    result = adapters_check()
    assert result.returncode == 0, result.stdout + result.stderr
    for label in ("text", "image", "video", "speech", "stitch"):
        assert " ready " in line_of(result.stdout, label)
    assert "adapters.local.image.Compositor" in line_of(result.stdout, "image")
    assert line_of(result.stdout, "lip_sync").endswith("not configured (skipped)")
    # The suite installs torch: the model stack (weight-free + EfficientNet-Lite0) scores stills.
    assert "fidelity.scorers.ModelStackScorer" in line_of(result.stdout, "fidelity")
    assert "u2netp (u2netp.onnx, onnxruntime)" in line_of(result.stdout, "cutout")


def test_the_cut_out_says_when_grabcut_stands_in_for_a_missing_model():
    result = adapters_check(ADFAME_CUTOUT_MODEL="u2net", ADFAME_MODELS_DIR="/nonexistent")
    assert result.returncode == 0, result.stdout + result.stderr  # the fallback works: nothing is broken
    assert "grabcut fallback (/nonexistent/u2net.onnx not found: run make models-full)" in line_of(result.stdout, "cutout")


def test_a_provider_without_its_weights_is_not_ready_and_the_command_exits_non_zero():
    result = adapters_check(ADFAME_PROVIDER_IMAGE=WEIGHTLESS)
    assert result.returncode != 0
    image = line_of(result.stdout, "image")
    assert WEIGHTLESS in image and "NOT READY" in image and "TEST_WEIGHTS_PATH is not set" in image
    assert "not ready: image" in result.stderr


def test_sdxl_without_its_weights_folder_is_not_ready_and_the_command_exits_non_zero():
    result = adapters_check(ADFAME_PROVIDER_IMAGE="adapters.models.image.SdxlImage", ADFAME_SDXL_PATH="")
    assert result.returncode != 0
    image = line_of(result.stdout, "image")
    assert "NOT READY" in image and "ADFAME_SDXL_PATH" in image


def test_a_provider_that_cannot_be_imported_fails_the_check():
    result = adapters_check(ADFAME_PROVIDER_VIDEO="adapters.local.nowhere.NoSuchProvider")
    assert result.returncode != 0
    video = line_of(result.stdout, "video")
    assert "NOT READY" in video and "cannot load" in video and "adapters.local.nowhere" in video


def test_per_mode_overrides_are_checked_as_well(settings):
    settings.ADFAME_PROVIDERS = {**settings.ADFAME_PROVIDERS, "image:ugc": WEIGHTLESS,
                                 "stitch:fast_paced": "adapters.local.stitch.FfmpegStitch"}
    output, error = check_in_process()
    assert "NOT READY" in line_of(output, "image:ugc") and " ready " in line_of(output, "stitch:fast_paced")
    assert " ready " in line_of(output, "image")  # the mode's override does not change the default
    assert error is not None and "image:ugc" in str(error)


def test_a_configured_lip_sync_provider_is_checked_rather_than_skipped(settings):
    settings.ADFAME_PROVIDERS = {**settings.ADFAME_PROVIDERS, "lip_sync": WEIGHTLESS}
    output, error = check_in_process()
    assert "NOT READY" in line_of(output, "lip_sync") and error is not None


def test_the_clip_scorer_without_its_weights_file_is_not_ready(settings, tmp_path):
    settings.ADFAME_CLIP_WEIGHTS = str(tmp_path / "missing-clip.pt")
    output, error = check_in_process()
    fidelity = line_of(output, "fidelity")
    assert "fidelity.scorers.ClipScorer" in fidelity and "NOT READY" in fidelity and "missing-clip.pt" in fidelity
    assert error is not None and "fidelity" in str(error)


def test_fidelity_turned_off_is_skipped(settings):
    settings.ADFAME_FIDELITY_ENABLED = False
    output, error = check_in_process()
    assert "skipped" in line_of(output, "fidelity") and error is None
