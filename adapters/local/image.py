"""The local image provider: the real product cut out of its photo and composed into designed ad layouts.

No model weights anywhere. The cut-out is a flood fill from the borders for studio shots and
OpenCV's GrabCut for anything else; a scene is a Pillow layout in the brand's colours, one per shot
type, with every size derived from the output size so that 270x480 and 1080x1920 look alike.
"""
from __future__ import annotations

import colorsys
import functools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from adapters.base import SHOTS, AdapterError, ImageProvider, ImageResult, Readiness, SceneImageRequest

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
BOLD_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
REGULAR_FONT = FONT_DIR / "DejaVuSans.ttf"
QUOTE_FONT = FONT_DIR / "DejaVuSerif-Bold.ttf"  # its curly quote mark reads as a quote at badge size

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]  # signed distance to a shape's edge, < 0 inside

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)

CUTOUT_MAX_SIDE = 1600  # no layout draws the product larger, so bigger photos only cost time
GRABCUT_SIDE = 320  # GrabCut's run time grows with pixels: the first pass runs this small
GRABCUT_FINE_SIDE = 800  # the second pass settles only the outline, at this size


# ---- 1. Cut-out ------------------------------------------------------------------------------------


def product_cutout(image_path: Path) -> Image.Image:
    """The product cut out of its photo as RGBA, cropped to the product.

    A photo that already has real transparency keeps its alpha. A studio shot (a plain backdrop,
    even with a gentle gradient) is cut by a flood fill from the borders; anything else by GrabCut
    seeded with a centred rectangle. Unreadable files raise a permanent AdapterError.
    """
    return _cached_cutout(str(image_path), _mtime_ns(image_path)).copy()


def dominant_colors(image_path: Path, count: int = 3) -> list[str]:
    """Up to `count` "#RRGGBB" colours of the product (its backdrop left out), most dominant first."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return [_hex(color) for color in _dominant(_cached_cutout(str(image_path), _mtime_ns(image_path)), count)]


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise AdapterError(f"cannot read image {path}: {exc.strerror}", permanent=True) from None


def _open_rgba(path: Path) -> Image.Image:
    try:
        with Image.open(path) as raw:
            raw.load()
            upright = ImageOps.exif_transpose(raw)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AdapterError(f"cannot read image {path.name}: {exc}", permanent=True) from None
    return upright.convert("RGBA")


# The cut-out of one photo serves every scene and ratio a worker renders, so it is found once.
@functools.lru_cache(maxsize=8)
def _cached_cutout(path: str, mtime_ns: int) -> Image.Image:
    image = _open_rgba(Path(path))
    image.thumbnail((CUTOUT_MAX_SIDE, CUTOUT_MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = np.asarray(image.getchannel("A"))
    if not _has_real_transparency(alpha):
        rgb, mask = _product_mask(np.asarray(image.convert("RGB")))
        image = Image.fromarray(np.dstack([rgb, mask]), "RGBA")
    bbox = image.getchannel("A").point(lambda a: 255 if a > 12 else 0).getbbox()
    if bbox is None:
        raise AdapterError(f"image {Path(path).name} is fully transparent: there is no product to show", permanent=True)
    return image.crop(bbox)


def _has_real_transparency(alpha: np.ndarray) -> bool:
    # A PNG saved with an all-opaque alpha channel is an ordinary photo, not a cut-out.
    return float(np.mean(alpha < 128)) > 0.01


def _product_mask(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product's colours and alpha mask (uint8) in an opaque photo."""
    backdrop = _plain_backdrop(rgb)
    hard = _flood_from_borders(rgb, *backdrop) if backdrop else _grabcut(rgb)
    hard = _clean(hard)
    coverage = float(np.mean(hard > 0))
    if not 0.005 < coverage < 0.97:
        # Nothing separable: show the whole photo as a rounded card rather than a broken cut.
        return rgb, _rounded_card_mask(rgb.shape[1], rgb.shape[0])
    return _decontaminate(rgb, hard), _soft_edges(hard)


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
    radius = min(w, h) * 0.04
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    distance = _rounded_rect_distance((0, 0, w, h), radius)(xs, ys)
    return (np.clip(0.5 - distance, 0, 1) * 255).astype(np.uint8)


def _dominant(cutout: Image.Image, count: int) -> list[RGB]:
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


# ---- 2. Colour -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    primary: RGB  # the brand colour: backdrops of hero, lifestyle and the end card
    secondary: RGB  # shapes, discs and panels next to the primary
    accent: RGB  # small, loud things: bars, bullets, buttons, quote marks
    light: RGB  # a pale tint of primary: calm grounds for text and cards
    dark: RGB  # a deep shade of primary: text on light grounds


def _parse_hex(value: str) -> RGB:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise AdapterError(f"brand colour {value!r} is not of the form #RRGGBB", permanent=True)
    text = value.strip()[1:]
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _hex(color: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*color)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _hls(hue: float, lightness: float, saturation: float) -> RGB:
    red, green, blue = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def _luminance(color: RGB) -> float:
    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def _contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _chroma(color: RGB) -> float:
    return (max(color) - min(color)) / 255


def _palette(brand_colors: tuple[str, ...], product_colors: list[RGB]) -> Palette:
    if brand_colors:
        colors = [_parse_hex(value) for value in brand_colors]
        primary = colors[0]
        secondary = colors[1] if len(colors) > 1 else _mix(primary, WHITE, 0.55)
        accent = colors[2] if len(colors) > 2 else colors[1] if len(colors) > 1 else _mix(primary, BLACK, 0.45)
    else:
        primary, secondary, accent = _palette_from_product(product_colors)
    return Palette(primary, secondary, accent, light=_mix(primary, WHITE, 0.88), dark=_mix(primary, BLACK, 0.8))


def _palette_from_product(colors: list[RGB]) -> tuple[RGB, RGB, RGB]:
    """Tone-on-tone colours from the product's most colourful hue, or warm neutrals for a neutral product."""
    vivid = max(colors, key=_chroma) if colors else (128, 128, 128)
    if _chroma(vivid) < 0.15:
        return (0xD9, 0xD3, 0xC9), (0xF1, 0xED, 0xE6), (0x2F, 0x34, 0x38)
    hue, _, saturation = colorsys.rgb_to_hls(*(c / 255 for c in vivid))
    return (
        _hls(hue, 0.80, min(saturation, 0.45)),
        _hls(hue + 0.04, 0.90, min(saturation, 0.40)),
        _hls(hue, 0.36, min(max(saturation, 0.55), 0.85)),
    )


