"""Cut-out benchmark: the subject mask of scikit-image's four photographs by U²-Net small (u2netp, the
default), the full U²-Net (when `make models-full` has fetched it) and the GrabCut fallback.

    DJANGO_DEBUG=1 .venv/bin/python benchmarks/cutout.py

Prints one line per method: per photo, the best of three runs of imaging.cutout.segment (the model
and its post-processing; the onnxruntime session already loaded) as wall and CPU milliseconds, and
the decision (cut-out or photo layout). GrabCut is the baseline it is read against. CPU time is
the steadier figure on a shared machine; wall time is what a worker waits.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adfame.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
from django.conf import settings  # noqa: E402

from imaging import cutout  # noqa: E402

PHOTOS = ("coffee", "astronaut", "chelsea", "rocket")


def timed(rgb: np.ndarray) -> tuple[float, float]:
    """The best (wall, CPU) seconds of three segmentations."""
    runs = []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        cutout.segment(rgb)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def main() -> None:
    walls: dict[str, float] = {}
    # GrabCut (the fallback, and the only cut-out before U²-Net) runs first: it is the baseline.
    for choice in ("/nonexistent/grabcut.onnx", "u2netp", "u2net"):
        settings.ADFAME_CUTOUT_MODEL = choice
        chosen = cutout.segmenter()
        if choice == "u2net" and chosen.path is None:
            print("u2net     skipped: run make models-full")
            continue
        cells = []
        for name in PHOTOS:
            rgb = np.ascontiguousarray(getattr(skimage.data, name)())
            found = cutout.segment(rgb)  # loads the session once; later runs are what a worker pays per photo
            wall, cpu = timed(rgb)
            cells.append(f"{name} {wall * 1000:.0f}/{cpu * 1000:.0f} ms ({found.method})")
            walls[chosen.name] = walls.get(chosen.name, 0.0) + wall
        baseline = walls[next(iter(walls))]
        print(f"{chosen.name:9s} " + ", ".join(cells) + f"; wall_ratio_vs_grabcut={walls[chosen.name] / baseline:.2f}")


if __name__ == "__main__":
    main()
