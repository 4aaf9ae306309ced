"""Layouts never break: every shot at every ratio, with copy from one word to twenty-five, long German
compounds, emoji and accents, keeps its text inside the safe area and draws every word whole.

The drawn lines come back in Composition.text_lines and their ink bounds in Composition.text_boxes;
the words are compared with the copy that went in, so a word cut short, a line ending in an ellipsis
or a word split across lines (other than after its own hyphen) fails.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from adapters.base import MOTIONS, SHOTS, BrandKit, Scene, SceneImageRequest
from adapters.local.canvas import safe_area
from adapters.local.image import compose_scene
from adapters.local.stitch import FfmpegStitch
from adapters.local.video import camera_windows
from imaging.type import BOLD_FONT, REGULAR_FONT, drawable, fit_text

# The short side the tests render at (ADFAME_OUTPUT_SHORT_SIDE=270): the tightest boxes there are.
RATIOS = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (480, 270)}
CAPTION_BAND = FfmpegStitch().caption_band("large", (270, 480))  # what a UGC video's captions keep for themselves
COPY = {
    "1 word": "Espresso",
    "3 words": "Thoughtful by design",
    "8 words": "A ceramic cup for slow mornings with friends",
    "15 words": "A ceramic cup of dark roast coffee with a detailed crema, served on a matching saucer",
    "25 words": "A ceramic cup of dark roast coffee with a detailed crema, served on a matching saucer with a silver "
    "spoon and a warm light that says good morning",
    "compound": "Donaudampfschifffahrtsgesellschaftskapitän",
    "compounds": "Die neue Kaffeemaschinenreinigungstablette für jeden Donaudampfschifffahrtsgesellschaftskapitän",
    "emoji": "Morning fuel ☕ 🚀 so good 😀",
    "accents": "Crème brûlée façon grand-mère: déjà prête, für Ærø & Łódź",
}
BRAND = BrandKit(colors=("#1D3557", "#F1FAEE", "#E63946"))


@pytest.fixture(scope="module")
def coffee(tmp_path_factory) -> Path:
    """scikit-image's coffee photo: a real product shot, cut out once and reused by every layout."""
    from skimage import data

    path = tmp_path_factory.mktemp("sweep") / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    return path


def font_for(role: str) -> str:
    return str(REGULAR_FONT if role in ("quote", "feature") else BOLD_FONT)


def assert_whole(lines: tuple[str, ...], options: list[str], where: str) -> str:
    """The drawn lines are one of the options, every word whole, lines broken only between words or
    after a word's own hyphen; returns the option drawn."""
    assert lines, f"{where}: nothing drawn"
    assert not any("…" in line for line in lines), f"{where}: ellipsis in {lines}"
    drawn = "".join("".join(lines).split())
    for option in options:
        if "".join(option.split()) != drawn:
            continue
        joined, position = option, 0
        for line in lines[:-1]:
            position = joined.index(line, position) + len(line)
            assert line.endswith("-") or joined[position:position + 1] == " ", f"{where}: a word split at {line!r}"
        return option
    raise AssertionError(f"{where}: drew {lines}, expected one of {options}")


def in_every_frame(box: tuple[int, int, int, int], size: tuple[int, int], band: float, motion: str,
                   duration_s: float) -> list[str]:
    """Where the box, as the video camera's move shows it, leaves the frame's safe area (none: [])."""
    width, height = size
    x0, y0, x1, y1 = safe_area(width, height, band)
    problems = []
    for zoom, share_x, share_y in camera_windows(motion, duration_s):
        origin_x, origin_y = (width - width / zoom) * share_x, (height - height / zoom) * share_y
        left, top = (box[0] - origin_x) * zoom, (box[1] - origin_y) * zoom
        right, bottom = (box[2] - origin_x) * zoom, (box[3] - origin_y) * zoom
        if left < x0 - 0.5 or top < y0 - 0.5 or right > x1 + 0.5 or bottom > y1 + 0.5:
            problems.append(f"{motion} at zoom {zoom:.3f}: ({left:.0f}, {top:.0f}, {right:.0f}, {bottom:.0f})")
    return problems


def sweep_cases() -> list[tuple[str, str, str]]:
    return [(shot, ratio, copy) for shot in SHOTS for ratio in (*RATIOS, "9:16+captions") for copy in COPY]


