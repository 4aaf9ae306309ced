"""The local compositor: product cut-outs, product colours, and every shot laid out at every ratio."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adapters.base import SHOTS, AdapterError, BrandKit, Scene, SceneImageRequest
from adapters.local.canvas import safe_area
from adapters.local.image import Compositor, compose_scene
from imaging.cutout import dominant_colors, product_cutout
from imaging.type import fit_text

TEAL = (14, 124, 134)
ORANGE = (235, 96, 30)
BRAND = BrandKit(colors=("#1D3557", "#F1FAEE", "#E63946"))  # navy, off-white, red: no teal anywhere
SMALL = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (480, 270)}
FULL = {"9:16": (1080, 1920), "1:1": (1080, 1080), "16:9": (1920, 1080)}
HEADLINES = {
    "hero": "Glow that lasts all day",
    "closeup": "Cold-pressed botanicals",
    "lifestyle": "Your morning ritual, upgraded",
    "feature": "Hydration in three seconds",
    "cta": "Meet your new favourite serum",
    "testimonial": "My skin has never felt this soft. I'm hooked!",
}

# The studio bottle's parts, in the photo's pixels; together they span x 150..250, y 85..440.
CAP, NECK, BODY, LABEL = (176, 85, 224, 125), (182, 120, 218, 170), (150, 165, 250, 440), (160, 270, 240, 360)


def studio_bottle(path: Path) -> Path:
    """A teal bottle with a white label on a light studio sweep that darkens towards the floor."""
    photo = Image.new("RGB", (400, 500))
    draw = ImageDraw.Draw(photo)
    for y in range(500):
        shade = round(246 - 20 * y / 500)
        draw.line([(0, y), (400, y)], fill=(shade, shade - 1, shade - 4))
    draw.rounded_rectangle(CAP, radius=6, fill=(32, 32, 36))
    draw.rectangle(NECK, fill=TEAL)
    draw.rounded_rectangle(BODY, radius=20, fill=TEAL)
    draw.rectangle(LABEL, fill=(250, 250, 247))
    draw.line([(172, 330), (228, 330)], fill=TEAL, width=3)
    photo.save(path, quality=92)
    return path


def sneaker_in_a_room(path: Path) -> Path:
    """An orange sneaker on a wooden floor against a textured wall: no plain backdrop to flood."""
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:360, 0:480]
    wall = np.stack([200 - ys * 0.05, 186 - ys * 0.04, 160 - ys * 0.05], axis=-1) + rng.normal(0, 5, (360, 480, 1))
    plank = ((xs + (ys // 30) * 67) // 110) % 3
    floor = np.stack([120 + plank * 20, 80 + plank * 13, 50 + plank * 7], axis=-1) + rng.normal(0, 6, (360, 480, 1))
    photo = Image.fromarray(np.clip(np.where((ys > 230)[..., None], floor, wall), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(photo)
    draw.polygon([(126, 232), (150, 150), (230, 128), (280, 168), (340, 200), (356, 232)], fill=ORANGE)
    draw.rounded_rectangle((120, 226, 360, 256), radius=12, fill=(245, 245, 240))
    draw.polygon([(170, 160), (215, 148), (225, 200), (185, 214)], fill=(250, 250, 250))
    photo.save(path, quality=92)
    return path


def request_for(product: Path, shot: str, size: tuple[int, int], out: Path, **changes) -> SceneImageRequest:
    fields = {
        "product_images": (product,),
        "scene": Scene(1, shot, HEADLINES[shot], "Locks in moisture for a full day. Tested.", 3.0, "zoom_in"),
        "size": size,
        "brand": BRAND,
        "seed": 7,
        "out_path": out,
        "call_to_action": "Shop now",
    }
    return SceneImageRequest(**{**fields, **changes})


def inside(box: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


@pytest.fixture
def bottle(tmp_path: Path) -> Path:
    return studio_bottle(tmp_path / "bottle.jpg")


# ---- cut-out and colours ---------------------------------------------------------------------------


def test_a_studio_shot_is_cut_along_the_product_and_keeps_its_white_label(bottle):
    cutout = product_cutout(bottle)
    assert cutout.mode == "RGBA"
    assert abs(cutout.width - 100) <= 3 and abs(cutout.height - 355) <= 3  # cropped to the bottle
    alpha = np.asarray(cutout.getchannel("A"))
    ox, oy = 150, 85  # the crop's origin in the photo
    assert alpha[300 - oy, 200 - ox] == 255  # the teal body
    assert alpha[315 - oy, 200 - ox] == 255  # the white label: backdrop-coloured, but inside the product
    assert alpha[100 - oy, 160 - ox] == 0  # backdrop beside the cap
    assert alpha[145 - oy, 165 - ox] == 0  # backdrop beside the neck
    assert alpha[2, 2] == 0


@pytest.mark.parametrize("model", ["u2netp", "missing.onnx"])  # the model, and GrabCut when it is missing
def test_a_photo_without_a_plain_backdrop_is_cut_along_the_product(tmp_path, settings, model):
    settings.ADFAME_CUTOUT_MODEL = model if model == "u2netp" else str(tmp_path / model)
    cutout = product_cutout(sneaker_in_a_room(tmp_path / "room.jpg"))
    assert abs(cutout.width - 240) <= 0.08 * 240 and abs(cutout.height - 128) <= 0.08 * 128
    alpha = np.asarray(cutout.getchannel("A"))
    pixels = np.asarray(cutout)
    assert alpha[190 - 128, 300 - 120] > 200 and math.dist(pixels[190 - 128, 300 - 120][:3], ORANGE) < 30
    assert alpha[240 - 128, 240 - 120] > 200  # the white sole
    assert alpha[3, 3] < 60  # the wall left of the toe cap
    assert alpha[3, -4] < 60  # the wall above the heel
    assert float(np.mean(alpha > 128)) < 0.85  # the floor and wall around it are gone


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_png_and_webp_photos_are_cut_like_jpegs(tmp_path, suffix):
    source = Image.open(studio_bottle(tmp_path / "bottle.jpg"))
    path = tmp_path / f"bottle{suffix}"
    source.convert("RGBA").save(path, **({"lossless": True} if suffix == ".webp" else {}))
    cutout = product_cutout(path)  # an alpha channel that is opaque everywhere is no cut-out yet
    assert abs(cutout.width - 100) <= 3 and abs(cutout.height - 355) <= 3


def test_an_image_with_real_transparency_keeps_its_alpha(tmp_path):
    picture = Image.new("RGBA", (300, 300), (255, 255, 255, 0))
    ImageDraw.Draw(picture).ellipse((70, 70, 230, 230), fill=(200, 30, 40, 255))
    picture.save(tmp_path / "cut.png")
    cutout = product_cutout(tmp_path / "cut.png")
    assert cutout.size == (161, 161)
    alpha = np.asarray(cutout.getchannel("A"))
    assert alpha[80, 80] == 255 and alpha[0, 0] == 0


def test_dominant_colors_are_the_products_not_the_backdrops(bottle):
    colors = dominant_colors(bottle, 3)
    assert 1 <= len(colors) <= 3 and all(len(c) == 7 and c.startswith("#") for c in colors)
    first = tuple(int(colors[0][i : i + 2], 16) for i in (1, 3, 5))
    assert math.dist(first, TEAL) < 40


@pytest.mark.parametrize("content", [b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64])
def test_an_unreadable_photo_is_a_permanent_error(tmp_path, content):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(content)
    with pytest.raises(AdapterError) as cutting:
        product_cutout(broken)
    assert cutting.value.permanent
    with pytest.raises(AdapterError) as rendering:
        Compositor().render_scene(request_for(broken, "hero", SMALL["1:1"], tmp_path / "out.png"))
    assert rendering.value.permanent


def test_a_truncated_jpeg_is_a_permanent_error(tmp_path, bottle):
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(bottle.read_bytes()[:2000])
    with pytest.raises(AdapterError) as error:
        product_cutout(truncated)
    assert error.value.permanent


# ---- scenes ------------------------------------------------------------------------------------------


def test_the_compositor_is_ready_with_pillow_and_dejavu():
    readiness = Compositor().check()
    assert readiness.ready, readiness.detail
    assert Compositor.name == "local.compositor"


@pytest.mark.parametrize("ratio", SMALL)
@pytest.mark.parametrize("shot", SHOTS)
def test_every_shot_renders_at_every_ratio_with_the_product_in_it(tmp_path, bottle, shot, ratio):
    out = tmp_path / "nested" / f"{shot}.png"
    result = Compositor().render_scene(request_for(bottle, shot, SMALL[ratio], out))
    assert result.path == out and (result.width, result.height) == SMALL[ratio] and result.seed == 7
    rendered = np.asarray(Image.open(out).convert("RGB"))
    assert rendered.shape[:2] == (SMALL[ratio][1], SMALL[ratio][0])
    # The brand has no teal, so teal pixels are the bottle's, and there are plenty of them.
    teal = np.linalg.norm(rendered.astype(float) - TEAL, axis=-1) < 30
    assert teal.mean() > 0.03
    composition = compose_scene(request_for(bottle, shot, SMALL[ratio], out))
    x0, y0, x1, y1 = composition.product_box
    ys, xs = np.nonzero(teal)
    assert x0 <= xs.mean() <= x1 and y0 <= ys.mean() <= y1


@pytest.mark.parametrize("sizes", [SMALL, FULL], ids=["small", "full"])
@pytest.mark.parametrize("shot", SHOTS)
def test_text_stays_inside_the_safe_area(tmp_path, bottle, shot, sizes):
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (300, 100), (230, 57, 70, 255)).save(logo)
    for size in sizes.values():
        for brand in (BRAND, BrandKit(logo_path=logo)):
            composition = compose_scene(request_for(bottle, shot, size, tmp_path / "x.png", brand=brand))
            assert composition.text_boxes, "every shot shows its headline"
            for role, box in composition.text_boxes.items():
                assert inside(box, composition.safe_area), (shot, size, role, box, composition.safe_area)
            if brand.logo_path:
                assert composition.logo_box and inside(composition.logo_box, composition.safe_area)


def test_a_still_shown_as_it_is_uses_the_whole_safe_area_and_an_animated_one_keeps_clear_of_the_move(tmp_path, bottle):
    scene = Scene(1, "hero", "Made to last", "", 4.0, "pan_right")
    still = SceneImageRequest(product_images=(bottle,), scene=scene, size=(270, 270), brand=BRAND, seed=1,
                              out_path=tmp_path / "x.png", animated=False)
    assert compose_scene(still).safe_area == safe_area(270, 270)
    moving = compose_scene(replace(still, animated=True)).safe_area
    assert inside(moving, safe_area(270, 270)) and moving != safe_area(270, 270)


def test_a_tall_frame_keeps_clear_of_the_social_apps_top_and_bottom():
    assert safe_area(1080, 1920) == (65, 230, 1015, 1536)
    assert safe_area(1080, 1080) == (65, 65, 1015, 1015)
    assert safe_area(1920, 1080) == (115, 65, 1805, 1015)


def test_a_very_long_headline_shrinks_and_is_shortened_rather_than_overflowing(tmp_path, bottle):
    headline = "An extraordinarily long headline that keeps going " * 8
    for ratio, size in SMALL.items():
        scene = Scene(1, "hero", headline, "", 3.0, "zoom_in")
        composition = compose_scene(request_for(bottle, "hero", size, tmp_path / "x.png", scene=scene))
        assert inside(composition.text_boxes["headline"], composition.safe_area)


def test_fitted_text_never_leaves_its_box():
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    block = fit_text("Supercalifragilisticexpialidocious " * 6, font, 200, 90, max_px=60, min_px=12, max_lines=3)
    assert block.width <= 200 and block.height <= 90
    # Never shortened: past the smallest size it takes more lines (and a word too wide goes smaller still).
    assert block.lines == ("Supercalifragilisticexpialidocious",) * 6
    roomy = fit_text("Short and sweet", font, 600, 300, max_px=60, min_px=12, max_lines=3)
    assert roomy.font.size == 60 and roomy.lines == ("Short and sweet",)


def test_the_scene_has_the_texts_its_shot_calls_for(tmp_path, bottle):
    def roles(shot, **changes):
        return set(compose_scene(request_for(bottle, shot, SMALL["9:16"], tmp_path / "x.png", **changes)).text_boxes)

    assert roles("hero") == {"headline"}
    assert roles("closeup") == {"caption"}
    assert roles("feature") == {"headline", "feature"}
    assert roles("cta") == {"headline", "cta"}
    assert roles("cta", call_to_action="") == {"headline"}
    assert roles("testimonial") == {"quote"}


def test_the_same_seed_renders_the_same_picture(tmp_path, bottle):
    for shot in SHOTS:
        first = Compositor().render_scene(request_for(bottle, shot, SMALL["1:1"], tmp_path / "a.png"))
        second = Compositor().render_scene(request_for(bottle, shot, SMALL["1:1"], tmp_path / "b.png"))
        assert first.path.read_bytes() == second.path.read_bytes(), shot


def test_another_seed_gives_the_lifestyle_scene_another_arrangement(tmp_path, bottle):
    def picture(seed):
        request = request_for(bottle, "lifestyle", SMALL["9:16"], tmp_path / "x.png", seed=seed)
        return np.asarray(compose_scene(request).image)

    assert not np.array_equal(picture(1), picture(2))


def test_more_product_emphasis_draws_the_product_larger(tmp_path, bottle):
    def product_area(emphasis):
        x0, y0, x1, y1 = compose_scene(
            request_for(bottle, "hero", SMALL["9:16"], tmp_path / "x.png", product_emphasis=emphasis)
        ).product_box
        return (x1 - x0) * (y1 - y0)

    assert product_area(1.0) > product_area(0.0) * 1.15


def test_without_brand_colours_the_palette_comes_from_the_product(tmp_path, bottle):
    composition = compose_scene(request_for(bottle, "hero", SMALL["1:1"], tmp_path / "x.png", brand=BrandKit()))
    corner = np.asarray(composition.image)[2, 2].astype(int)
    red, green, blue = corner
    assert green > red and blue > red  # a tint of the bottle's teal, not a stock grey


@pytest.mark.parametrize(
    "changes",
    [
        {"scene": Scene(1, "montage", "Hi", "", 3.0, "zoom_in")},
        {"brand": BrandKit(colors=("teal",))},
        {"brand": BrandKit(font_path=Path("/nowhere/brand.ttf"))},
        {"product_emphasis": 1.5},
        {"product_images": ()},
    ],
    ids=["unknown shot", "bad colour", "missing font", "emphasis out of range", "no product"],
)
def test_requests_that_cannot_succeed_are_permanent_errors(tmp_path, bottle, changes):
    with pytest.raises(AdapterError) as error:
        Compositor().render_scene(request_for(bottle, "hero", SMALL["1:1"], tmp_path / "x.png", **changes))
    assert error.value.permanent


def test_text_stays_above_the_band_captions_will_cover(tmp_path, bottle):
    for shot in ("hero", "feature", "cta", "testimonial"):
        request = request_for(bottle, shot, (270, 480), tmp_path / f"{shot}.png", caption_band=0.45)
        composition = compose_scene(request)
        assert composition.text_boxes, shot
        assert all(box[3] <= 480 * 0.55 + 1 for box in composition.text_boxes.values()), shot
