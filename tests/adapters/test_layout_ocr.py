"""The rendered headline reads back whole: OCR (tesseract) on stills of the four real photographs.

The layout sweep checks the lines a layout says it drew; this checks the pixels. Each scene of an
explainer and a creator storyboard written by the template copywriter for scikit-image's coffee,
astronaut, chelsea and rocket is composed, the headline's box cut out of the still, upscaled, and
read by the tesseract CLI. Every word of the headline must come back (a fuzzy match of at least
0.8 per word allows OCR noise such as "l" for "I"), so a word cut off, run off the frame or drawn as
missing-glyph boxes fails. tesseract is a system package (`make test` installs tesseract-ocr); the
test fails, not skips, without it.
"""
from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from adapters.base import BrandKit, SceneImageRequest
from adapters.local.copywriter import TemplateCopywriter
from adapters.local.image import compose_scene
from imaging.type import BOLD_FONT, load_font
from tests.adapters.test_local_copywriter import PHOTO_BRIEFS

SIZE = (270, 480)  # 9:16 at the tests' short side: the tightest frame for a headline
UPSCALE = 4
MIN_WORD_MATCH = 0.8
HEADLINE_ROLES = ("headline", "caption", "quote")


@pytest.fixture(scope="module")
def tesseract() -> str:
    path = shutil.which("tesseract")
    if path is None:
        pytest.fail("tesseract is not installed: the OCR check needs the tesseract-ocr package (make test installs it)")
    return path


@pytest.fixture(scope="module")
def photos(real_photos) -> dict[str, Path]:
    return {name: real_photos[name] for name in PHOTO_BRIEFS}


def normalised(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'", ""))


def read_back(tesseract: str, still: Image.Image, box: tuple[int, int, int, int], work: Path) -> str:
    """What tesseract reads in `box` of the still: cropped with a little margin, upscaled, grey, dark on light."""
    pad = 4
    crop = still.crop((max(0, box[0] - pad), max(0, box[1] - pad), min(still.width, box[2] + pad),
                       min(still.height, box[3] + pad)))
    grey = ImageOps.grayscale(crop.resize((crop.width * UPSCALE, crop.height * UPSCALE), Image.Resampling.LANCZOS))
    # Light type on a dark plate reads best inverted: tesseract is trained on dark ink.
    if np.asarray(grey).mean() < 128:
        grey = ImageOps.invert(grey)
    ImageOps.expand(grey, border=24, fill=255).save(work)
    result = subprocess.run([tesseract, str(work), "stdout", "--psm", "6", "-l", "eng"],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def missing_words(expected: str, read: str) -> list[str]:
    """The expected words OCR did not find. OCR may merge a short word into its neighbour ("on a" read as
    "ona") or split one, so a word also counts as found together with the word beside it."""
    got = normalised(read)
    seen = set(got) | {a + b for a, b in zip(got, got[1:])}
    words = normalised(expected)
    missing = []
    for index, word in enumerate(words):
        forms = {word}
        if index > 0:
            forms.add(words[index - 1] + word)
        if index + 1 < len(words):
            forms.add(word + words[index + 1])
        ratios = (difflib.SequenceMatcher(None, form, token).ratio() for form in forms for token in seen)
        if not any(ratio >= MIN_WORD_MATCH for ratio in ratios):
            missing.append(word)
    return missing


def drawn_text(lines: tuple[str, ...]) -> str:
    """The lines as one text: a line that ends on a hyphen joins the next without a space."""
    text = ""
    for line in lines:
        text += line if not text or text.endswith("-") else f" {line}"
    return text


@pytest.mark.parametrize("photo", list(PHOTO_BRIEFS))
def test_every_headline_on_the_real_photos_reads_back_whole(tesseract, photos, photo, tmp_path):
    checked = 0
    for mode in ("script_to_video", "ugc"):
        storyboard = TemplateCopywriter().storyboard(replace(PHOTO_BRIEFS[photo], mode=mode, scene_count=6), seed=3)
        for scene in storyboard.scenes:
            request = SceneImageRequest(product_images=(photos[photo],), scene=scene, size=SIZE, brand=BrandKit(),
                                        seed=scene.number, out_path=tmp_path / "x.png", call_to_action="Shop now")
            composition = compose_scene(request)
            role = next(role for role in HEADLINE_ROLES if role in composition.text_boxes)
            drawn = drawn_text(composition.text_lines[role])
            # What was drawn is the headline or the copywriter's shorter whole phrase, never a cut one.
            assert drawn.split() in (scene.headline.split(), scene.headline_short.split()), (drawn, scene)
            read = read_back(tesseract, composition.image, composition.text_boxes[role], tmp_path / "crop.png")
            missing = missing_words(drawn, read)
            assert not missing, f"{photo} {mode} scene {scene.number} ({scene.shot}): {drawn!r} read as {read!r}"
            checked += 1
    assert checked == 12


def test_a_headline_cut_off_does_not_read_back_whole(tesseract, tmp_path):
    """The check can fail: the issue's "Thoughtful by design" run off the right edge loses "design"."""
    still = Image.new("RGB", (270, 80), (250, 246, 240))
    ImageDraw.Draw(still).text((16, 24), "Thoughtful by design", font=load_font(str(BOLD_FONT), 24), fill=(20, 20, 24))
    whole = read_back(tesseract, still, (16, 20, 268, 56), tmp_path / "whole.png")
    cut = read_back(tesseract, still, (16, 20, 200, 56), tmp_path / "cut.png")
    assert missing_words("Thoughtful by design", whole) == []
    assert "design" in missing_words("Thoughtful by design", cut)
