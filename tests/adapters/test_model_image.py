"""The SDXL image provider, run for real on a tiny randomly initialised SDXL saved to disk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image, ImageDraw

from adapters.base import AdapterError, BrandKit, Scene, SceneImageRequest
from adapters.models.image import SdxlImage, scene_canvas
from tests.adapters.tiny_models import build_tiny_sdxl

TEAL = (14, 124, 134)


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))


@pytest.fixture
def sdxl_settings(tiny_sdxl: Path):
    with override_settings(ADFAME_SDXL_PATH=str(tiny_sdxl), ADFAME_SDXL_STEPS=2, ADFAME_SDXL_GUIDANCE=5.0,
                           ADFAME_MODEL_DEVICE="cpu", ADFAME_MODEL_OFFLOAD=True):
        yield tiny_sdxl


@pytest.fixture(scope="session")
def bottle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A teal bottle with a white label on a light studio backdrop."""
    photo = Image.new("RGB", (200, 250), (240, 239, 236))
    draw = ImageDraw.Draw(photo)
    draw.rounded_rectangle((88, 40, 112, 62), radius=3, fill=(32, 32, 36))
    draw.rounded_rectangle((75, 60, 125, 220), radius=10, fill=TEAL)
    draw.rectangle((80, 120, 120, 170), fill=(250, 250, 247))
    path = tmp_path_factory.mktemp("photos") / "bottle.png"
    photo.save(path)
    return path


def request_for(bottle: Path, out: Path, *, size: tuple[int, int] = (64, 112), seed: int = 7,
                **changes) -> SceneImageRequest:
    fields = {
        "product_images": (bottle,),
        "scene": Scene(1, "hero", "Glow that lasts all day", "Locks in moisture for a full day.", 3.0, "zoom_in"),
        "size": size,
        "brand": BrandKit(colors=("#1D3557", "#F1FAEE")),
        "seed": seed,
        "out_path": out,
    }
    return SceneImageRequest(**{**fields, **changes})


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


@pytest.mark.parametrize("size", [(64, 112), (64, 64)])
def test_a_still_has_exactly_the_asked_size(sdxl_settings, bottle, tmp_path, size):
    result = SdxlImage().render_scene(request_for(bottle, tmp_path / "scene.png", size=size, seed=11))
    assert (result.width, result.height, result.seed) == (*size, 11)
    with Image.open(result.path) as image:
        assert image.size == size and image.format == "PNG"


def test_the_same_seed_paints_the_same_scene_and_another_seed_another(sdxl_settings, bottle, tmp_path):
    provider = SdxlImage()
    first = provider.render_scene(request_for(bottle, tmp_path / "first.png", seed=3))
    again = provider.render_scene(request_for(bottle, tmp_path / "again.png", seed=3))
    other = provider.render_scene(request_for(bottle, tmp_path / "other.png", seed=4))
    assert np.array_equal(pixels(first.path), pixels(again.path))
    assert np.abs(pixels(first.path) - pixels(other.path)).mean() > 1


def test_the_product_pixels_survive_and_the_scene_around_them_is_painted(sdxl_settings, bottle, tmp_path):
    request = request_for(bottle, tmp_path / "scene.png", product_emphasis=0.8)
    canvas = scene_canvas(request)
    output = pixels(SdxlImage().render_scene(request).path)

    left, top, right, bottom = canvas.box
    product = np.asarray(canvas.product).astype(np.int16)
    solid = product[..., 3] == 255
    assert solid.sum() > 200  # the bottle is a real part of the frame, not a speck
    region = output[top:bottom, left:right]
    assert np.abs(region[solid] - product[..., :3][solid]).max() <= 1

    outside = np.asarray(canvas.mask) == 255
    start = np.asarray(canvas.image).astype(np.int16)
    assert np.abs(output[outside] - start[outside]).mean() > 2  # SDXL repainted the set


def test_the_product_keeps_out_of_the_caption_band(bottle, tmp_path):
    canvas = scene_canvas(request_for(bottle, tmp_path / "scene.png", size=(64, 112), caption_band=0.35))
    assert canvas.box[3] <= round(112 * (1 - 0.35))
    assert np.asarray(canvas.mask)[round(112 * 0.65):].min() == 255  # the band is all scene


def test_higher_emphasis_draws_the_product_larger_and_leaves_less_to_repaint(bottle, tmp_path):
    calm = scene_canvas(request_for(bottle, tmp_path / "a.png", size=(96, 96), product_emphasis=0.0))
    bold = scene_canvas(request_for(bottle, tmp_path / "b.png", size=(96, 96), product_emphasis=1.0))
    assert bold.product.height > calm.product.height
    assert (np.asarray(bold.mask) == 255).sum() < (np.asarray(calm.mask) == 255).sum()


def test_check_is_ready_for_a_complete_weights_folder(sdxl_settings):
    readiness = SdxlImage().check()
    assert readiness.ready, readiness.detail


def test_check_names_what_an_incomplete_or_missing_folder_lacks(tmp_path):
    with override_settings(ADFAME_SDXL_PATH=str(tmp_path)):
        readiness = SdxlImage().check()
    assert not readiness.ready and "model_index.json" in readiness.detail and "text_encoder_2" in readiness.detail
    with override_settings(ADFAME_SDXL_PATH=str(tmp_path / "nowhere")):
        readiness = SdxlImage().check()
    assert not readiness.ready and "is not a folder" in readiness.detail


def test_missing_weights_fail_permanently(bottle, tmp_path):
    with override_settings(ADFAME_SDXL_PATH=str(tmp_path / "nowhere"), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError) as caught:
            SdxlImage().render_scene(request_for(bottle, tmp_path / "scene.png"))
    assert caught.value.permanent and "ADFAME_SDXL_PATH" in caught.value.message


def test_weights_load_once_for_every_scene_a_worker_renders(sdxl_settings, bottle, tmp_path, monkeypatch):
    from diffusers import StableDiffusionXLPipeline

    loads = []
    real_from_pretrained = StableDiffusionXLPipeline.from_pretrained

    def counting_from_pretrained(*args, **kwargs):
        loads.append(args)
        return real_from_pretrained(*args, **kwargs)

    monkeypatch.setattr(StableDiffusionXLPipeline, "from_pretrained", counting_from_pretrained)
    provider = SdxlImage()
    provider.render_scene(request_for(bottle, tmp_path / "one.png"))
    lifestyle = Scene(2, "lifestyle", "Made for mornings", "", 2.0, "pan_left")
    provider.render_scene(request_for(bottle, tmp_path / "two.png", scene=lifestyle))
    assert len(loads) == 1
