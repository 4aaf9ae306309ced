"""The Stable Video Diffusion video provider, run for real on a tiny randomly initialised SVD saved to disk."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings
from PIL import Image, ImageDraw

from adapters.base import AdapterError, ClipRequest
from adapters.local.process import probe
from adapters.models.video import SvdVideo, conditioning_fps, generation_size
from tests.adapters.tiny_models import build_tiny_svd


@pytest.fixture(scope="session")
def tiny_svd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_svd(tmp_path_factory.mktemp("tiny-svd"))


@pytest.fixture
def svd_settings(tiny_svd: Path):
    with override_settings(ADFAME_SVD_PATH=str(tiny_svd), ADFAME_SVD_FRAMES=4, ADFAME_SVD_STEPS=2,
                           ADFAME_SVD_DECODE_CHUNK=2, ADFAME_MODEL_DEVICE="cpu", ADFAME_MODEL_OFFLOAD=True):
        yield tiny_svd


@pytest.fixture(scope="session")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = Image.new("RGB", (64, 64), (29, 53, 87))
    ImageDraw.Draw(image).rounded_rectangle((22, 12, 42, 52), radius=4, fill=(14, 124, 134))
    path = tmp_path_factory.mktemp("stills") / "scene.png"
    image.save(path)
    return path


def clip_request(still: Path, out: Path, **changes) -> ClipRequest:
    fields = {"image": still, "duration_s": 1.5, "size": (64, 64), "fps": 12, "motion": "zoom_in", "seed": 5,
              "out_path": out}
    return ClipRequest(**{**fields, **changes})


def video_stream(path: Path) -> dict:
    return next(s for s in probe(path)["streams"] if s["codec_type"] == "video")


@pytest.mark.parametrize(("size", "fps", "duration_s"), [((64, 64), 12, 1.5), ((64, 112), 24, 1.0)])
def test_a_clip_has_the_asked_size_rate_and_duration(svd_settings, still, tmp_path, size, fps, duration_s):
    out = tmp_path / "clip.mp4"
    result = SvdVideo().animate(clip_request(still, out, size=size, fps=fps, duration_s=duration_s))
    stream = video_stream(out)
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert (int(stream["width"]), int(stream["height"])) == size == (result.width, result.height)
    assert stream["r_frame_rate"] == f"{fps}/1" and result.fps == fps
    assert result.frames == int(stream["nb_frames"]) == round(duration_s * fps)
    assert result.duration_s == pytest.approx(duration_s, abs=0.5 / fps)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".svd-frames-")]  # frame PNGs are cleaned up


def test_the_same_seed_makes_the_same_clip_and_another_seed_another(svd_settings, still, tmp_path):
    provider = SvdVideo()
    first = provider.animate(clip_request(still, tmp_path / "first.mp4", seed=3))
    again = provider.animate(clip_request(still, tmp_path / "again.mp4", seed=3))
    other = provider.animate(clip_request(still, tmp_path / "other.mp4", seed=4))
    assert first.path.read_bytes() == again.path.read_bytes()
    assert first.path.read_bytes() != other.path.read_bytes()  # the frames are SVD's, not the still's


def test_weights_load_once_for_every_clip_a_worker_renders(svd_settings, still, tmp_path, monkeypatch):
    from diffusers import StableVideoDiffusionPipeline

    loads = []
    real_from_pretrained = StableVideoDiffusionPipeline.from_pretrained

    def counting_from_pretrained(*args, **kwargs):
        loads.append(args)
        return real_from_pretrained(*args, **kwargs)

    monkeypatch.setattr(StableVideoDiffusionPipeline, "from_pretrained", counting_from_pretrained)
    provider = SvdVideo()
    provider.animate(clip_request(still, tmp_path / "one.mp4"))
    provider.animate(clip_request(still, tmp_path / "two.mp4", motion="pan_left"))
    assert len(loads) == 1


def test_svd_generates_at_its_training_resolutions():
    assert generation_size((1920, 1080), 768) == (1024, 576)
    assert generation_size((1080, 1920), 768) == (576, 1024)
    assert generation_size((1080, 1080), 768) == (768, 768)


def test_svd_is_conditioned_on_the_rate_its_frames_will_play_at():
    assert conditioning_fps(25, 3.0) == 8
    assert conditioning_fps(25, 20.0) == 3  # a long scene still moves a little


def test_check_is_ready_for_a_complete_weights_folder(svd_settings):
    readiness = SvdVideo().check()
    assert readiness.ready, readiness.detail


def test_check_names_what_an_incomplete_or_missing_folder_lacks(tmp_path):
    (tmp_path / "unet").mkdir()
    with override_settings(ADFAME_SVD_PATH=str(tmp_path)):
        readiness = SvdVideo().check()
    assert not readiness.ready and "image_encoder" in readiness.detail and "unet" not in readiness.detail
    with override_settings(ADFAME_SVD_PATH=""):
        readiness = SvdVideo().check()
    assert not readiness.ready and "ADFAME_SVD_PATH is not set" in readiness.detail


def test_missing_weights_fail_permanently(still, tmp_path):
    with override_settings(ADFAME_SVD_PATH=str(tmp_path / "nowhere"), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError) as caught:
            SvdVideo().animate(clip_request(still, tmp_path / "clip.mp4"))
    assert caught.value.permanent and "ADFAME_SVD_PATH" in caught.value.message


def test_an_unknown_motion_fails_permanently_before_loading_anything(still, tmp_path):
    with pytest.raises(AdapterError) as caught:
        SvdVideo().animate(clip_request(still, tmp_path / "clip.mp4", motion="spin"))
    assert caught.value.permanent and "spin" in caught.value.message
