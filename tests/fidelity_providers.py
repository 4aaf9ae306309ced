"""Image providers for fidelity tests: the real compositor drifting from the product, and one not ready.

A drifting provider renders the scene with the product recoloured (TEST_DRIFT=recolour) or with
another object in its place (TEST_DRIFT=swap), as a generative model sometimes does. Its calls
are kept in a ledger under ADFAME_DATA_DIR, since the worker that calls it is another process
than the test that checks it; an attempt is a new seed for a scene.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from adapters.base import ImageProvider, ImageResult, Readiness, SceneImageRequest
from adapters.local.image import Compositor

LEDGER = "fidelity-image.jsonl"


def _ledger() -> Path:
    # The folder of tests.providers' ledgers, which the integration fixtures empty before each test.
    path = Path(os.environ["ADFAME_DATA_DIR"]) / "provider-calls"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_render(scene: int, seed: int, drifted: bool) -> None:
    with open(_ledger() / LEDGER, "a") as ledger:
        ledger.write(json.dumps({"scene": scene, "seed": seed, "drifted": drifted, "pid": os.getpid()}) + "\n")


def renders() -> list[dict]:
    path = _ledger() / LEDGER
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def attempt_of(scene: int, seed: int) -> int:
    """Which attempt of the scene a seed belongs to (from 1): seeds in the order the ledger first saw them."""
    seeds: list[int] = []
    for entry in renders():
        if entry["scene"] == scene and entry["seed"] not in seeds:
            seeds.append(entry["seed"])
    return seeds.index(seed) + 1 if seed in seeds else len(seeds) + 1


def recoloured(source: Path, target: Path, hue_shift: int = 90) -> Path:
    """The photo with every hue turned half-way round (OpenCV hues run 0..180): a blue bottle comes out brown."""
    rgba = np.asarray(Image.open(source).convert("RGBA")).copy()
    hsv = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + hue_shift) % 180
    rgba[..., :3] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    Image.fromarray(rgba).save(target)
    return target


def stand_in(target: Path) -> Path:
    """Another product altogether, on a studio backdrop: a red mug with a yellow label."""
    image = Image.new("RGB", (640, 480), (236, 234, 230))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([220, 150, 400, 400], radius=20, fill=(200, 60, 40))
    draw.ellipse([380, 200, 470, 330], outline=(200, 60, 40), width=18)
    draw.rectangle([250, 230, 370, 300], fill=(250, 220, 60))
    image.save(target)
    return target


def drifted_request(request: SceneImageRequest) -> SceneImageRequest:
    folder = request.out_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("TEST_DRIFT", "recolour") == "swap":
        return replace(request, product_images=(stand_in(folder / "stand-in.png"),))
    drifted = tuple(recoloured(path, folder / f"recoloured-{n}.png") for n, path in enumerate(request.product_images))
    return replace(request, product_images=drifted)


class DriftingCompositor(Compositor):
    """Drifts on the first TEST_DRIFT_ATTEMPTS attempts of the scenes in TEST_DRIFT_SCENES (all when unset)."""

    name = "test.drifting"

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        scenes = os.environ.get("TEST_DRIFT_SCENES", "")
        drifting_scene = not scenes or str(request.scene.number) in scenes.split(",")
        attempt = attempt_of(request.scene.number, request.seed)
        drifts = drifting_scene and attempt <= int(os.environ.get("TEST_DRIFT_ATTEMPTS", "1"))
        record_render(request.scene.number, request.seed, drifts)
        return super().render_scene(drifted_request(request) if drifts else request)


class NeverFaithfulCompositor(Compositor):
    """Always drifts, whatever the seed and the product emphasis."""

    name = "test.never_faithful"

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        record_render(request.scene.number, request.seed, True)
        return super().render_scene(drifted_request(request))


class WeightlessImage(ImageProvider):
    """A model provider whose weights are not there: it imports and instantiates, and says it is not ready."""

    name = "test.weightless"

    def check(self) -> Readiness:
        return Readiness(False, "TEST_WEIGHTS_PATH is not set: name the local folder holding the weights.")

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        raise AssertionError("a provider that is not ready must not be asked to render")
