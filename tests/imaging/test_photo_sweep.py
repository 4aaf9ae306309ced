"""Photo layouts never break either: the layout sweep's every shot x ratio x copy, on a photo shown as itself.

The checks (safe area, the camera's move, every word whole) are the layout sweep's own, run on the
cat photo, which the cut-out decision shows as a photo rather than a cut-out.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from adapters.base import MOTIONS, SHOTS, Scene, SceneImageRequest
from adapters.local.image import compose_scene
from imaging.type import drawable
from tests.adapters.test_layout_sweep import BRAND, CAPTION_BAND, COPY, RATIOS, assert_whole, font_for, in_every_frame


@pytest.fixture(scope="module")
def chelsea(tmp_path_factory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("photo-sweep") / "chelsea.png"
    Image.fromarray(data.chelsea()).save(path)
    return path


@pytest.mark.parametrize("ratio", [*RATIOS, "9:16+captions"])
@pytest.mark.parametrize("shot", SHOTS)
def test_every_photo_layout_keeps_its_text_whole_and_inside_the_safe_area(chelsea, tmp_path, shot, ratio):
    for index, (copy, text) in enumerate(COPY.items()):
        short = "Espresso cup" if len(text.split()) > 3 else ""
        motion = MOTIONS[(SHOTS.index(shot) + index) % len(MOTIONS)]
        scene = Scene(1, shot, text, f"Worth every sip: {text}. Really.", 5.0, motion, headline_short=short)
        request = SceneImageRequest(
            product_images=(chelsea,), scene=scene, size=RATIOS[ratio.split("+")[0]], brand=BRAND, seed=3,
            out_path=tmp_path / "x.png", call_to_action=text,
            caption_band=CAPTION_BAND if ratio.endswith("captions") else 0.0,
        )
        composition = compose_scene(request)
        assert composition.style == "photo"
        width, height = composition.image.size
        x0, y0, x1, y1 = composition.safe_area
        for role, box in composition.text_boxes.items():
            where = f"{shot} {ratio} {copy} {role}"
            assert x0 <= box[0] and y0 <= box[1] and box[2] <= x1 and box[3] <= y1, f"{where}: {box} outside"
            assert not in_every_frame(box, (width, height), request.caption_band, motion, scene.duration_s), where
            font = font_for(role)
            options = [drawable(text, font)] + ([drawable(short, font)] if short and role != "feature" else [])
            if role == "feature":
                options = [drawable(f"Worth every sip: {text}.", font)]
            assert_whole(composition.text_lines[role], options, where)
