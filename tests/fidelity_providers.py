"""Image providers for fidelity tests: the real compositor drifting from the product, and one not ready.

A drifting provider renders the scene with the product recoloured (TEST_DRIFT=recolour), with
another object in its place (TEST_DRIFT=swap), as a generative model sometimes does, or from a
cut-out that lost the right half of the product (TEST_DRIFT=half), as a bad segmentation does. Its calls
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
from imaging.cutout import find_subject, product_cutout

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


def half_removed(source: Path, target: Path) -> Path:
    """The product's cut-out with the right half of its mask removed: a segmentation that lost half the product."""
    cutout = product_cutout(source)
    rgba = np.asarray(cutout).copy()
    rgba[:, rgba.shape[1] // 2 :, 3] = 0
    Image.fromarray(rgba).save(target)
    return target


def photo_layout(source: Path, size: tuple[int, int], target: Path, shift: float = 0.0) -> Path:
    """A still in the manner of the compositor's photo layouts: the photo cropped around its subject, with a plate.

    The crop is the subject box grown to the output ratio; `shift` slides the window right by that
    share of its width (what falls outside the photo is studio grey): 0 frames the subject, 0.6 is a
    wrong crop that leaves most of it out.
    """
    photo = Image.open(source).convert("RGB")
    x0, y0, x1, y1 = subject_box(source)
    aspect = size[0] / size[1]
    w = max(x1 - x0, (y1 - y0) * aspect) * 1.1
    h = w / aspect
    scale = min(1.0, photo.width / w, photo.height / h)  # never wider than the photo
    w, h = w * scale, h * scale
    left = min(max(0.0, (x0 + x1 - w) / 2), photo.width - w) + shift * w
    top = min(max(0.0, (y0 + y1 - h) / 2), photo.height - h)
    ground = Image.new("RGB", photo.size, (236, 234, 230))
    ground.paste(photo, (0, 0))
    padded = Image.new("RGB", (photo.width * 3, photo.height), (236, 234, 230))
    padded.paste(ground, (0, 0))
    crop = padded.crop((round(left), round(top), round(left + w), round(top + h))).resize(size)
    draw = ImageDraw.Draw(crop)
    draw.rounded_rectangle([size[0] * 0.06, size[1] * 0.8, size[0] * 0.7, size[1] * 0.9], radius=6,
                           fill=(20, 20, 30))
    draw.text((size[0] * 0.09, size[1] * 0.83), "Made to last", fill=(250, 250, 250))
    crop.save(target)
    return target


def subject_box(source: Path) -> tuple[int, int, int, int]:
    """What a photo layout keeps in the picture, in the photo's pixels: the subject's box (a long shot's with its setting)."""
    subject = find_subject(source)
    scale = Image.open(source).width / subject.size[0]  # the subject is found on the photo scaled to 1600 at most
    return tuple(round(side * scale) for side in subject.frame_box)  # type: ignore[return-value]


def drifted_request(request: SceneImageRequest) -> SceneImageRequest:
    folder = request.out_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    drift = os.environ.get("TEST_DRIFT", "recolour")
    if drift == "swap":
        return replace(request, product_images=(stand_in(folder / "stand-in.png"),))
    if drift == "half":
        return replace(request, product_images=(half_removed(request.product_images[0], folder / "half.png"),))
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


def product_photos(folder: Path) -> dict[str, Path]:
    """scikit-image's four real photographs, the drawn test bottle and a stand-in mug, saved as files."""
    from tests.factories import product_photo, save_real_photos

    paths = save_real_photos(folder)
    paths["bottle"] = folder / "bottle.png"
    paths["bottle"].write_bytes(product_photo((640, 480)))
    paths["mug"] = stand_in(folder / "mug.png")
    return paths