def check_layout(photo: Path, shot: str, ratio: str, copy: str, tmp_path: Path):
    """Lay one scene out and check it: inside the canvas and the safe area, in view all through the
    camera move, every word drawn whole. Returns the composition for further checks."""
    text = COPY[copy]
    short = "Espresso cup" if len(text.split()) > 3 else ""
    motion = MOTIONS[(SHOTS.index(shot) + list(COPY).index(copy)) % len(MOTIONS)]  # every move, every shot
    scene = Scene(1, shot, text, f"Worth every sip: {text}. Really.", 5.0, motion, headline_short=short)
    request = SceneImageRequest(
        product_images=(photo,), scene=scene, size=RATIOS[ratio.split("+")[0]], brand=BRAND, seed=3,
        out_path=tmp_path / "x.png", call_to_action=text,
        caption_band=CAPTION_BAND if ratio.endswith("captions") else 0.0,
    )
    composition = compose_scene(request)
    width, height = composition.image.size
    x0, y0, x1, y1 = composition.safe_area
    frame_safe = safe_area(width, height, request.caption_band)
    assert frame_safe[0] <= x0 and frame_safe[1] <= y0 and x1 <= frame_safe[2] and y1 <= frame_safe[3]
    assert composition.text_boxes, "every layout draws some text"
    assert {"headline", "caption", "quote"} & set(composition.text_lines), "the scene's headline is drawn"
    for role, box in composition.text_boxes.items():
        where = f"{shot} {ratio} {copy} {role}"
        assert 0 <= box[0] and 0 <= box[1] and box[2] <= width and box[3] <= height, f"{where}: {box} off the canvas"
        inside = x0 <= box[0] and y0 <= box[1] and box[2] <= x1 and box[3] <= y1
        assert inside, f"{where}: {box} outside {composition.safe_area}"
        assert not in_every_frame(box, (width, height), request.caption_band, motion, scene.duration_s), where
        font = font_for(role)
        options = [drawable(text, font)] + ([drawable(short, font)] if short and role != "feature" else [])
        if role == "feature":
            options = [drawable(f"Worth every sip: {text}.", font)]
        assert_whole(composition.text_lines[role], options, where)
    return composition


@pytest.mark.parametrize(("shot", "ratio", "copy"), sweep_cases())
def test_every_text_lies_inside_the_safe_area_and_every_word_is_drawn_whole(coffee, tmp_path, shot, ratio, copy):
    check_layout(coffee, shot, ratio, copy, tmp_path)


def test_the_shorter_phrase_is_set_when_the_headline_will_not_fit_and_never_otherwise():
    font = str(BOLD_FONT)
    long = "A ceramic cup of dark roast coffee with a detailed crema served on a saucer"
    block = fit_text(long, font, 120, 40, max_px=30, min_px=12, max_lines=2, alternatives=("Espresso cup",))
    assert block.lines == ("Espresso cup",) or block.lines == ("Espresso", "cup")
    roomy = fit_text(long, font, 900, 300, max_px=30, min_px=12, max_lines=3, alternatives=("Espresso cup",))
    assert " ".join(roomy.lines) == long


def test_a_word_too_wide_for_any_size_is_set_smaller_on_its_own_line_but_whole():
    font = str(BOLD_FONT)
    word = "Donaudampfschifffahrtsgesellschaftskapitän"
    block = fit_text(f"Der {word} kommt", font, 120, 80, max_px=30, min_px=10, max_lines=3)
    assert word in block.lines and block.width <= 120 and block.height <= 80
    sizes = {line: f.size for line, f in zip(block.lines, block.line_fonts())}
    assert sizes[word] < 10 <= min(size for line, size in sizes.items() if line != word)


def test_glyphs_the_font_lacks_are_left_out_rather_than_drawn_as_boxes():
    font = str(BOLD_FONT)
    assert drawable("Morning fuel ☕ 🚀 so good 😀\ufe0f", font) == "Morning fuel ☕ so good 😀"
    assert drawable("Crème brûlée für Ærø & Łódź", font) == "Crème brûlée für Ærø & Łódź"
    assert drawable("咖啡 coffee", font) == "coffee"


