"""The canvas a scene is drawn on: its frame and safe area, shapes by signed distance, the product and text.

Every size derives from the output size (a unit is 1% of the short side), so that 270x480 and
1080x1920 look alike.
"""
from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adapters.base import SceneImageRequest
from adapters.local.video import camera_windows
from imaging.color import BLACK, RGB, WHITE, Palette, contrast
from imaging.cutout import Subject, mtime_ns, open_rgba
from imaging.type import BOLD_FONT, QUOTE_FONT, REGULAR_FONT, TextBlock, fit_text

Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]  # signed distance to a shape's edge, < 0 inside


# ---- Shapes ----------------------------------------------------------------------------------------


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def circle_distance(cx: float, cy: float, radius: float) -> Distance:
    return lambda x, y: np.hypot(x - cx, y - cy) - radius


def ellipse_distance(cx: float, cy: float, rx: float, ry: float) -> Distance:
    # Quilez's approximation: close to the true distance near the edge, so soft edges stay even all round.
    def distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        k0 = np.hypot((x - cx) / rx, (y - cy) / ry)
        k1 = np.hypot((x - cx) / rx**2, (y - cy) / ry**2)
        return k0 * (k0 - 1) / np.maximum(k1, 1e-6)

    return distance


def ring_distance(cx: float, cy: float, radius: float, thickness: float) -> Distance:
    return lambda x, y: np.abs(np.hypot(x - cx, y - cy) - radius) - thickness / 2


def rounded_rect_distance(box: tuple[float, float, float, float], radius: float, angle: float = 0.0) -> Distance:
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


# ---- The canvas ------------------------------------------------------------------------------------


def safe_area(width: int, height: int, caption_band: float = 0.0) -> Box:
    """Where text may go. Tall (9:16) frames keep clear of the top 12% and bottom 20% that social apps
    cover with their own buttons and captions; other frames keep a 6% margin. A video's burnt-in
    captions reserve `caption_band` of the height at the bottom as well."""
    top, bottom = (0.12, 0.20) if height / width >= 1.6 else (0.06, 0.06)
    bottom = max(bottom, caption_band)
    return round(width * 0.06), round(height * top), width - round(width * 0.06), height - round(height * bottom)


def camera_safe_area(area: Box, width: int, height: int, motion: str, duration_s: float) -> Box:
    """The part of a still that stays inside the frame's safe `area` all through the local video
    provider's camera move: a zoom or a pan crops the still's edges, and a headline set against the
    frame's margin would slide out of the frame (a right-aligned 1:1 headline on a pan)."""
    x0, y0, x1, y1 = area
    left, top, right, bottom = (float(v) for v in area)  # the still itself may be shown still, too
    for zoom, share_x, share_y in camera_windows(motion, duration_s):
        # zoompan shows the still from (spare room x share) on, scaled up by zoom to the frame.
        origin_x, origin_y = (width - width / zoom) * share_x, (height - height / zoom) * share_y
        left, right = max(left, origin_x + x0 / zoom), min(right, origin_x + x1 / zoom)
        top, bottom = max(top, origin_y + y0 / zoom), min(bottom, origin_y + y1 / zoom)
    return math.ceil(left), math.ceil(top), math.floor(right), math.floor(bottom)


def frame_orientation(width: int, height: int) -> str:
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


def cover_crop(size: tuple[int, int], subject: Box, aspect: float, *,
               zoom: float = 1.0) -> tuple[tuple[float, float, float, float], bool]:
    """The largest crop of `aspect` (width / height) from a photo of `size`, centred on the subject's box,
    and whether it holds the whole box (with a 3% margin where the photo has it).

    `zoom` > 1 crops closer, but never closer than the box: the product is the point of the picture.
    """
    w, h = size
    cw, ch = (h * aspect, float(h)) if w / h > aspect else (float(w), w / aspect)
    bw, bh = subject[2] - subject[0], subject[3] - subject[1]
    needed = max(min(w, bw * 1.06) / cw, min(h, bh * 1.06) / ch)
    scale = min(1.0, max(1 / max(zoom, 1.0), needed))
    cw, ch = cw * scale, ch * scale
    cx, cy = (subject[0] + subject[2]) / 2, (subject[1] + subject[3]) / 2
    left, top = min(max(cx - cw / 2, 0.0), w - cw), min(max(cy - ch / 2, 0.0), h - ch)
    slack = 0.02 * max(bw, bh)  # a sliver of the box (a soft edge of its mask) may go
    holds = (left <= subject[0] + slack and top <= subject[1] + slack
             and left + cw >= subject[2] - slack and top + ch >= subject[3] - slack)
    return (left, top, left + cw, top + ch), holds