# ---- 3. Shapes and type ------------------------------------------------------------------------


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _circle_distance(cx: float, cy: float, radius: float) -> Distance:
    return lambda x, y: np.hypot(x - cx, y - cy) - radius


def _ellipse_distance(cx: float, cy: float, rx: float, ry: float) -> Distance:
    # Quilez's approximation: close to the true distance near the edge, so soft edges stay even all round.
    def distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        k0 = np.hypot((x - cx) / rx, (y - cy) / ry)
        k1 = np.hypot((x - cx) / rx**2, (y - cy) / ry**2)
        return k0 * (k0 - 1) / np.maximum(k1, 1e-6)

    return distance


def _ring_distance(cx: float, cy: float, radius: float, thickness: float) -> Distance:
    return lambda x, y: np.abs(np.hypot(x - cx, y - cy) - radius) - thickness / 2


def _rounded_rect_distance(box: tuple[float, float, float, float], radius: float, angle: float = 0.0) -> Distance:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half_w, half_h = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    radius = min(radius, half_w, half_h)
    cos, sin = math.cos(angle), math.sin(angle)

    def distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = x - cx, y - cy
        if angle:
            dx, dy = dx * cos + dy * sin, -dx * sin + dy * cos
        qx, qy = np.abs(dx) - half_w + radius, np.abs(dy) - half_h + radius
        outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
        return outside + np.minimum(np.maximum(qx, qy), 0) - radius

    return distance


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise AdapterError(f"cannot load font {path}: {exc}", permanent=True) from None


@dataclass(frozen=True)
class TextBlock:
    """Text wrapped and sized to fit a box."""

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    leading: int  # baseline to baseline
    width: int
    height: int  # from the first line's ascender to the last line's descender


def _block(lines: list[str], font: ImageFont.FreeTypeFont, leading: float) -> TextBlock:
    ascent, descent = font.getmetrics()
    step = round(font.size * leading)
    width = max((font.getlength(line) for line in lines), default=0)
    height = ascent + descent + step * (len(lines) - 1) if lines else 0
    return TextBlock(tuple(lines), font, step, math.ceil(width), height)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """Words, with hyphenated ones split after each hyphen; True marks a piece that joins the one before."""
    pieces: list[tuple[str, bool]] = []
    for word in text.split():
        parts = re.findall(r"[^-]+-*|-+", word)
        pieces.extend((part, index > 0) for index, part in enumerate(parts))
    return pieces