def test_text_never_ends_in_an_ellipsis_however_little_room_there_is():
    for text in COPY.values():
        for width, height in ((40, 12), (90, 30), (200, 60)):
            block = fit_text(text, str(BOLD_FONT), width, height, max_px=40, min_px=9, max_lines=2)
            assert "".join("".join(block.lines).split()) == "".join(drawable(text, str(BOLD_FONT)).split())
            assert block.width <= width and block.height <= height, (text, width, height, block)


def test_an_old_scene_without_a_short_headline_still_lays_out(coffee, tmp_path):
    scene = Scene(1, "hero", COPY["25 words"], "", 3.0, "zoom_in")
    request = SceneImageRequest(product_images=(coffee,), scene=replace(scene), size=RATIOS["1:1"], brand=BRAND,
                                seed=1, out_path=tmp_path / "x.png")
    composition = compose_scene(request)
    assert re.sub(r"\s", "", "".join(composition.text_lines["headline"])) == re.sub(r"\s", "", COPY["25 words"])


@pytest.mark.parametrize("motion", MOTIONS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_a_headline_stays_in_the_frame_all_through_the_camera_move(coffee, tmp_path, ratio, motion):
    """The issue's 1:1 "Thoughtful by design" ran off the right edge: set against the still's margin, a
    pan's window (or a zoom's) crops it. Every shot, both sides the seed may put the product on."""
    for shot in SHOTS:
        for seed in (1, 2):
            scene = Scene(1, shot, "Thoughtful by design", "Thoughtful design you'll notice.", 6.0, motion)
            request = SceneImageRequest(product_images=(coffee,), scene=scene, size=RATIOS[ratio], brand=BRAND,
                                        seed=seed, out_path=tmp_path / "x.png", call_to_action="Shop now")
            composition = compose_scene(request)
            for role, box in composition.text_boxes.items():
                problems = in_every_frame(box, RATIOS[ratio], 0.0, motion, scene.duration_s)
                assert not problems, (shot, seed, role, box, problems)


def test_a_feature_line_that_only_repeats_the_headline_is_not_drawn_twice(coffee, tmp_path):
    for narration, drawn in (("Just in time for the holidays.", False), ("The details: machine washable.", False),
                             ("And it's served on a matching saucer with a silver spoon.", True)):
        headline = "Machine washable" if "machine" in narration else "Just in time for the holidays"
        headline = "Served on a matching saucer" if "saucer" in narration else headline
        scene = Scene(1, "feature", headline, narration, 3.0, "parallax")
        request = SceneImageRequest(product_images=(coffee,), scene=scene, size=RATIOS["9:16"], brand=BRAND, seed=1,
                                    out_path=tmp_path / "x.png")
        assert ("feature" in compose_scene(request).text_lines) is drawn, narration


def test_lines_keep_a_model_mark_with_its_name_and_break_at_hyphens_only_when_needed():
    from imaging.type import load_font, wrap_text

    font = load_font(str(BOLD_FONT), 20)
    assert "Saturn V" in wrap_text("Meet the Saturn V rocket model", font, 200)
    assert "1 cm" in wrap_text("A detailed 1 cm crema", font, 120)
    assert wrap_text("A museum-quality print", font, 400) == ["A museum-quality print"]
    # Two lines either way: the word stays whole ("Our museum-" / "quality print" would break it).
    assert wrap_text("Our museum-quality print", font, 240) == ["Our museum-quality", "print"]
    # A break at the hyphen that saves a line is taken.
    assert wrap_text("Our museum-quality print on matte paper", font, 190)[0] == "Our museum-"


def test_a_layout_sets_the_copywriters_shorter_phrase_when_the_headline_will_not_fit(coffee, tmp_path):
    scene = Scene(1, "closeup", COPY["25 words"], "", 3.0, "zoom_in", headline_short="A ceramic espresso cup")
    request = SceneImageRequest(product_images=(coffee,), scene=scene, size=RATIOS["9:16"], brand=BRAND, seed=1,
                                out_path=tmp_path / "x.png")
    assert " ".join(compose_scene(request).text_lines["caption"]) == "A ceramic espresso cup"
    roomy = compose_scene(replace(request, scene=replace(scene, headline="Thoughtful by design")))
    assert " ".join(roomy.text_lines["caption"]) == "Thoughtful by design"
