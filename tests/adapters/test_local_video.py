"""The ffmpeg motion provider: exact frames and rate, every motion moving, handheld repeatable per seed."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.base import MOTIONS, AdapterError, ClipRequest
from adapters.local.process import probe
from adapters.local.video import FfmpegMotion

SIZE = (360, 640)
FPS = 15


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """A scene still with detail everywhere: a gradient, a product-like bar and a headline band."""
    path = tmp_path_factory.mktemp("video") / "still.png"
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        draw.line([(0, y), (SIZE[0], y)], fill=(230 - y // 4, 200 - y // 8, 120 + y // 8))
    for x in range(0, SIZE[0], 24):
        draw.line([(x, 0), (x, SIZE[1])], fill=(90, 90, 90), width=2)
    draw.rounded_rectangle((140, 220, 220, 520), radius=18, fill=(20, 80, 160))
    draw.rectangle((40, 60, 320, 110), fill=(20, 20, 20))
    image.save(path)
    return path


def animate(still: Path, out: Path, motion: str, *, seed: int = 1, duration_s: float = 1.0):
    request = ClipRequest(image=still, duration_s=duration_s, size=SIZE, fps=FPS, motion=motion, seed=seed,
                          out_path=out)
    return FfmpegMotion().animate(request)


def decoded_frames(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, SIZE[1], SIZE[0]).astype(np.float32)


def test_it_is_ready_where_ffmpeg_has_zoompan():
    assert FfmpegMotion().check().ready


@pytest.mark.parametrize("motion", MOTIONS)
def test_every_motion_gives_the_exact_frames_rate_and_size_and_moves(still, tmp_path, motion):
    result = animate(still, tmp_path / f"{motion}.mp4", motion, duration_s=1.4)

    frames = decoded_frames(result.path)
    assert len(frames) == result.frames == round(1.4 * FPS) == 21
    assert (result.fps, result.width, result.height) == (FPS, *SIZE)
    assert result.duration_s == pytest.approx(21 / FPS, abs=0.01)
    video = next(s for s in probe(result.path)["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert np.abs(frames[-1] - frames[0]).mean() > 2, f"{motion} barely moves"
    # Motion all the way through, not a jump and a hold.
    assert np.abs(frames[len(frames) // 2] - frames[0]).mean() > 1
    assert np.abs(frames[-1] - frames[len(frames) // 2]).mean() > 1


def test_zoom_in_starts_on_the_whole_still(still, tmp_path):
    first = decoded_frames(animate(still, tmp_path / "zoom.mp4", "zoom_in").path)[0]
    expected = np.asarray(Image.open(still).convert("L"), dtype=np.float32)
    assert np.abs(first - expected).mean() < 4


def test_handheld_is_the_same_for_a_seed_and_different_for_another(still, tmp_path):
    first = decoded_frames(animate(still, tmp_path / "a.mp4", "handheld", seed=7).path)
    again = decoded_frames(animate(still, tmp_path / "b.mp4", "handheld", seed=7).path)
    other = decoded_frames(animate(still, tmp_path / "c.mp4", "handheld", seed=8).path)

    assert np.array_equal(first, again)
    assert np.abs(first - other).mean() > 1


def test_it_makes_one_frame_for_a_clip_shorter_than_a_frame(still, tmp_path):
    result = animate(still, tmp_path / "blink.mp4", "zoom_out", duration_s=0.05)
    assert result.frames == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [({"motion": "dolly_zoom"}, "unknown motion"), ({"size": (361, 640)}, "even"), ({"duration_s": 0.0}, "no frames")],
)
def test_it_refuses_requests_it_can_never_render(still, tmp_path, change, message):
    fields = {"image": still, "duration_s": 1.0, "size": SIZE, "fps": FPS, "motion": "zoom_in", "seed": 1,
              "out_path": tmp_path / "x.mp4"} | change
    with pytest.raises(AdapterError, match=message) as error:
        FfmpegMotion().animate(ClipRequest(**fields))
    assert error.value.permanent