def _panel_crop(size: tuple[int, int], subject: Box, panel: Box, inner: Box,
                zoom: float) -> tuple[float, float, float, float] | None:
    """The crop of the photo that fills `panel` with the subject inside `inner` (the part of the panel
    the camera keeps in view), or None when the photo has no such crop."""
    iw, ih = inner[2] - inner[0], inner[3] - inner[1]
    held, holds = cover_crop(size, subject, iw / ih, zoom=zoom)
    if not holds:
        return None
    scale = iw / (held[2] - held[0])  # canvas pixels per photo pixel
    width, height = (panel[2] - panel[0]) / scale, (panel[3] - panel[1]) / scale
    if width > size[0] + 0.5 or height > size[1] + 0.5:
        return None
    width, height = min(width, float(size[0])), min(height, float(size[1]))
    # Grow the held crop to the panel, then slide it back onto the photo; the subject must stay in `inner`.
    left = min(max(held[0] - (inner[0] - panel[0]) / scale, 0.0), size[0] - width)
    top = min(max(held[1] - (inner[1] - panel[1]) / scale, 0.0), size[1] - height)
    slack = 0.02 * max(subject[2] - subject[0], subject[3] - subject[1])
    shown = (left + (inner[0] - panel[0]) / scale - slack, top + (inner[1] - panel[1]) / scale - slack,
             left + (inner[2] - panel[0]) / scale + slack, top + (inner[3] - panel[1]) / scale + slack)
    if not (shown[0] <= subject[0] and shown[1] <= subject[1] and shown[2] >= subject[2] and shown[3] >= subject[3]):
        return None
    return left, top, left + width, top + height


def contain_region(size: tuple[int, int], subject: Box, aspect: float) -> tuple[float, float, float, float]:
    """The part of the photo shown whole when no crop of `aspect` holds the subject: its box with a
    margin, widened (or heightened) towards `aspect` as far as the photo reaches."""
    w, h = size
    bw, bh = subject[2] - subject[0], subject[3] - subject[1]
    left, top = max(0.0, subject[0] - bw * 0.04), max(0.0, subject[1] - bh * 0.04)
    right, bottom = min(float(w), subject[2] + bw * 0.04), min(float(h), subject[3] + bh * 0.04)
    rw, rh = right - left, bottom - top
    if rw / rh < aspect:  # too narrow: take more of the photo beside the subject
        grow = min(float(w), rh * aspect) - rw
        left = min(max(0.0, left - grow / 2), w - (rw + grow))
        right = left + rw + grow
    else:
        grow = min(float(h), rw / aspect) - rh
        top = min(max(0.0, top - grow / 2), h - (rh + grow))
        bottom = top + rh + grow
    return left, top, right, bottom


@dataclass
class Composition:
    """A scene as drawn, with where its parts landed, so callers and tests can check the layout."""

    image: Image.Image
    safe_area: Box
    text_boxes: dict[str, Box] = field(default_factory=dict)  # the ink bounds of each text, by role
    text_lines: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the lines drawn, by role
    product_box: Box = (0, 0, 0, 0)  # where the product was drawn; a close-up's runs off the canvas
    logo_box: Box | None = None
    style: str = "cutout"  # "cutout": the product cut out of its photo; "photo": the photo itself, cropped


