"""Fidelity scorers: the weight-free matcher on real composites, and CLIP on a tiny randomly initialised model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from adapters.base import SHOTS, AdapterError, BrandKit, Scene, SceneImageRequest
from adapters.local.image import Compositor
from fidelity.policy import FidelityPolicy, scene_type
from fidelity.scorers import ClipScorer, WeightFreeScorer, on_neutral_square, scorer_for_settings
from imaging.cutout import product_cutout
from tests.factories import product_photo
from tests.fidelity_providers import recoloured, stand_in

SIZES = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (480, 270)}
BRAND = BrandKit(colors=("#1E5AA0",))  # the campaign factory's brand blue: the bottle's own colour
HEADLINES = {
    "hero": "Stay cold all day",
    "closeup": "Steel that lasts",
    "lifestyle": "Take it anywhere",
    "feature": "Keeps ice 24 hours",
    "cta": "Get yours today",
    "testimonial": "Best bottle I have owned, honestly",
}


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("product") / "bottle.png"
    path.write_bytes(product_photo((640, 480)))
    return path


@pytest.fixture(scope="module")
def scorer() -> WeightFreeScorer:
    return WeightFreeScorer()


def composite(photo: Path, out: Path, shot: str = "hero", ratio: str = "9:16", emphasis: float = 0.5) -> Path:
    scene = Scene(1, shot, HEADLINES[shot], "Keeps drinks cold for 24 hours. Really.", 3.0, "zoom_in")
    request = SceneImageRequest(product_images=(photo,), scene=scene, size=SIZES[ratio], brand=BRAND, seed=7,
                                out_path=out, call_to_action="Shop now", product_emphasis=emphasis)
    return Compositor().render_scene(request).path


# ---- weight-free -----------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", sorted(SIZES))
@pytest.mark.parametrize("shot", SHOTS)
def test_every_compositor_shot_passes_its_threshold_at_the_default_emphasis(scorer, photo, tmp_path, shot, ratio):
    candidate = composite(photo, tmp_path / "scene.png", shot, ratio)
    threshold = FidelityPolicy.from_settings().threshold(scene_type(shot))
    assert scorer.score((photo,), candidate) >= max(threshold, 0.8)


@pytest.mark.parametrize("ratio", ["9:16", "16:9"])
@pytest.mark.parametrize("shot", ["hero", "closeup", "lifestyle", "testimonial"])
def test_a_recoloured_or_swapped_product_scores_far_below_the_faithful_one(scorer, photo, tmp_path, shot, ratio):
    faithful = scorer.score((photo,), composite(photo, tmp_path / "faithful.png", shot, ratio))
    brown, mug = recoloured(photo, tmp_path / "brown.png"), stand_in(tmp_path / "mug.png")
    recolour = scorer.score((photo,), composite(brown, tmp_path / "recoloured.png", shot, ratio))
    swapped = scorer.score((photo,), composite(mug, tmp_path / "swapped.png", shot, ratio))
    lowest_threshold = min(FidelityPolicy.from_settings().thresholds.values())
    assert recolour < lowest_threshold and swapped < lowest_threshold
    assert faithful - max(recolour, swapped) > 0.3


def test_a_scene_without_the_product_scores_near_zero(scorer, photo, tmp_path):
    backdrop = tmp_path / "backdrop.png"
    gradient = np.linspace(40, 200, 480, dtype=np.uint8)[:, None, None] * np.ones((1, 270, 3), np.uint8)
    Image.fromarray(gradient).save(backdrop)
    assert scorer.score((photo,), backdrop) < 0.2


def test_a_close_up_running_off_the_frame_is_found_and_scored_on_its_visible_part(scorer, photo, tmp_path):
    candidate = composite(photo, tmp_path / "closeup.png", "closeup", "9:16")
    [comparison] = scorer.compare((photo,), candidate)
    assert comparison.match.x < 0 or comparison.match.y < 0  # the product overflows the frame
    assert comparison.score >= 0.8 and comparison.colour > 0.7 and comparison.structure > 0.8


def test_the_neutral_cut_out_and_the_photo_it_came_from_are_one_reference(scorer, photo, tmp_path):
    neutral = tmp_path / "neutral.png"
    product_cutout(photo).save(neutral)
    candidate = composite(photo, tmp_path / "scene.png")
    comparisons = scorer.compare((neutral, photo), candidate)
    assert len(comparisons) == 1
    assert scorer.score((neutral, photo), candidate) == scorer.score((photo,), candidate)


def test_unreadable_images_are_permanent_errors(scorer, photo, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(AdapterError) as error:
        scorer.score((photo,), broken)
    assert error.value.permanent
    with pytest.raises(AdapterError):
        scorer.score((), composite(photo, tmp_path / "scene.png"))


def test_the_weight_free_scorer_is_ready_without_weights_and_is_the_default_without_the_model_stack(settings):
    settings.ADFAME_CLIP_WEIGHTS, settings.ADFAME_FIDELITY_MODEL_STACK = "", False
    assert WeightFreeScorer().check().ready
    first = scorer_for_settings()
    assert isinstance(first, WeightFreeScorer) and scorer_for_settings() is first


# ---- CLIP, on a tiny randomly initialised model -------------------------------------------------------------

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 512, "width": 64, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[str, Path]:
    """An open_clip architecture registered from a JSON config, and a state dict of random weights saved for it."""
    folder = tmp_path_factory.mktemp("clip")
    (folder / "adfame-tiny-clip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(folder)
    torch.manual_seed(0)
    model = open_clip.create_model("adfame-tiny-clip")
    weights = folder / "tiny-clip.pt"
    torch.save(model.state_dict(), weights)
    return "adfame-tiny-clip", weights


@pytest.fixture
def clip_settings(settings, tiny_clip):
    settings.ADFAME_CLIP_MODEL, settings.ADFAME_CLIP_WEIGHTS = tiny_clip[0], str(tiny_clip[1])
    settings.ADFAME_MODEL_DEVICE = "cpu"
    return settings


def test_clip_is_chosen_when_weights_are_configured_and_reports_ready(clip_settings):
    scorer = scorer_for_settings()
    assert isinstance(scorer, ClipScorer) and scorer_for_settings() is scorer
    readiness = scorer.check()
    assert readiness.ready and "adfame-tiny-clip" in readiness.detail


def test_clip_is_not_ready_without_its_weights_file(clip_settings, tmp_path):
    assert not ClipScorer(weights="").check().ready
    missing = ClipScorer(weights=str(tmp_path / "nowhere.pt")).check()
    assert not missing.ready and "nowhere.pt" in missing.detail
    assert not ClipScorer(model_name="no-such-architecture").check().ready


def test_clip_scores_an_image_identical_to_the_reference_at_one(clip_settings, photo, tmp_path):
    scorer = ClipScorer()
    same = tmp_path / "same.png"
    on_neutral_square(product_cutout(photo), margin=0.08).save(same)  # exactly what the reference embedding sees
    assert scorer.score((photo,), same) == pytest.approx(1.0, abs=1e-4)


def test_clip_scores_are_cosine_similarities_within_zero_and_one(clip_settings, photo, tmp_path):
    scorer = ClipScorer()
    mug = stand_in(tmp_path / "mug.png")
    scene, other = composite(photo, tmp_path / "scene.png"), composite(mug, tmp_path / "other.png", "feature", "16:9")
    scores = [scorer.score((photo,), candidate) for candidate in (scene, other)]
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores[0] != scores[1]  # the embeddings differ: the model really looked at the pixels
    # The best over the references: one identical to the candidate decides.
    same = tmp_path / "same.png"
    on_neutral_square(product_cutout(mug), margin=0.08).save(same)
    assert scorer.score((photo, mug), same) == pytest.approx(1.0, abs=1e-4)
    assert scorer.score((photo,), same) < 0.9999


def test_clip_loads_its_weights_once_and_embeds_each_reference_once(clip_settings, photo, tmp_path, monkeypatch):
    loads: list[str] = []
    real = open_clip.create_model_and_transforms

    def counting(*args, **kwargs):
        loads.append(kwargs.get("pretrained"))
        return real(*args, **kwargs)

    monkeypatch.setattr(open_clip, "create_model_and_transforms", counting)
    scorer = ClipScorer()
    for index, shot in enumerate(("hero", "cta", "feature")):
        scorer.score((photo,), composite(photo, tmp_path / f"{index}.png", shot))
    assert loads == [str(clip_settings.ADFAME_CLIP_WEIGHTS)]
    assert len(scorer._reference_embeddings) == 1


def test_clip_refuses_weights_that_do_not_fit_the_architecture(clip_settings, tmp_path):
    wrong = tmp_path / "wrong.pt"
    torch.save({"visual.proj": torch.zeros(3, 3)}, wrong)
    candidate = tmp_path / "c.png"
    Image.new("RGB", (64, 64), "white").save(candidate)
    with pytest.raises(AdapterError) as error:
        ClipScorer(weights=str(wrong)).score((candidate,), candidate)
    assert error.value.permanent and "wrong.pt" in error.value.message
