"""The local image provider: the real product cut out of its photo and composed into designed ad layouts.

The cut-out lives in imaging.cutout, the drawing vocabulary in adapters.local.canvas and one layout
per shot type in adapters.local.layouts; this module checks a request and runs the layout.
"""
from __future__ import annotations

import cv2
import PIL

from adapters.base import SHOTS, AdapterError, ImageProvider, ImageResult, Readiness, SceneImageRequest
from adapters.local.canvas import Canvas, Composition, safe_area
from adapters.local.layouts import LAYOUTS, PHOTO_LAYOUTS
from imaging.color import make_palette
from imaging.cutout import cutout_of, dominant_colors, dominant_rgb, find_subject, product_cutout, segmenter
from imaging.type import BOLD_FONT, QUOTE_FONT, REGULAR_FONT, fit_text

__all__ = ["Compositor", "Composition", "compose_scene", "dominant_colors", "fit_text", "product_cutout", "safe_area"]


def compose_scene(request: SceneImageRequest) -> Composition:
    """Draw a scene and report where its parts went; render_scene saves what this returns."""
    if request.scene.shot not in LAYOUTS:
        raise AdapterError(f"unknown shot {request.scene.shot!r}; expected one of {', '.join(SHOTS)}", permanent=True)
    if min(request.size) < 64:
        raise AdapterError(f"image size {request.size} is too small to lay out", permanent=True)
    if not 0 <= request.product_emphasis <= 1:
        raise AdapterError(f"product_emphasis {request.product_emphasis} is outside 0..1", permanent=True)
    if not request.product_images:
        raise AdapterError("a scene needs at least one product image", permanent=True)
    # A product that stands free in its photo is cut out; one the frame cuts off, or that fills the
    # photo, is shown as the photo itself (see imaging.cutout.Subject.use_cutout).
    subject = find_subject(request.product_images[0])
    cutout = cutout_of(subject)
    product_colors = dominant_rgb(cutout, 4)
    canvas = Canvas(request, cutout, product_colors, make_palette(request.brand.colors, product_colors), subject=subject)
    (LAYOUTS if subject.use_cutout else PHOTO_LAYOUTS)[request.scene.shot](canvas)
    return canvas.result


class Compositor(ImageProvider):
    """Scene stills from the real product photo, laid out per shot type in the brand's colours."""

    name = "local.compositor"

    def check(self) -> Readiness:
        # Pillow and OpenCV are imported with this module: reaching here means they are installed.
        missing = [str(path) for path in (BOLD_FONT, REGULAR_FONT, QUOTE_FONT) if not path.is_file()]
        if missing:
            return Readiness(False, f"missing {', '.join(missing)} (apt-get install fonts-dejavu-core)")
        return Readiness(True, f"cut-out: {segmenter().describe()}; Pillow {PIL.__version__}, OpenCV {cv2.__version__}, "
                               "DejaVu fonts")

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        composition = compose_scene(request)
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        # zlib level 2: these stills are intermediates (the bundle re-encodes them, the video provider
        # animates them), so saving up to 0.1 s beats the quarter smaller file that level 6 would give.
        composition.image.save(request.out_path, "PNG", compress_level=2)
        return ImageResult(path=request.out_path, width=composition.image.width, height=composition.image.height,
                           seed=request.seed)
