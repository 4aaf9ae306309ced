"""The subject mask of real photographs: U²-Net finds the whole subject, and each photo gets the right treatment.

The four photos are scikit-image's (coffee, astronaut, chelsea, rocket). The subject boxes below
were measured by looking at each photo on a 20 px grid (left, top, right, bottom; right and bottom
exclusive), a little inside the subject's visible outline:
- coffee: the cup's rim (top ~45) to the saucer's rim (x 78..478, bottom ~385), spoon included;
- astronaut: her hair (top ~15), her right arm at the left (~x 20) to the helmet she holds (~x 500),
  cropped by the bottom edge;
- chelsea: the cat's head, cheek at the left edge to the fur on the right (~x 390), ears cut by the
  top edge and whiskers by the bottom one;
- rocket: the rocket alone, nose (~y 128) to its base on the pad (~y 405), x 308..334; the towers
  (x 0..85, 175..205, 440..460, 560..640) are its setting, not part of it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adapters.base import MOTIONS, SHOTS, BrandKit, Scene, SceneImageRequest
from adapters.local.canvas import camera_safe_area, contain_region, cover_crop
from adapters.local.image import compose_scene
from imaging.color import luminance, parse_hex
from imaging.cutout import dominant_colors, find_subject, product_cutout, product_view, segmenter

SUBJECT_BOXES = {
    "coffee": (80, 45, 475, 380),
    "astronaut": (25, 20, 495, 512),
    "chelsea": (10, 0, 380, 290),
    "rocket": (308, 132, 334, 400),
}
# A cut-out only for the cup on its saucer: the astronaut and the cat are cut off by the frame, and
# the rocket is a long shot whose towers belong in the picture.
USE_CUTOUT = {"coffee": True, "astronaut": False, "chelsea": False, "rocket": False}
SMALL = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (480, 270)}


@pytest.fixture(scope="module")
def photos(real_photos) -> dict[str, Path]:
    return {name: real_photos[name] for name in SUBJECT_BOXES}


def contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def test_the_bundled_u2netp_model_is_the_default():
    chosen = segmenter()
    assert chosen.name == "u2netp" and chosen.path is not None and chosen.path.name == "u2netp.onnx"


@pytest.mark.parametrize("name", list(SUBJECT_BOXES))
def test_the_model_mask_holds_the_whole_subject_and_decides_the_layout(photos, name):
    subject = find_subject(photos[name])
    assert subject.method == "u2netp"
    assert contains(subject.box, SUBJECT_BOXES[name]), f"{name}: mask box {subject.box} cuts into {SUBJECT_BOXES[name]}"
    # Not the whole frame either (a mask of everything would contain any box).
    assert subject.coverage < 0.8
    assert subject.use_cutout is USE_CUTOUT[name]


def test_why_each_photo_is_shown_as_it_is(photos):
    astronaut, chelsea, rocket = (find_subject(photos[name]) for name in ("astronaut", "chelsea", "rocket"))
    assert astronaut.touches_edges  # cropped at the bottom edge
    assert chelsea.touches_edges and chelsea.fills_frame
    assert rocket.is_small and not rocket.touches_edges
    coffee = find_subject(photos["coffee"])
    assert not (coffee.touches_edges or coffee.fills_frame or coffee.is_small)


def test_a_long_shot_keeps_its_setting_in_the_picture(photos):
    rocket = find_subject(photos["rocket"])
    left, _, right, _ = rocket.frame_box
    assert left <= 175 and right >= 460  # the two towers beside the rocket
    assert contains(rocket.frame_box, rocket.box)


def test_without_the_model_file_grabcut_stands_in(settings, tmp_path, photos):
    settings.ADFAME_CUTOUT_MODEL = str(tmp_path / "missing.onnx")
    chosen = segmenter()
    assert chosen.name == "grabcut" and chosen.path is None and "missing.onnx" in chosen.describe()
    subject = find_subject(photos["coffee"])
    assert subject.method == "grabcut"
    assert 0.2 < subject.coverage < 0.8  # still the cup, not nothing and not everything
    assert not subject.use_cutout  # but a GrabCut edge is no edge to show: the photo layouts take over


def test_the_full_model_is_read_from_the_models_folder(settings, tmp_path):
    settings.ADFAME_MODELS_DIR = tmp_path
    settings.ADFAME_CUTOUT_MODEL = "u2net"
    assert segmenter().name == "grabcut" and "make models-full" in segmenter().reason
    (tmp_path / "u2net.onnx").write_bytes(b"not checked until used")
    assert segmenter().name == "u2net" and segmenter().path == tmp_path / "u2net.onnx"


def test_dominant_colours_come_from_the_mask_not_the_backdrop(photos):
    # The rocket is white and cream against a deep blue dusk sky that fills most of the photo.
    sky = np.asarray(Image.open(photos["rocket"]).convert("RGB"))[:100].reshape(-1, 3).mean(axis=0)
    assert luminance(tuple(int(v) for v in sky)) < 0.05
    colors = [parse_hex(value) for value in dominant_colors(photos["rocket"], 3)]
    assert all(luminance(color) > 0.12 and color[0] > color[2] for color in colors)  # warm and light, none sky blue
    # The astronaut's suit is orange: strongly red over blue among her colours.
    suit = [parse_hex(value) for value in dominant_colors(photos["astronaut"], 4)]
    assert any(r > 150 and r - b > 80 for r, _, b in suit)


def test_the_neutral_view_is_the_cut_out_or_the_photo_cropped_to_the_subject(photos):
    cup = product_view(photos["coffee"])
    assert np.mean(np.asarray(cup.getchannel("A")) < 128) > 0.1  # the table is gone
    cat = product_view(photos["chelsea"])
    subject = find_subject(photos["chelsea"])
    assert cat.size == (subject.box[2] - subject.box[0], subject.box[3] - subject.box[1])
    assert np.asarray(cat.getchannel("A")).min() == 255  # the photo itself: no ragged cut edge
    assert product_cutout(photos["coffee"]).size == cup.size


def test_a_crop_holds_the_subject_where_the_ratio_allows_and_says_when_it_cannot():
    crop, holds = cover_crop((600, 400), (250, 100, 350, 300), 1.0)
    assert holds and crop == (100.0, 0.0, 500.0, 400.0)  # the largest square, centred on the subject
    crop, holds = cover_crop((600, 400), (0, 0, 600, 400), 9 / 16)
    assert not holds
    region = contain_region((600, 400), (0, 0, 600, 400), 9 / 16)
    assert region == (0.0, 0.0, 600.0, 400.0)  # shown whole instead


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "rocket"])
def test_photo_layouts_show_the_whole_subject_and_keep_text_off_it(tmp_path, photos, name):
    subject = find_subject(photos[name])
    bw, bh = subject.box[2] - subject.box[0], subject.box[3] - subject.box[1]
    for shot in SHOTS:
        for ratio, size in SMALL.items():
            motion = MOTIONS[(SHOTS.index(shot) + list(SMALL).index(ratio)) % len(MOTIONS)]  # every move
            scene = Scene(number=1, shot=shot, headline="Made for the long haul", narration="Built to last. Every day.",
                          duration_s=3.0, motion=motion)
            request = SceneImageRequest(product_images=(photos[name],), scene=scene, size=size, brand=BrandKit(),
                                        seed=1, out_path=tmp_path / "x.png", call_to_action="Shop now")
            drawn = compose_scene(request)
            assert drawn.style == "photo"
            x0, y0, x1, y1 = drawn.product_box
            assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
            # In view all through the video's camera move too (a zoom crops the still's edges).
            seen = camera_safe_area((0, 0, *size), *size, scene.motion, scene.duration_s)
            assert seen[0] - 1 <= x0 and seen[1] - 1 <= y0 and x1 <= seen[2] + 1 and y1 <= seen[3] + 1, (shot, ratio)
            # Drawn whole: the subject's box keeps its proportions on the canvas (nothing cut away).
            assert abs((x1 - x0) / (y1 - y0) - bw / bh) < 0.08 * bw / bh + 2 / (y1 - y0), (shot, ratio)
            for role, box in drawn.text_boxes.items():
                overlap_w = min(box[2], x1) - max(box[0], x0)
                overlap_h = min(box[3], y1) - max(box[1], y0)
                assert overlap_w <= 0 or overlap_h <= 0, f"{shot} {ratio}: {role} over the subject"