class Canvas:
    """One scene being drawn: the image, its frame and palette, and the drawing vocabulary layouts share."""

    def __init__(
        self, request: SceneImageRequest, cutout: Image.Image, product_colors: list[RGB], palette: Palette,
        subject: Subject | None = None,
    ) -> None:
        self.request = request
        self.subject = subject  # the product in its photo, for layouts that show the photo itself
        self.width, self.height = request.size
        self.unit = min(self.width, self.height) / 100  # every length in a layout is a multiple of this
        self.orientation = frame_orientation(self.width, self.height)
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
        # A still a clip will animate is drawn for its scene's camera move; a bundle's still is shown as it is.
        frame_safe = safe_area(self.width, self.height, request.caption_band)
        self.result = Composition(self.image, self.seen(frame_safe))
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
        self.shape(color, box, rounded_rect_distance(box, radius), **style)

    def disc(self, color: RGB, cx: float, cy: float, radius: float, **style: float) -> None:
        self.shape(color, (cx - radius, cy - radius, cx + radius, cy + radius), circle_distance(cx, cy, radius), **style)

    def soft_shadow(self, box: tuple[float, float, float, float], radius: float, *, opacity: float = 0.22) -> None:
        """The shadow a card or button casts on the ground below it."""
        drop = self.unit * 1.2
        lowered = (box[0], box[1] + drop, box[2], box[3] + drop)
        self.shape(BLACK, lowered, rounded_rect_distance(lowered, radius), opacity=opacity, softness=self.unit * 3)

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
        dark = self.palette.dark if contrast(self.palette.dark, WHITE) >= 7 else (20, 20, 24)
        if large and contrast(WHITE, ground) >= 3:
            return WHITE
        return WHITE if contrast(WHITE, ground) >= contrast(dark, ground) else dark

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

    def photo(self, panel: Box, *, zoom: float = 1.0) -> Box:
        """The uploaded photo itself in `panel`, cropped to the product; returns where the picture landed.

        The crop is the largest of the panel's shape that holds the whole product, centred on it
        (`zoom` > 1 crops closer, never past the product), with the product inside the part of the
        panel that the video's camera move keeps in view. Where no crop can do that (a square photo
        of a person in a tall panel), the photo is fitted whole into that part instead, on a blurred,
        darkened enlargement of itself: the product is never cut to fill a frame.
        """
        if self.subject is None:
            raise ValueError("a photo layout needs the subject of the photo")
        picture, box, frame = self.subject.image.convert("RGB"), self.subject.box, self.subject.frame_box
        x0, y0, x1, y1 = panel
        pw, ph = max(1, x1 - x0), max(1, y1 - y0)
        seen = self.seen((0, 0, self.width, self.height))
        inner = (max(x0, seen[0]), max(y0, seen[1]), min(x1, seen[2]), min(y1, seen[3]))
        if inner[2] - inner[0] < pw * 0.5 or inner[3] - inner[1] < ph * 0.5:
            inner = (x0, y0, x1, y1)  # a move that hides half the panel is no guide: use the panel
        iw, ih = inner[2] - inner[0], inner[3] - inner[1]
        crop = _panel_crop(picture.size, frame, panel, inner, zoom)
        if crop is not None:
            region, placed = crop, (x0, y0, x0 + pw, y0 + ph)
            self.image.paste(picture.resize((pw, ph), Image.Resampling.LANCZOS, box=crop), (x0, y0))
        else:
            cover, _ = cover_crop(picture.size, frame, pw / ph)
            small = picture.resize((max(1, pw // 8), max(1, ph // 8)), Image.Resampling.BILINEAR, box=cover)
            ground = small.filter(ImageFilter.GaussianBlur(max(1.0, self.unit / 2))).resize((pw, ph), Image.Resampling.BICUBIC)
            self.image.paste(Image.blend(ground, Image.new("RGB", (pw, ph), BLACK), 0.35), (x0, y0))
            region = contain_region(picture.size, frame, iw / ih)
            scale = min(iw / (region[2] - region[0]), ih / (region[3] - region[1]))
            dw, dh = max(1, round((region[2] - region[0]) * scale)), max(1, round((region[3] - region[1]) * scale))
            left, top = inner[0] + (iw - dw) // 2, inner[1] + (ih - dh) // 2
            placed = (left, top, left + dw, top + dh)
            self.image.paste(picture.resize((dw, dh), Image.Resampling.LANCZOS, box=region), (left, top))
        sx = (placed[2] - placed[0]) / (region[2] - region[0])
        sy = (placed[3] - placed[1]) / (region[3] - region[1])
        mapped = (placed[0] + (box[0] - region[0]) * sx, placed[1] + (box[1] - region[1]) * sy,
                  placed[0] + (box[2] - region[0]) * sx, placed[1] + (box[3] - region[1]) * sy)
        self.result.product_box = (max(placed[0], round(mapped[0])), max(placed[1], round(mapped[1])),
                                   min(placed[2], round(mapped[2])), min(placed[3], round(mapped[3])))
        self.result.style = "photo"
        return placed

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

    def seen(self, area: Box) -> Box:
        """The part of `area` that stays in view: all of it for a still shown as it is, else what the
        scene's camera move never crops."""
        if not self.request.animated:
            return area
        return camera_safe_area(area, self.width, self.height, self.request.scene.motion, self.request.scene.duration_s)

    def fit(self, text: str, box_width: float, box_height: float, *, bold: bool = True, max_px: float,
            min_px: float | None = None, max_lines: int = 3, leading: float = 1.12) -> TextBlock:
        floor = min_px if min_px is not None else max(7.0, self.unit * 2.2)
        # The scene's headline may give way to the copywriter's shorter whole phrase; nothing is ever cut.
        scene = self.request.scene
        alternatives = (scene.headline_short,) if text == scene.headline and scene.headline_short else ()
        return fit_text(text, self.bold_font if bold else self.body_font, max(1, int(box_width)), max(1, int(box_height)),
                        max_px=max(1, round(max_px)), min_px=max(1, round(min(floor, max_px))), max_lines=max_lines,
                        leading=leading, alternatives=alternatives)

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
        ink: list[tuple[float, float, float, float]] = []
        for line, font, offset in zip(block.lines, block.line_fonts(), block.line_baselines()):
            baseline = top + offset
            # Some glyphs overhang their advance (a bold "Y", a "j"): nudge the line so its ink stays in the box.
            left, _, right, _ = font.getbbox(line, anchor=anchor)
            nudge = max(0.0, x0 - (x + left)) - max(0.0, x + right - x1)
            self.draw.text((x + nudge, baseline), line, font=font, fill=color, anchor=anchor)
            ink.append(self.draw.textbbox((x + nudge, baseline), line, font=font, anchor=anchor))
        if not ink:  # an empty text draws nothing and takes no room
            return x0, top, x0, top
        lefts, tops, rights, bottoms = zip(*ink)
        bounds = (round(min(lefts)), round(min(tops)), round(max(rights)), round(max(bottoms)))
        self.result.text_boxes[role] = bounds
        self.result.text_lines[role] = block.lines
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
        mark = _cached_logo(str(path), mtime_ns(path)).copy()
        x0, y0, x1, y1 = box or self.logo_strip
        mark.thumbnail((max(1, x1 - x0), max(1, y1 - y0)), Image.Resampling.LANCZOS)
        left = x0 if align == "left" else (x0 + x1 - mark.width) // 2
        top = y0 + (y1 - y0 - mark.height) // 2
        placed = (left, top, left + mark.width, top + mark.height)
        ground = self.mean_color(placed)
        opaque = np.asarray(mark)[..., 3] > 128
        ink = tuple(int(v) for v in np.asarray(mark)[..., :3][opaque].mean(axis=0)) if opaque.any() else ground
        if contrast(ink, ground) < 1.8:  # a dark logo on a dark ground (or light on light) gets a plate
            pad = self.unit * 1.2
            plate = (left - pad, top - pad, left + mark.width + pad, top + mark.height + pad)
            self.rounded_rect(self.ink_for(ink), plate, pad)
        self.image.paste(mark, (left, top), mark)
        self.result.logo_box = placed


@functools.lru_cache(maxsize=8)
def _cached_logo(path: str, mtime_ns: int) -> Image.Image:
    logo = open_rgba(Path(path))
    bbox = logo.getchannel("A").getbbox()
    return logo.crop(bbox) if bbox else logo