def _greedy_lines(pieces: list[tuple[str, bool]], font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for piece, joins in pieces:
        candidate = f"{current}{piece}" if joins else f"{current} {piece}" if current else piece
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = piece
        else:
            current = candidate
    return [*lines, current] if current else lines


def _split_long_piece(piece: str, joins: bool, font: ImageFont.FreeTypeFont, width: float) -> list[tuple[str, bool]]:
    """A piece wider than the line cut into chunks that fit: the last resort for very long words."""
    chunks: list[tuple[str, bool]] = []
    while font.getlength(piece) > width and len(piece) > 1:
        cut = next((n for n in range(len(piece) - 1, 0, -1) if font.getlength(piece[:n]) <= width), 1)
        chunks.append((piece[:cut], joins))
        piece, joins = piece[cut:], True
    return [*chunks, (piece, joins)]


def wrap_text(text: str, font: ImageFont.FreeTypeFont, width: float, *, break_words: bool = False) -> list[str]:
    """Lines no wider than `width`, balanced so the last line is not a lonely word.

    Words break only after their hyphens, unless `break_words` allows cutting a word too long for
    any line; without it such a word makes a line wider than `width`, which tells the caller to shrink.
    """
    pieces = _pieces(text)
    if break_words:
        pieces = [chunk for piece, joins in pieces for chunk in _split_long_piece(piece, joins, font, width)]
    lines = _greedy_lines(pieces, font, width)
    if len(lines) < 2:
        return lines
    # The narrowest width that still needs no more lines evens their lengths out.
    low, high = max(font.getlength(piece) for piece, _ in pieces), float(width)
    while high - low > 1:
        middle = (low + high) / 2
        if len(_greedy_lines(pieces, font, middle)) <= len(lines):
            high = middle
        else:
            low = middle
    return _greedy_lines(pieces, font, high)


def fit_text(
    text: str, font_path: str, width: int, height: int, *, max_px: int, min_px: int, max_lines: int, leading: float = 1.12
) -> TextBlock:
    """The largest size from max_px down to min_px at which `text` fits the box in max_lines.

    If it does not fit even at min_px, long words are cut, the lines that fit are kept and the last
    ends with an ellipsis: text is shortened, never drawn outside its box.
    """
    size = max(max_px, min_px)
    while True:
        font = _font(font_path, size)
        block = _block(wrap_text(text, font, width), font, leading)
        if len(block.lines) <= max_lines and block.height <= height and block.width <= width:
            return block
        if size <= min_px:
            break
        size = max(min_px, min(size - 1, int(size * 0.93)))
    lines = wrap_text(text, font, width, break_words=True)
    kept = 1
    while kept < min(len(lines), max_lines) and _block(lines[: kept + 1], font, leading).height <= height:
        kept += 1
    if kept == len(lines):
        return _block(lines, font, leading)
    last = " ".join(lines[kept - 1 :])
    while len(last) > 1 and font.getlength(last + "…") > width:
        last = last[:-1].rstrip()
    return _block([*lines[: kept - 1], last + "…"], font, leading)


# ---- 4. The canvas a scene is drawn on --------------------------------------------------------------


def safe_area(width: int, height: int, caption_band: float = 0.0) -> Box:
    """Where text may go. Tall (9:16) frames keep clear of the top 12% and bottom 20% that social apps
    cover with their own buttons and captions; other frames keep a 6% margin. A video's burnt-in
    captions reserve `caption_band` of the height at the bottom as well."""
    top, bottom = (0.12, 0.20) if height / width >= 1.6 else (0.06, 0.06)
    bottom = max(bottom, caption_band)
    return round(width * 0.06), round(height * top), width - round(width * 0.06), height - round(height * bottom)


def _orientation(width: int, height: int) -> str:
    if height / width >= 1.25:
        return "portrait"
    if width / height >= 1.25:
        return "landscape"
    return "square"


@dataclass(frozen=True)
class Placement:
    """Where a product cut-out goes: its drawn size and top-left corner (which may be off the canvas)."""

    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> Box:
        return self.x, self.y, self.x + self.width, self.y + self.height

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass
class Composition:
    """A scene as drawn, with where its parts landed, so callers and tests can check the layout."""

    image: Image.Image
    safe_area: Box
    text_boxes: dict[str, Box] = field(default_factory=dict)  # the ink bounds of each text, by role
    product_box: Box = (0, 0, 0, 0)  # where the product was drawn; a close-up's runs off the canvas
    logo_box: Box | None = None


class _Canvas:
    """One scene being drawn: the image, its frame and palette, and the drawing vocabulary layouts share."""

    def __init__(
        self, request: SceneImageRequest, cutout: Image.Image, product_colors: list[RGB], palette: Palette
    ) -> None:
        self.request = request
        self.width, self.height = request.size
        self.unit = min(self.width, self.height) / 100  # every length in a layout is a multiple of this
        self.orientation = _orientation(self.width, self.height)
        self.emphasis = request.product_emphasis
        self.cutout = cutout
        self.product_color = product_colors[0] if product_colors else palette.secondary
        self.palette = palette
        self.rng = random.Random(request.seed)
        brand_font = request.brand.font_path
        self.bold_font = str(brand_font or BOLD_FONT)
        self.body_font = str(brand_font or REGULAR_FONT)
        self.quote_font = str(brand_font or QUOTE_FONT)
        self.image = Image.new("RGB", request.size, palette.light)
        self.draw = ImageDraw.Draw(self.image)
        self.result = Composition(self.image, safe_area(self.width, self.height, request.caption_band))
        # Text starts below the logo, which sits small in the safe area's top-left corner.
        x0, y0, x1, y1 = self.result.safe_area
        self.logo_strip = (x0, y0, x0 + round(self.unit * 24), y0 + round(self.unit * 6))
        text_top = self.logo_strip[3] + round(self.unit * 2.5) if request.brand.logo_path else y0
        self.content = (x0, text_top, x1, y1)

    # Grounds and shapes

    def backdrop(self, top: RGB, bottom: RGB, *, glow_at: tuple[float, float] | None = None,
                 glow: RGB = WHITE, glow_radius: float = 0.0, glow_strength: float = 0.55) -> None:
        """A vertical gradient with an optional soft glow, drawn at a quarter size: it has no detail to lose."""
        w, h = max(2, self.width // 4), max(2, self.height // 4)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        ground = np.broadcast_to(np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t, (h, w, 3)).copy()
        if glow_at is not None and glow_radius > 0:
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            reach = np.hypot(xs - glow_at[0] / 4, ys - glow_at[1] / 4) / (glow_radius / 4)
            weight = (np.clip(1 - reach, 0, 1) ** 2 * glow_strength)[..., None]
            ground = ground * (1 - weight) + np.array(glow, np.float32) * weight
        self.image.paste(Image.fromarray(ground.astype(np.uint8)).resize(self.image.size, Image.Resampling.BICUBIC))

    def shape(self, color: RGB, bounds: tuple[float, float, float, float], distance: Distance, *,
              opacity: float = 1.0, softness: float = 1.0) -> None:
        """Fill a shape given by its signed distance, anti-aliased (softness 1) or blurred (softness > 1)."""
        pad = softness
        x0, y0 = max(0, math.floor(bounds[0] - pad)), max(0, math.floor(bounds[1] - pad))
        x1, y1 = min(self.width, math.ceil(bounds[2] + pad)), min(self.height, math.ceil(bounds[3] + pad))
        if x1 <= x0 or y1 <= y0:
            return
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        coverage = np.clip(0.5 - distance(xs, ys) / softness, 0, 1)
        if softness > 1:
            coverage = coverage * coverage * (3 - 2 * coverage)
        mask = Image.fromarray((coverage * (255 * opacity) + 0.5).astype(np.uint8))
        self.image.paste(color, (x0, y0), mask)

    def rounded_rect(self, color: RGB, box: tuple[float, float, float, float], radius: float, **style: float) -> None:
        self.shape(color, box, _rounded_rect_distance(box, radius), **style)

    def disc(self, color: RGB, cx: float, cy: float, radius: float, **style: float) -> None:
        self.shape(color, (cx - radius, cy - radius, cx + radius, cy + radius), _circle_distance(cx, cy, radius), **style)

    def soft_shadow(self, box: tuple[float, float, float, float], radius: float, *, opacity: float = 0.22) -> None:
        """The shadow a card or button casts on the ground below it."""
        drop = self.unit * 1.2
        lowered = (box[0], box[1] + drop, box[2], box[3] + drop)
        self.shape(BLACK, lowered, _rounded_rect_distance(lowered, radius), opacity=opacity, softness=self.unit * 3)

    def mean_color(self, box: Box) -> RGB:
        x0, y0, x1, y1 = (max(0, box[0]), max(0, box[1]), min(self.width, box[2]), min(self.height, box[3]))
        if x1 <= x0 or y1 <= y0:
            return self.palette.light
        region = self.image.crop((x0, y0, x1, y1))
        if min(region.size) >= 8:
            region = region.reduce(4)  # an average needs no more than every fourth pixel
        return tuple(int(v) for v in np.asarray(region).reshape(-1, 3).mean(axis=0))  # type: ignore[return-value]

    def ink_for(self, ground: RGB, *, large: bool = False) -> RGB:
        """Whichever of white and the palette's deep shade reads better on `ground`.

        Large type takes white whenever it passes WCAG's 3:1 for large text: white headlines on
        mid-tone brand colours are what designers reach for.
        """
        dark = self.palette.dark if _contrast(self.palette.dark, WHITE) >= 7 else (20, 20, 24)
        if large and _contrast(WHITE, ground) >= 3:
            return WHITE
        return WHITE if _contrast(WHITE, ground) >= _contrast(dark, ground) else dark

    # The product

    def fit_product(self, box: Box, *, fill: float = 1.0, rest: float = 0.6) -> Placement:
        """The largest placement of the cut-out inside `box` (times `fill`), centred across.

        `rest` places it in the height left over: 0 at the top, 1 standing on the bottom; the
        default, a little below the middle, is where a wide product looks settled in a tall box.
        """
        cw, ch = self.cutout.size
        scale = min((box[2] - box[0]) / cw, (box[3] - box[1]) / ch) * fill
        width, height = max(1, round(cw * scale)), max(1, round(ch * scale))
        x = box[0] + (box[2] - box[0] - width) // 2
        y = box[1] + round((box[3] - box[1] - height) * rest)
        return Placement(x, y, width, height)

    def product(self, placement: Placement, *, grounded: bool = True, shadow: float = 0.3) -> None:
        """Draw the cut-out with a drop shadow and, when it stands on something, a contact shadow."""
        cw, ch = self.cutout.size
        # Only the part on the canvas is resized: a close-up may blow the product up far past the frame.
        x0, y0 = max(0, placement.x), max(0, placement.y)
        x1, y1 = min(self.width, placement.x + placement.width), min(self.height, placement.y + placement.height)
        if x1 <= x0 or y1 <= y0:
            return
        sx, sy = cw / placement.width, ch / placement.height
        source = ((x0 - placement.x) * sx, (y0 - placement.y) * sy, (x1 - placement.x) * sx, (y1 - placement.y) * sy)
        picture = self.cutout.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS, box=source)
        if grounded:
            self._contact_shadow(placement)
        if shadow > 0:
            self._drop_shadow(picture.getchannel("A"), (x0, y0), shadow)
        self.image.paste(picture, (x0, y0), picture)
        self.result.product_box = placement.box

    def _contact_shadow(self, placement: Placement) -> None:
        """A flat dark ellipse under the product's base: it stands on the ground instead of floating."""
        rx, ry = placement.width * 0.46, max(self.unit * 0.8, placement.width * 0.05)
        blur = self.unit * 1.2
        pad = math.ceil(blur * 3)
        spot = Image.new("L", (math.ceil(2 * rx) + 2 * pad, math.ceil(2 * ry) + 2 * pad))
        ImageDraw.Draw(spot).ellipse((pad, pad, pad + 2 * rx, pad + 2 * ry), fill=round(255 * 0.45))
        spot = spot.filter(ImageFilter.GaussianBlur(blur))
        base_y = placement.y + placement.height
        self.image.paste(BLACK, (round(placement.center[0] - rx) - pad, round(base_y - ry) - pad), spot)

    def _drop_shadow(self, alpha: Image.Image, origin: tuple[int, int], opacity: float) -> None:
        # Blurred at a quarter size: a soft shadow has no detail, and a full-size blur is the slowest step.
        blur = self.unit * 2.2
        pad = math.ceil(blur * 2)
        grown = Image.new("L", (alpha.width + 2 * pad, alpha.height + 2 * pad))
        grown.paste(alpha, (pad, pad))
        small = grown.resize((max(1, grown.width // 4), max(1, grown.height // 4)), Image.Resampling.BILINEAR)
        soft = small.filter(ImageFilter.GaussianBlur(blur / 4)).resize(grown.size, Image.Resampling.BILINEAR)
        soft = soft.point(lambda a: round(a * opacity))
        offset = (round(self.unit * 0.8), round(self.unit * 1.6))
        self.image.paste(BLACK, (origin[0] - pad + offset[0], origin[1] - pad + offset[1]), soft)

    # Text

    def fit(self, text: str, box_width: float, box_height: float, *, bold: bool = True, max_px: float,
            min_px: float | None = None, max_lines: int = 3, leading: float = 1.12) -> TextBlock:
        floor = min_px if min_px is not None else max(7.0, self.unit * 2.2)
        return fit_text(text, self.bold_font if bold else self.body_font, max(1, int(box_width)), max(1, int(box_height)),
                        max_px=max(1, round(max_px)), min_px=max(1, round(min(floor, max_px))), max_lines=max_lines,
                        leading=leading)

    def text(self, role: str, block: TextBlock, box: Box, *, align: str = "left", valign: str = "top",
             color: RGB | None = None) -> Box:
        """Draw a fitted block inside `box`; returns and records the ink's bounds."""
        x0, y0, x1, y1 = box
        top = {"top": y0, "center": y0 + (y1 - y0 - block.height) // 2, "bottom": y1 - block.height}[valign]
        x, anchor = {"left": (x0, "ls"), "center": ((x0 + x1) / 2, "ms"), "right": (x1, "rs")}[align]
        if color is None:
            span = {"left": (x0, x0 + block.width), "center": ((x0 + x1 - block.width) // 2, (x0 + x1 + block.width) // 2),
                    "right": (x1 - block.width, x1)}[align]
            ground = self.mean_color((int(span[0]), top, int(span[1]), top + block.height))
            color = self.ink_for(ground, large=block.font.size >= self.unit * 5)
        ascent = block.font.getmetrics()[0]
        ink: list[tuple[float, float, float, float]] = []
        for index, line in enumerate(block.lines):
            baseline = top + ascent + index * block.leading
            # Some glyphs overhang their advance (a bold "Y", a "j"): nudge the line so its ink stays in the box.
            left, _, right, _ = block.font.getbbox(line, anchor=anchor)
            nudge = max(0.0, x0 - (x + left)) - max(0.0, x + right - x1)
            self.draw.text((x + nudge, baseline), line, font=block.font, fill=color, anchor=anchor)
            ink.append(self.draw.textbbox((x + nudge, baseline), line, font=block.font, anchor=anchor))
        if not ink:  # an empty text draws nothing and takes no room
            return x0, top, x0, top
        lefts, tops, rights, bottoms = zip(*ink)
        bounds = (round(min(lefts)), round(min(tops)), round(max(rights)), round(max(bottoms)))
        self.result.text_boxes[role] = bounds
        return bounds

    def pill(self, role: str, label: str, *, x: float, top: float, height: float, max_width: float,
             fill: RGB, align: str = "center") -> Box:
        """A button: the label in a fully rounded shape, with a soft shadow. `x` is its centre or left edge."""
        pad = height * 0.62
        block = self.fit(label, max_width - 2 * pad, height * 0.6, max_px=height * 0.4,
                         min_px=min(height * 0.3, self.unit * 2.2), max_lines=1)
        width = block.width + 2 * pad
        left = x - width / 2 if align == "center" else x
        shape = (left, top, left + width, top + height)
        self.soft_shadow(shape, height / 2, opacity=0.25)
        self.rounded_rect(fill, shape, height / 2)
        box = (round(left), round(top), round(left + width), round(top + height))
        self.text(role, block, box, align="center", valign="center", color=self.ink_for(fill, large=True))
        return box

    def accent_bar(self, x: float, y: float) -> None:
        """A short thick rule in the accent colour that marks where the eye should start reading."""
        height = max(2.0, self.unit * 0.8)
        self.rounded_rect(self.palette.accent, (x, y, x + self.unit * 9, y + height), height / 2)

    def logo(self, box: Box | None = None, *, align: str = "left") -> None:
        """The brand's logo, contained in `box` (the top-left corner strip by default)."""
        path = self.request.brand.logo_path
        if path is None:
            return
        mark = _cached_logo(str(path), _mtime_ns(path)).copy()
        x0, y0, x1, y1 = box or self.logo_strip
        mark.thumbnail((max(1, x1 - x0), max(1, y1 - y0)), Image.Resampling.LANCZOS)
        left = x0 if align == "left" else (x0 + x1 - mark.width) // 2
        top = y0 + (y1 - y0 - mark.height) // 2
        placed = (left, top, left + mark.width, top + mark.height)
        ground = self.mean_color(placed)
        opaque = np.asarray(mark)[..., 3] > 128
        ink = tuple(int(v) for v in np.asarray(mark)[..., :3][opaque].mean(axis=0)) if opaque.any() else ground
        if _contrast(ink, ground) < 1.8:  # a dark logo on a dark ground (or light on light) gets a plate
            pad = self.unit * 1.2
            plate = (left - pad, top - pad, left + mark.width + pad, top + mark.height + pad)
            self.rounded_rect(self.ink_for(ink), plate, pad)
        self.image.paste(mark, (left, top), mark)
        self.result.logo_box = placed


@functools.lru_cache(maxsize=8)
def _cached_logo(path: str, mtime_ns: int) -> Image.Image:
    logo = _open_rgba(Path(path))
    bbox = logo.getchannel("A").getbbox()
    return logo.crop(bbox) if bbox else logo


def _detail_center(cutout: Image.Image) -> tuple[float, float]:
    """The busiest spot on the product (a label, stitching, a logo), as fractions of its size.

    A close-up that frames where the detail is reads as a detail shot; the centre often is just glass.
    """
    small = cutout.copy()
    small.thumbnail((160, 160))
    pixels = np.asarray(small).astype(np.float32)
    gray = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = pixels[..., 3] / 255
    energy = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    # Only detail well inside the silhouette counts: its outline is contrast too, but not detail.
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8))
    h, w = gray.shape
    window = max(3, round(min(h, w) * 0.35)) | 1
    density = cv2.blur(energy * inside, (window, window))
    ys, xs = np.mgrid[0:h, 0:w]
    centred = np.exp(-(((xs - w / 2) / w) ** 2 + ((ys - h / 2) / h) ** 2) * 4)  # ties go to the middle
    y, x = np.unravel_index(np.argmax(density * centred), density.shape)
    return (x + 0.5) / w, (y + 0.5) / h


# ---- 5. Layouts, one per shot type ------------------------------------------------------------------


def _hero(c: _Canvas) -> None:
    """The product large and centred in front of a brand-colour disc, the headline above it."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    share = _lerp(0.24, 0.16, e) if c.orientation == "square" else _lerp(0.22, 0.145, e)
    head_width = (x1 - x0) * (0.72 if c.orientation == "landscape" else 1.0)
    block = c.fit(c.request.scene.headline, head_width, (y1 - y0) * share, max_px=u * _lerp(11, 8.5, e))
    head_box = (round((x0 + x1 - head_width) / 2), y0, round((x0 + x1 + head_width) / 2), y0 + block.height)
    bar_top = head_box[3] + u * 2.2
    product_top = round(bar_top + u * 5)
    placement = c.fit_product((x0, product_top, x1, y1), fill=_lerp(0.86, 1.0, e))
    cx, cy = placement.center
    c.backdrop(_mix(p.primary, WHITE, 0.18), _mix(p.primary, BLACK, 0.3), glow_at=(cx, cy),
               glow=_mix(p.primary, WHITE, 0.65), glow_radius=max(placement.width, placement.height) * 0.95)
    disc_y = placement.y + placement.height * 0.45
    # As large as the product, but clear of the headline: type across two grounds reads badly on both.
    radius = min(max(placement.width, placement.height) * 0.42, (x1 - x0) * 0.5, disc_y - bar_top - u * 3)
    c.disc(p.secondary, cx, disc_y, radius)
    c.product(placement)
    c.text("headline", block, head_box, align="center")
    c.accent_bar((x0 + x1) / 2 - u * 4.5, bar_top)
    c.logo()


def _closeup(c: _Canvas) -> None:
    """The product's busiest detail blown up to fill the frame, viewfinder corners and a small caption."""
    p, u, e = c.palette, c.unit, c.emphasis
    c.backdrop(p.light, _mix(p.light, p.primary, 0.45))
    fx, fy = _detail_center(c.cutout)
    cw, ch = c.cutout.size
    # The product at 1.4 to 1.8 times the size that would just fit: close enough to crop it, far enough
    # to recognise it; more emphasis shows more of it. Past 3x the photo's own pixels it would only blur.
    # A slim product in a wide frame (or a flat one in a tall frame) still fills more than half of it.
    zoom = _lerp(1.8, 1.4, e)
    scale = min(max(zoom * min(c.width / cw, c.height / ch), 0.55 * max(c.width / cw, c.height / ch)), 3.0)
    width, height = round(cw * scale), round(ch * scale)
    # Keep the detail centred, but never let the product slide so far that a gap opens beside it needlessly.
    x = round(min(max(c.width / 2 - fx * width, c.width - width), 0) if width >= c.width else (c.width - width) / 2)
    y = round(min(max(c.height / 2 - fy * height, c.height - height), 0) if height >= c.height else (c.height - height) / 2)
    c.product(Placement(x, y, width, height), grounded=False, shadow=0.35)
    _viewfinder(c)
    x0, y0, x1, y1 = c.content
    pad_x, pad_y, stripe = u * 2.6, u * 1.8, u * 1.4
    # Beside a slim product the caption takes the wider empty side; over a wide one it sits bottom left.
    free_left, free_right = x - x0 - u * 3, x1 - (x + width) - u * 3
    beside = max(free_left, free_right) >= u * 26
    room = max(free_left, free_right) if beside else (x1 - x0) * _lerp(0.7, 0.55, e)
    block = c.fit(c.request.scene.headline, room - 2 * pad_x - stripe, (y1 - y0) * 0.2,
                  max_px=u * _lerp(5.2, 4.0, e), max_lines=2)
    plate_w = block.width + 2 * pad_x + stripe
    left = x1 - plate_w if beside and free_right > free_left else x0
    plate = (left, y1 - block.height - 2 * pad_y, left + plate_w, y1)
    c.soft_shadow(plate, u * 1.6)
    c.rounded_rect(p.dark, plate, u * 1.6, opacity=0.88)
    c.rounded_rect(p.accent, (plate[0], plate[1], plate[0] + u * 1.0, plate[3]), u * 0.5)
    text_box = (round(plate[0] + pad_x + stripe), round(plate[1] + pad_y), round(plate[2] - pad_x), round(plate[3] - pad_y))
    c.text("caption", block, text_box, color=WHITE)
    c.logo()


def _viewfinder(c: _Canvas) -> None:
    """Four thin corner brackets, as in a camera's viewfinder: this frame is a close look."""
    u = c.unit
    inset, arm, weight = u * 4, u * 7, max(1.5, u * 0.45)
    color = c.ink_for(c.mean_color((0, 0, round(u * 12), round(u * 12))))
    for cx, sx in ((inset, 1), (c.width - inset, -1)):
        for cy, sy in ((inset, 1), (c.height - inset, -1)):
            for w, h in ((arm, weight), (weight, arm)):
                box = (min(cx, cx + sx * w), min(cy, cy + sy * h), max(cx, cx + sx * w), max(cy, cy + sy * h))
                c.rounded_rect(color, box, weight / 2, opacity=0.85)


def _lifestyle(c: _Canvas) -> None:
    """A colour-field scene: the product off-centre on a plinth among brand-colour shapes, headline opposite."""
    p, u, e, rng = c.palette, c.unit, c.emphasis, c.rng
    x0, y0, x1, y1 = c.content
    product_right = rng.random() < 0.5
    side = 1 if product_right else -1
    if c.orientation == "landscape":
        column = (x0, y0, round(c.width * 0.46), y1) if product_right else (round(c.width * 0.54), y0, x1, y1)
        block = c.fit(c.request.scene.headline, column[2] - column[0], (y1 - y0) * 0.6,
                      max_px=u * _lerp(10, 8, e), max_lines=4)
        head_box = column
        center_x = c.width * (0.72 if product_right else 0.28)
        area_top, plinth_y = y0, y1 - u * 9
        product_width = c.width * _lerp(0.38, 0.44, e)
    else:
        share = _lerp(0.3, 0.22, e) if c.orientation == "portrait" else _lerp(0.3, 0.24, e)
        width = (x1 - x0) * 0.86
        block = c.fit(c.request.scene.headline, width, (y1 - y0) * share, max_px=u * _lerp(11, 8.5, e), max_lines=3)
        head_left = x0 if product_right else round(x1 - width)
        head_box = (head_left, y0, round(head_left + width), y0 + block.height)
        center_x = c.width * (0.6 if product_right else 0.4)
        area_top = head_box[3] + u * 6
        plinth_y = y1 - u * (4 if c.orientation == "portrait" else 8)
        product_width = c.width * _lerp(0.7, 0.8, e)
    box = (round(center_x - product_width / 2), round(area_top), round(center_x + product_width / 2), round(plinth_y))
    placement = c.fit_product(box, fill=_lerp(0.9, 1.0, e))
    # A wide product would run off the frame from an off-centre spot: slide it back inside the margins.
    left = min(max(placement.x, x0), x1 - placement.width)
    placement = Placement(left, placement.y, placement.width, placement.height)
    plinth_rx = max(u * 18, min(placement.width * 0.62, placement.width / 2 + u * 6))
    plinth_ry = plinth_rx * 0.2

    # Ground: the brand colour, a horizon curving under the plinth, and seeded shapes behind the product.
    c.backdrop(_mix(p.primary, WHITE, 0.06), _mix(p.primary, p.secondary, 0.25))
    horizon = plinth_y - plinth_ry * rng.uniform(1.5, 3.5)
    floor_r = c.width * 3
    c.shape(_mix(p.primary, BLACK, 0.1), (0, horizon, c.width, c.height),
            _ellipse_distance(c.width / 2, horizon + floor_r * 0.35, floor_r, floor_r * 0.35))
    cx, cy = placement.center
    disc_r = max(placement.width, placement.height) * rng.uniform(0.46, 0.58)
    disc_x, disc_y = cx + side * disc_r * rng.uniform(0.05, 0.3), cy - placement.height * rng.uniform(0.05, 0.2)
    # Keep the disc, and the ring on its rim, off the headline's ground.
    if c.orientation == "landscape":
        clearance = disc_x - head_box[2] if product_right else head_box[0] - disc_x
    else:
        clearance = disc_y - head_box[3]
    disc_r = max(u * 8, min(disc_r, (clearance - u * 3) / 1.3))
    c.disc(p.secondary, disc_x, disc_y, disc_r)
    angle = rng.uniform(-0.9, -0.3) if product_right else rng.uniform(math.pi + 0.3, math.pi + 0.9)
    ring_r = disc_r * rng.uniform(0.22, 0.32)
    ring_x, ring_y = disc_x + math.cos(angle) * disc_r * 1.02, disc_y + math.sin(angle) * disc_r * 1.02
    c.shape(p.accent, (ring_x - ring_r * 1.2, ring_y - ring_r * 1.2, ring_x + ring_r * 1.2, ring_y + ring_r * 1.2),
            _ring_distance(ring_x, ring_y, ring_r, max(2.0, u * 0.9)))
    capsule_len, capsule_w = u * rng.uniform(18, 26), u * rng.uniform(4.5, 6.5)
    cap_x = cx + side * (plinth_rx + capsule_len * 0.2)
    cap_y = plinth_y - plinth_ry - capsule_len * rng.uniform(0.1, 0.4)
    capsule = (cap_x - capsule_len / 2, cap_y - capsule_w / 2, cap_x + capsule_len / 2, cap_y + capsule_w / 2)
    tilt = rng.uniform(0.5, 1.1) * side
    reach = capsule_len / 2 + capsule_w
    c.shape(_mix(p.accent, WHITE, 0.25), (cap_x - reach, cap_y - reach, cap_x + reach, cap_y + reach),
            _rounded_rect_distance(capsule, capsule_w / 2, tilt), opacity=0.9)

    # The plinth: a short cylinder, lit from above, that the product stands on.
    body_h = u * (7 if c.orientation == "landscape" else 9)
    top_color, body_color = _mix(p.light, WHITE, 0.4), _mix(p.light, p.primary, 0.35)
    c.rounded_rect(body_color, (cx - plinth_rx, plinth_y, cx + plinth_rx, plinth_y + body_h + plinth_ry), plinth_ry * 0.9)
    c.shape(body_color, (cx - plinth_rx, plinth_y + body_h - plinth_ry, cx + plinth_rx, plinth_y + body_h + plinth_ry),
            _ellipse_distance(cx, plinth_y + body_h, plinth_rx, plinth_ry))
    c.shape(top_color, (cx - plinth_rx, plinth_y - plinth_ry, cx + plinth_rx, plinth_y + plinth_ry),
            _ellipse_distance(cx, plinth_y, plinth_rx, plinth_ry))
    standing_y = round(plinth_y - placement.height + plinth_ry * 0.25)
    c.product(Placement(placement.x, standing_y, placement.width, placement.height))
    # A few dots on the floor on the far side of the plinth, where there is floor to spare.
    grid_w = u * 2.4 * 3
    dots_x = cx - side * (plinth_rx + u * 5) - (grid_w if product_right else 0)
    if u * 4 <= dots_x <= c.width - u * 4 - grid_w:
        _dots(c, dots_x, plinth_y + body_h * rng.uniform(0.2, 0.6))

    align = "left" if product_right else "right"
    if c.orientation == "landscape":
        bar_x = head_box[0] if product_right else head_box[2] - u * 9
        c.accent_bar(bar_x, (head_box[1] + head_box[3] - block.height) / 2 - u * 4.5)
        c.text("headline", block, head_box, align=align, valign="center")
    else:
        c.text("headline", block, head_box, align=align)
    c.logo()


def _dots(c: _Canvas, x: float, y: float) -> None:
    """A small grid of dots, the kind of texture a designer sprinkles into an empty corner."""
    u = c.unit
    step, radius = u * 2.4, max(1.0, u * 0.45)  # four columns, three rows
    color = c.ink_for(c.mean_color((round(x), round(y), round(x + step * 4), round(y + step * 3))))
    for row in range(3):
        for column in range(4):
            c.disc(color, x + column * step, y + row * step, radius, opacity=0.55)


def _feature_line(narration: str) -> str:
    """The narration's first sentence: a feature call-out, not a paragraph."""
    return re.split(r"(?<=[.!?])\s+", narration.strip(), maxsplit=1)[0]


def _feature(c: _Canvas) -> None:
    """A call-out: the product on a colour panel to one side; an accent bar, headline and feature line the other."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    # The product is no text: it may use the panel up to a slim margin, app overlays or not.
    margin = round(u * 5)
    if c.orientation == "portrait":
        split = round(c.height * _lerp(0.5, 0.56, e))
        # Keep a fifth of the frame for the text column when captions take the bottom away.
        split = max(round(c.height * 0.3), min(split, y1 - round(c.height * 0.2)))
        panel = (0, 0, c.width, split)
        product_top = y0 if c.request.brand.logo_path else max(margin, y0 - round(c.height * 0.06))
        product_box = (margin, product_top, c.width - margin, split - margin)
        column = (x0, split + round(u * 6), x1, y1)
    else:
        split = round(c.width * _lerp(0.5, 0.58, e))
        panel = (0, 0, split, c.height)
        product_box = (margin, y0, split - margin, y1)
        column = (split + round(u * 6), y0, x1, y1)
    c.backdrop(_mix(p.light, WHITE, 0.5), p.light)
    placement = c.fit_product(product_box, fill=_lerp(0.88, 1.0, e))
    cx, cy = placement.center
    c.image.paste(p.primary, panel)
    radius = max(placement.width, placement.height) * 0.5
    c.disc(_mix(p.primary, WHITE, 0.35), cx, cy, radius * 0.7, softness=radius * 0.6, opacity=0.8)
    c.product(placement)

    feature = _feature_line(c.request.scene.narration)
    width, height = column[2] - column[0], column[3] - column[1]
    bar_space = u * 5
    block = c.fit(c.request.scene.headline, width, (height - bar_space) * (0.6 if feature else 1.0),
                  max_px=u * _lerp(9.5, 8, e), max_lines=4)
    bullet_r = u * 1.1
    indent = bullet_r * 2 + u * 2.2
    detail = c.fit(feature, width - indent, (height - bar_space - block.height - u * 4), bold=False,
                   max_px=u * 4.6, min_px=u * 2.4, max_lines=3, leading=1.3) if feature else None
    total = bar_space + block.height + ((u * 4 + detail.height) if detail else 0)
    top = column[1] + (height - total) / 2 if c.orientation != "portrait" else column[1]
    c.accent_bar(column[0], top)
    head_top = round(top + bar_space)
    c.text("headline", block, (column[0], head_top, column[2], head_top + block.height))
    if detail:
        detail_top = round(head_top + block.height + u * 4)
        first_line_mid = detail_top + detail.font.getmetrics()[0] * 0.62
        c.disc(p.accent, column[0] + bullet_r, first_line_mid, bullet_r)
        c.text("feature", detail, (round(column[0] + indent), detail_top, column[2], detail_top + detail.height))
    c.logo()


def _cta(c: _Canvas) -> None:
    """The end card: the product, the headline, the call to action in a button, the logo if there is one."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.result.safe_area
    label = c.request.call_to_action.strip()
    # The end card is the boldest frame: a deep ground, the first of these that the product stands out on.
    grounds = [p.primary] if _luminance(p.primary) < 0.35 else []
    grounds += [_mix(p.accent, BLACK, 0.1), p.dark]
    ground_top = next((g for g in grounds if math.dist(g, c.product_color) >= 90), grounds[-1])
    ground_bottom = _mix(ground_top, BLACK, 0.35)
    button = p.accent if _contrast(p.accent, ground_bottom) >= 2.2 else c.ink_for(ground_bottom)
    has_logo = c.request.brand.logo_path is not None
    pill_h = u * (9 if c.orientation == "portrait" else 8)
    if c.orientation == "landscape":
        product_box = (x0, y0, round(c.width * 0.5), y1)
        column = (round(c.width * 0.55), y0, x1, y1)
        width = column[2] - column[0]
        logo_h = u * 8 if has_logo else 0
        block = c.fit(c.request.scene.headline, width, (y1 - y0) * 0.45, max_px=u * _lerp(9.5, 8, e), max_lines=3)
        total = (logo_h + u * 5 if has_logo else 0) + block.height + (u * 5 + pill_h if label else 0)
        top = y0 + (y1 - y0 - total) / 2
        placement = c.fit_product(product_box, fill=_lerp(0.88, 1.0, e), rest=0.5)
        c.backdrop(ground_top, ground_bottom, glow_at=placement.center, glow=_mix(ground_top, p.primary, 0.6),
                   glow_radius=max(placement.width, placement.height) * 0.9)
        c.product(placement)
        if has_logo:
            c.logo((column[0], round(top), column[0] + round(u * 30), round(top + logo_h)))
            top += logo_h + u * 5
        head = c.text("headline", block, (column[0], round(top), column[2], round(top + block.height)))
        if label:
            c.pill("cta", label, x=column[0], top=head[3] + u * 5, height=pill_h, max_width=width, fill=button,
                   align="left")
        return
    logo_h = u * (8 if c.orientation == "portrait" else 7) if has_logo else 0
    block = c.fit(c.request.scene.headline, x1 - x0, (y1 - y0) * _lerp(0.2, 0.14, e), max_px=u * _lerp(9.5, 8, e),
                  max_lines=3)
    below = block.height + (u * 4.5 + pill_h if label else 0)
    product_top = y0 + (logo_h + u * 4 if has_logo else 0)
    product_bottom = y1 - below - u * 6
    placement = c.fit_product((x0, round(product_top), x1, round(product_bottom)), fill=_lerp(0.88, 1.0, e), rest=0.8)
    c.backdrop(ground_top, ground_bottom, glow_at=placement.center, glow=_mix(ground_top, p.primary, 0.6),
               glow_radius=max(placement.width, placement.height) * 0.9)
    c.product(placement)
    if has_logo:
        c.logo((x0, y0, x1, round(y0 + logo_h)), align="center")
    head_top = round(placement.y + placement.height + u * 6)
    head = c.text("headline", block, (x0, head_top, x1, head_top + block.height), align="center")
    if label:
        c.pill("cta", label, x=c.width / 2, top=head[3] + u * 4.5, height=pill_h, max_width=x1 - x0, fill=button)


def _testimonial(c: _Canvas) -> None:
    """A UGC look: the headline as a quote on a white card with a quote badge, the product beside or on top of it."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    c.backdrop(_mix(p.light, WHITE, 0.3), _mix(p.light, p.secondary, 0.5))
    pad, badge_r = u * 5, u * 5.5
    above_text = badge_r + u * 3  # the badge sits on the card's top edge; the quote starts below it
    if c.orientation == "landscape":
        card_w = (x1 - x0) * _lerp(0.56, 0.5, e)
        block = c.fit(c.request.scene.headline, card_w - 2 * pad, (y1 - y0) - pad - above_text - badge_r, bold=False,
                      max_px=u * _lerp(7.5, 6.5, e), max_lines=5, leading=1.25)
        card_h = above_text + block.height + pad
        card_top = (y0 + y1 + badge_r) / 2 - card_h / 2
        card = (x0, card_top, x0 + card_w, card_top + card_h)
        product_box = (round(card[2] + u * 4), y0, x1, y1)
    else:
        share = _lerp(0.4, 0.32, e) if c.orientation == "portrait" else _lerp(0.42, 0.36, e)
        block = c.fit(c.request.scene.headline, (x1 - x0) - 2 * pad, (y1 - y0) * share - pad - above_text, bold=False,
                      max_px=u * _lerp(7.5, 6.5, e), max_lines=4, leading=1.25)
        card_h = above_text + block.height + pad
        card = (x0, y1 - card_h, x1, y1)
        # The product stands on the card's top edge, clear of the badge, its base just over the card.
        product_box = (round(x0 + pad + badge_r * 2.4), y0, x1, round(card[1] + u * 4))
    placement = c.fit_product(product_box, fill=_lerp(0.9, 1.0, e), rest=0.5 if c.orientation == "landscape" else 1.0)
    if c.orientation != "landscape":
        # A wide product leaves sky above it: centre the product-on-card group instead.
        lift = (placement.y - y0) // 2
        placement = Placement(placement.x, placement.y - lift, placement.width, placement.height)
        card = (card[0], card[1] - lift, card[2], card[3] - lift)
    cx, cy = placement.center
    blob = max(placement.width, placement.height) * 0.55
    c.disc(_mix(p.secondary, WHITE, 0.2), cx, cy, blob * 0.8, softness=blob * 0.4)
    c.soft_shadow(card, u * 3, opacity=0.2)
    c.rounded_rect(WHITE, card, u * 3)
    c.product(placement, grounded=c.orientation != "landscape")
    bx, by = card[0] + pad + badge_r * 0.6, card[1]
    c.disc(p.accent, bx, by, badge_r)
    mark = _font(c.quote_font, max(8, round(badge_r * 2.2)))
    left, top, right, bottom = mark.getbbox("\u201c")
    c.draw.text((bx - (left + right) / 2, by - (top + bottom) / 2 + badge_r * 0.2), "\u201c", font=mark,
                fill=c.ink_for(p.accent, large=True))
    text_top = round(card[1] + above_text)
    text_box = (round(card[0] + pad), text_top, round(card[2] - pad), text_top + block.height)
    c.text("quote", block, text_box, color=(34, 34, 38))
    c.logo()


LAYOUTS: dict[str, Callable[[_Canvas], None]] = {
    "hero": _hero,
    "closeup": _closeup,
    "lifestyle": _lifestyle,
    "feature": _feature,
    "cta": _cta,
    "testimonial": _testimonial,
}


# ---- 6. The provider -------------------------------------------------------------------------------


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
    first = request.product_images[0]
    cutout = _cached_cutout(str(first), _mtime_ns(first))
    product_colors = _dominant(cutout, 4)
    canvas = _Canvas(request, cutout, product_colors, _palette(request.brand.colors, product_colors))
    LAYOUTS[request.scene.shot](canvas)
    return canvas.result


class Compositor(ImageProvider):
    """Scene stills from the real product photo, laid out per shot type in the brand's colours."""

    name = "local.compositor"

    def check(self) -> Readiness:
        # Pillow and OpenCV are imported with this module: reaching here means they are installed.
        missing = [str(path) for path in (BOLD_FONT, REGULAR_FONT, QUOTE_FONT) if not path.is_file()]
        if missing:
            return Readiness(False, f"missing {', '.join(missing)} (apt-get install fonts-dejavu-core)")
        return Readiness(True, f"Pillow {PIL.__version__}, OpenCV {cv2.__version__}, DejaVu fonts")

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        composition = compose_scene(request)
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        # zlib level 2: these stills are intermediates (the bundle re-encodes them, the video provider
        # animates them), so saving up to 0.1 s beats the quarter smaller file that level 6 would give.
        composition.image.save(request.out_path, "PNG", compress_level=2)
        return ImageResult(path=request.out_path, width=composition.image.width, height=composition.image.height,
                           seed=request.seed)
