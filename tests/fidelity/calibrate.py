"""Measure fidelity scores on faithful and unfaithful stills, per scorer and scene type: how thresholds are set.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python -m tests.fidelity.calibrate [--ratios 9:16,1:1,16:9]

Faithful stills: the compositor's, for every shot, of scikit-image's coffee, astronaut, chelsea and
rocket photos and the test bottle, from the photo (the compositor decides between a cut-out and a
photo layout) and as a job after product setup makes them (its neutral view first), and photo
layouts (the photo cropped to its subject). Unfaithful: the same shots from a cut-out with half the
product's mask removed, from the photo recoloured, from another product, and photo layouts cropped
wrong. Every still is scored against the uploaded photo alone. Prints each distribution and a JSON line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import django

django.setup()

# After django.setup: the compositor reads settings.
from adapters.base import SHOTS, BrandKit, Scene, SceneImageRequest  # noqa: E402
from adapters.local.image import Compositor  # noqa: E402
from fidelity.policy import scene_type  # noqa: E402
from fidelity.scorers import ModelStackScorer, _open_rgb  # noqa: E402
from imaging.cutout import product_view  # noqa: E402
from tests.fidelity_providers import half_removed, photo_layout, product_photos, recoloured  # noqa: E402

SWAP = {"coffee": "chelsea", "astronaut": "rocket", "chelsea": "coffee", "rocket": "astronaut", "bottle": "mug"}
SIZES = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (480, 270)}
HEADLINE = {"hero": "Made to last", "closeup": "Every detail", "lifestyle": "Take it anywhere",
            "feature": "Built for every day", "cta": "Get yours today", "testimonial": "Best buy this year, honestly"}


def still(images: tuple[Path, ...], shot: str, ratio: str, out: Path) -> Path:
    scene = Scene(1, shot, HEADLINE[shot], "Made for every day, and built to last for years.", 3.0, "zoom_in")
    request = SceneImageRequest(product_images=images, scene=scene, size=SIZES[ratio], brand=BrandKit(), seed=7,
                                out_path=out, call_to_action="Shop now")
    return Compositor().render_scene(request).path


def stills(folder: Path, paths: dict[str, Path], ratios: list[str]) -> list[tuple[str, str, str, Path, Path]]:
    """(kind, product, shot, uploaded photo, still) for every still measured."""
    made = []
    for name in ("coffee", "astronaut", "chelsea", "rocket", "bottle"):
        photo = paths[name]
        neutral = folder / f"{name}-neutral.png"
        product_view(photo).save(neutral)  # what product setup stores, and a job's stills are made from
        variants = {
            "faithful": (photo,),  # the compositor decides: a cut-out, or a photo layout
            "faithful_neutral": (neutral, photo),
            "half_removed": (half_removed(photo, folder / f"{name}-half.png"),),
            "recoloured": (recoloured(photo, folder / f"{name}-recoloured.png"),),
            "swapped": (paths[SWAP[name]],),
        }
        for ratio in ratios:
            for shot in SHOTS:
                for kind, images in variants.items():
                    out = folder / f"{name}-{kind}-{shot}-{ratio.replace(':', 'x')}.png"
                    made.append((kind, name, shot, photo, still(images, shot, ratio, out)))
            for kind, shift in (("photo_layout", 0.0), ("wrong_crop", 0.6)):
                out = folder / f"{name}-{kind}-{ratio.replace(':', 'x')}.png"
                made.append((kind, name, "hero", photo, photo_layout(photo, SIZES[ratio], out, shift)))
    return made


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"n={len(values):3d} min {ordered[0]:.3f} p10 {ordered[len(ordered) // 10]:.3f} "
            f"median {statistics.median(ordered):.3f} max {ordered[-1]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ratios", default="9:16,1:1,16:9")
    parser.add_argument("--keep", help="a folder to keep the stills in")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="fidelity-calibrate-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = product_photos(folder)
    made = stills(folder, paths, args.ratios.split(","))
    stack = ModelStackScorer()
    stack.embedding.model()  # loaded once, before the clock starts
    scores: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    rows, timings = [], defaultdict(list)
    for kind, name, shot, photo, path in made:
        started = time.perf_counter()
        frame = _open_rgb(path)
        found = stack.weight_free.search((photo,), frame)  # one match per view of the photo's product
        searched = time.perf_counter()
        candidates = [stack.parts(match, stack.embedding.similarity(match, frame)) for match in found]
        embedded = time.perf_counter()
        timings["weight_free"].append(searched - started)
        timings["efficientnet_lite0 (after the search)"].append(embedded - searched)
        parts = {"weight_free": max(c["weight_free"] for c in candidates),
                 "efficientnet_lite0": max(c["efficientnet_lite0"] for c in candidates),
                 "model_stack": max(c["model_stack"] for c in candidates)}
        group = "faithful" if kind.startswith("faithful") or kind == "photo_layout" else "unfaithful"
        for scorer, value in parts.items():
            scores[(scorer, scene_type(shot), group)].append(value)
            scores[(scorer, kind, "")].append(value)
        rows.append({"kind": kind, "product": name, "shot": shot, "still": path.name,
                     **{k: round(v, 4) for k, v in parts.items()}})
    for scorer in ("weight_free", "efficientnet_lite0", "model_stack"):
        print(f"== {scorer}")
        for kind in ("faithful", "faithful_neutral", "photo_layout", "half_removed", "recoloured", "swapped",
                     "wrong_crop"):
            print(f"   {kind:13s} {summary(scores[(scorer, kind, '')])}")
        for kind in ("product_only", "with_model", "mixed"):
            for group in ("faithful", "unfaithful"):
                print(f"   {kind:12s} {group:10s} {summary(scores[(scorer, kind, group)])}")
    for label, values in timings.items():
        print(f"time per still, {label}: median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")
    print(json.dumps(rows))
    print(f"stills in {folder}")


if __name__ == "__main__":
    main()
