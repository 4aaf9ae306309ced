"""Scene layouts, one per shot type, each drawing on a Canvas in the scene's palette."""
from __future__ import annotations

import math
import re
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from adapters.local.canvas import Canvas, Placement, ellipse_distance, lerp, ring_distance, rounded_rect_distance
from imaging.color import BLACK, WHITE, contrast, luminance, mix
from imaging.type import load_font


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


def _hero(c: Canvas) -> None:
    """The product large and centred in front of a brand-colour disc, the headline above it."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    share = lerp(0.24, 0.16, e) if c.orientation == "square" else lerp(0.22, 0.145, e)
    head_width = (x1 - x0) * (0.72 if c.orientation == "landscape" else 1.0)
    block = c.fit(c.request.scene.headline, head_width, (y1 - y0) * share, max_px=u * lerp(11, 8.5, e))
    head_box = (round((x0 + x1 - head_width) / 2), y0, round((x0 + x1 + head_width) / 2), y0 + block.height)
    bar_top = head_box[3] + u * 2.2
    product_top = round(bar_top + u * 5)
    placement = c.fit_product((x0, product_top, x1, y1), fill=lerp(0.86, 1.0, e))
    cx, cy = placement.center
    c.backdrop(mix(p.primary, WHITE, 0.18), mix(p.primary, BLACK, 0.3), glow_at=(cx, cy),
               glow=mix(p.primary, WHITE, 0.65), glow_radius=max(placement.width, placement.height) * 0.95)
    disc_y = placement.y + placement.height * 0.45
    # As large as the product, but clear of the headline: type across two grounds reads badly on both.
    radius = min(max(placement.width, placement.height) * 0.42, (x1 - x0) * 0.5, disc_y - bar_top - u * 3)
    c.disc(p.secondary, cx, disc_y, radius)
    c.product(placement)
    c.text("headline", block, head_box, align="center")
    c.accent_bar((x0 + x1) / 2 - u * 4.5, bar_top)
    c.logo()


def _closeup(c: Canvas) -> None:
    """The product's busiest detail blown up to fill the frame, viewfinder corners and a small caption."""
    p, u, e = c.palette, c.unit, c.emphasis
    c.backdrop(p.light, mix(p.light, p.primary, 0.45))
    fx, fy = _detail_center(c.cutout)
    cw, ch = c.cutout.size
    # The product at 1.4 to 1.8 times the size that would just fit: close enough to crop it, far enough
    # to recognise it; more emphasis shows more of it. Past 3x the photo's own pixels it would only blur.
    # A slim product in a wide frame (or a flat one in a tall frame) still fills more than half of it.
    zoom = lerp(1.8, 1.4, e)
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
    room = max(free_left, free_right) if beside else (x1 - x0) * lerp(0.7, 0.55, e)
    block = c.fit(c.request.scene.headline, room - 2 * pad_x - stripe, (y1 - y0) * 0.2,
                  max_px=u * lerp(5.2, 4.0, e), max_lines=2)
    plate_w = block.width + 2 * pad_x + stripe
    left = x1 - plate_w if beside and free_right > free_left else x0
    plate = (left, y1 - block.height - 2 * pad_y, left + plate_w, y1)
    c.soft_shadow(plate, u * 1.6)
    c.rounded_rect(p.dark, plate, u * 1.6, opacity=0.88)
    c.rounded_rect(p.accent, (plate[0], plate[1], plate[0] + u * 1.0, plate[3]), u * 0.5)
    text_box = (round(plate[0] + pad_x + stripe), round(plate[1] + pad_y), round(plate[2] - pad_x), round(plate[3] - pad_y))
    c.text("caption", block, text_box, color=WHITE)
    c.logo()


def _viewfinder(c: Canvas) -> None:
    """Four thin corner brackets, as in a camera's viewfinder: this frame is a close look."""
    u = c.unit
    inset, arm, weight = u * 4, u * 7, max(1.5, u * 0.45)
    color = c.ink_for(c.mean_color((0, 0, round(u * 12), round(u * 12))))
    for cx, sx in ((inset, 1), (c.width - inset, -1)):
        for cy, sy in ((inset, 1), (c.height - inset, -1)):
            for w, h in ((arm, weight), (weight, arm)):
                box = (min(cx, cx + sx * w), min(cy, cy + sy * h), max(cx, cx + sx * w), max(cy, cy + sy * h))
                c.rounded_rect(color, box, weight / 2, opacity=0.85)


def _lifestyle(c: Canvas) -> None:
    """A colour-field scene: the product off-centre on a plinth among brand-colour shapes, headline opposite."""
    p, u, e, rng = c.palette, c.unit, c.emphasis, c.rng
    x0, y0, x1, y1 = c.content
    product_right = rng.random() < 0.5
    side = 1 if product_right else -1
    if c.orientation == "landscape":
        column = (x0, y0, round(c.width * 0.46), y1) if product_right else (round(c.width * 0.54), y0, x1, y1)
        block = c.fit(c.request.scene.headline, column[2] - column[0], (y1 - y0) * 0.6,
                      max_px=u * lerp(10, 8, e), max_lines=4)
        head_box = column
        center_x = c.width * (0.72 if product_right else 0.28)
        area_top, plinth_y = y0, y1 - u * 9
        product_width = c.width * lerp(0.38, 0.44, e)
    else:
        share = lerp(0.3, 0.22, e) if c.orientation == "portrait" else lerp(0.3, 0.24, e)
        width = (x1 - x0) * 0.86
        block = c.fit(c.request.scene.headline, width, (y1 - y0) * share, max_px=u * lerp(11, 8.5, e), max_lines=3)
        head_left = x0 if product_right else round(x1 - width)
        head_box = (head_left, y0, round(head_left + width), y0 + block.height)
        center_x = c.width * (0.6 if product_right else 0.4)
        area_top = head_box[3] + u * 6
        plinth_y = y1 - u * (4 if c.orientation == "portrait" else 8)
        product_width = c.width * lerp(0.7, 0.8, e)
    box = (round(center_x - product_width / 2), round(area_top), round(center_x + product_width / 2), round(plinth_y))
    placement = c.fit_product(box, fill=lerp(0.9, 1.0, e))
    # A wide product would run off the frame from an off-centre spot: slide it back inside the margins.
    left = min(max(placement.x, x0), x1 - placement.width)
    placement = Placement(left, placement.y, placement.width, placement.height)
    plinth_rx = max(u * 18, min(placement.width * 0.62, placement.width / 2 + u * 6))
    plinth_ry = plinth_rx * 0.2

    # Ground: the brand colour, a horizon curving under the plinth, and seeded shapes behind the product.
    c.backdrop(mix(p.primary, WHITE, 0.06), mix(p.primary, p.secondary, 0.25))
    horizon = plinth_y - plinth_ry * rng.uniform(1.5, 3.5)
    floor_r = c.width * 3
    c.shape(mix(p.primary, BLACK, 0.1), (0, horizon, c.width, c.height),
            ellipse_distance(c.width / 2, horizon + floor_r * 0.35, floor_r, floor_r * 0.35))
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
            ring_distance(ring_x, ring_y, ring_r, max(2.0, u * 0.9)))
    capsule_len, capsule_w = u * rng.uniform(18, 26), u * rng.uniform(4.5, 6.5)
    cap_x = cx + side * (plinth_rx + capsule_len * 0.2)
    cap_y = plinth_y - plinth_ry - capsule_len * rng.uniform(0.1, 0.4)
    capsule = (cap_x - capsule_len / 2, cap_y - capsule_w / 2, cap_x + capsule_len / 2, cap_y + capsule_w / 2)
    tilt = rng.uniform(0.5, 1.1) * side
    reach = capsule_len / 2 + capsule_w
    c.shape(mix(p.accent, WHITE, 0.25), (cap_x - reach, cap_y - reach, cap_x + reach, cap_y + reach),
            rounded_rect_distance(capsule, capsule_w / 2, tilt), opacity=0.9)

    # The plinth: a short cylinder, lit from above, that the product stands on.
    body_h = u * (7 if c.orientation == "landscape" else 9)
    top_color, body_color = mix(p.light, WHITE, 0.4), mix(p.light, p.primary, 0.35)
    c.rounded_rect(body_color, (cx - plinth_rx, plinth_y, cx + plinth_rx, plinth_y + body_h + plinth_ry), plinth_ry * 0.9)
    c.shape(body_color, (cx - plinth_rx, plinth_y + body_h - plinth_ry, cx + plinth_rx, plinth_y + body_h + plinth_ry),
            ellipse_distance(cx, plinth_y + body_h, plinth_rx, plinth_ry))
    c.shape(top_color, (cx - plinth_rx, plinth_y - plinth_ry, cx + plinth_rx, plinth_y + plinth_ry),
            ellipse_distance(cx, plinth_y, plinth_rx, plinth_ry))
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


def _dots(c: Canvas, x: float, y: float) -> None:
    """A small grid of dots, the kind of texture a designer sprinkles into an empty corner."""
    u = c.unit
    step, radius = u * 2.4, max(1.0, u * 0.45)  # four columns, three rows
    color = c.ink_for(c.mean_color((round(x), round(y), round(x + step * 4), round(y + step * 3))))
    for row in range(3):
        for column in range(4):
            c.disc(color, x + column * step, y + row * step, radius, opacity=0.55)


def _feature_line(narration: str, headline: str = "") -> str:
    """The narration's first sentence: a feature call-out, not a paragraph; "" when it only repeats the
    headline ("Just in time for the holidays" twice, or "The details: machine washable")."""
    line = re.split(r"(?<=[.!?])\s+", narration.strip(), maxsplit=1)[0]
    said = set(re.findall(r"[a-z0-9]{3,}", line.lower())) - {"the", "and", "details", "basics", "first", "things"}
    return line if len(said - set(re.findall(r"[a-z0-9]{3,}", headline.lower()))) >= 2 else ""


def _feature(c: Canvas) -> None:
    """A call-out: the product on a colour panel to one side; an accent bar, headline and feature line the other."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    # The product is no text: it may use the panel up to a slim margin, app overlays or not.
    margin = round(u * 5)
    if c.orientation == "portrait":
        split = round(c.height * lerp(0.5, 0.56, e))
        # Keep a fifth of the frame for the text column when captions take the bottom away.
        split = max(round(c.height * 0.3), min(split, y1 - round(c.height * 0.2)))
        panel = (0, 0, c.width, split)
        product_top = y0 if c.request.brand.logo_path else max(margin, y0 - round(c.height * 0.06))
        product_box = (margin, product_top, c.width - margin, split - margin)
        column = (x0, split + round(u * 6), x1, y1)
    else:
        split = round(c.width * lerp(0.5, 0.58, e))
        panel = (0, 0, split, c.height)
        product_box = (margin, y0, split - margin, y1)
        column = (split + round(u * 6), y0, x1, y1)
    c.backdrop(mix(p.light, WHITE, 0.5), p.light)
    placement = c.fit_product(product_box, fill=lerp(0.88, 1.0, e))
    cx, cy = placement.center
    c.image.paste(p.primary, panel)
    radius = max(placement.width, placement.height) * 0.5
    c.disc(mix(p.primary, WHITE, 0.35), cx, cy, radius * 0.7, softness=radius * 0.6, opacity=0.8)
    c.product(placement)

    feature = _feature_line(c.request.scene.narration, c.request.scene.headline)
    width, height = column[2] - column[0], column[3] - column[1]
    bar_space = u * 5
    block = c.fit(c.request.scene.headline, width, (height - bar_space) * (0.6 if feature else 1.0),
                  max_px=u * lerp(9.5, 8, e), max_lines=4)
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


def _cta(c: Canvas) -> None:
    """The end card: the product, the headline, the call to action in a button, the logo if there is one."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.result.safe_area
    label = c.request.call_to_action.strip()
    # The end card is the boldest frame: a deep ground, the first of these that the product stands out on.
    grounds = [p.primary] if luminance(p.primary) < 0.35 else []
    grounds += [mix(p.accent, BLACK, 0.1), p.dark]
    ground_top = next((g for g in grounds if math.dist(g, c.product_color) >= 90), grounds[-1])
    ground_bottom = mix(ground_top, BLACK, 0.35)
    button = p.accent if contrast(p.accent, ground_bottom) >= 2.2 else c.ink_for(ground_bottom)
    has_logo = c.request.brand.logo_path is not None
    pill_h = u * (9 if c.orientation == "portrait" else 8)
    if c.orientation == "landscape":
        product_box = (x0, y0, round(c.width * 0.5), y1)
        column = (round(c.width * 0.55), y0, x1, y1)
        width = column[2] - column[0]
        logo_h = u * 8 if has_logo else 0
        block = c.fit(c.request.scene.headline, width, (y1 - y0) * 0.45, max_px=u * lerp(9.5, 8, e), max_lines=3)
        total = (logo_h + u * 5 if has_logo else 0) + block.height + (u * 5 + pill_h if label else 0)
        top = y0 + (y1 - y0 - total) / 2
        placement = c.fit_product(product_box, fill=lerp(0.88, 1.0, e), rest=0.5)
        c.backdrop(ground_top, ground_bottom, glow_at=placement.center, glow=mix(ground_top, p.primary, 0.6),
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
    block = c.fit(c.request.scene.headline, x1 - x0, (y1 - y0) * lerp(0.2, 0.14, e), max_px=u * lerp(9.5, 8, e),
                  max_lines=3)
    below = block.height + (u * 4.5 + pill_h if label else 0)
    product_top = y0 + (logo_h + u * 4 if has_logo else 0)
    product_bottom = y1 - below - u * 6
    placement = c.fit_product((x0, round(product_top), x1, round(product_bottom)), fill=lerp(0.88, 1.0, e), rest=0.8)
    c.backdrop(ground_top, ground_bottom, glow_at=placement.center, glow=mix(ground_top, p.primary, 0.6),
               glow_radius=max(placement.width, placement.height) * 0.9)
    c.product(placement)
    if has_logo:
        c.logo((x0, y0, x1, round(y0 + logo_h)), align="center")
    head_top = round(placement.y + placement.height + u * 6)
    head = c.text("headline", block, (x0, head_top, x1, head_top + block.height), align="center")
    if label:
        c.pill("cta", label, x=c.width / 2, top=head[3] + u * 4.5, height=pill_h, max_width=x1 - x0, fill=button)


def _testimonial(c: Canvas) -> None:
    """A UGC look: the headline as a quote on a white card with a quote badge, the product beside or on top of it."""
    p, u, e = c.palette, c.unit, c.emphasis
    x0, y0, x1, y1 = c.content
    c.backdrop(mix(p.light, WHITE, 0.3), mix(p.light, p.secondary, 0.5))
    pad, badge_r = u * 5, u * 5.5
    above_text = badge_r + u * 3  # the badge sits on the card's top edge; the quote starts below it
    if c.orientation == "landscape":
        card_w = (x1 - x0) * lerp(0.56, 0.5, e)
        block = c.fit(c.request.scene.headline, card_w - 2 * pad, (y1 - y0) - pad - above_text - badge_r, bold=False,
                      max_px=u * lerp(7.5, 6.5, e), max_lines=5, leading=1.25)
        card_h = above_text + block.height + pad
        card_top = (y0 + y1 + badge_r) / 2 - card_h / 2
        card = (x0, card_top, x0 + card_w, card_top + card_h)
        product_box = (round(card[2] + u * 4), y0, x1, y1)
    else:
        share = lerp(0.4, 0.32, e) if c.orientation == "portrait" else lerp(0.42, 0.36, e)
        block = c.fit(c.request.scene.headline, (x1 - x0) - 2 * pad, (y1 - y0) * share - pad - above_text, bold=False,
                      max_px=u * lerp(7.5, 6.5, e), max_lines=4, leading=1.25)
        card_h = above_text + block.height + pad
        card = (x0, y1 - card_h, x1, y1)
        # The product stands on the card's top edge, clear of the badge, its base just over the card.
        product_box = (round(x0 + pad + badge_r * 2.4), y0, x1, round(card[1] + u * 4))
    placement = c.fit_product(product_box, fill=lerp(0.9, 1.0, e), rest=0.5 if c.orientation == "landscape" else 1.0)
    if c.orientation != "landscape":
        # A wide product leaves sky above it: centre the product-on-card group instead.
        lift = (placement.y - y0) // 2
        placement = Placement(placement.x, placement.y - lift, placement.width, placement.height)
        card = (card[0], card[1] - lift, card[2], card[3] - lift)
    cx, cy = placement.center
    blob = max(placement.width, placement.height) * 0.55
    c.disc(mix(p.secondary, WHITE, 0.2), cx, cy, blob * 0.8, softness=blob * 0.4)
    c.soft_shadow(card, u * 3, opacity=0.2)
    c.rounded_rect(WHITE, card, u * 3)
    c.product(placement, grounded=c.orientation != "landscape")
    bx, by = card[0] + pad + badge_r * 0.6, card[1]
    c.disc(p.accent, bx, by, badge_r)
    mark = load_font(c.quote_font, max(8, round(badge_r * 2.2)))
    left, top, right, bottom = mark.getbbox("\u201c")
    c.draw.text((bx - (left + right) / 2, by - (top + bottom) / 2 + badge_r * 0.2), "\u201c", font=mark,
                fill=c.ink_for(p.accent, large=True))
    text_top = round(card[1] + above_text)
    text_box = (round(card[0] + pad), text_top, round(card[2] - pad), text_top + block.height)
    c.text("quote", block, text_box, color=(34, 34, 38))
    c.logo()


LAYOUTS: dict[str, Callable[[Canvas], None]] = {
    "hero": _hero,
    "closeup": _closeup,
    "lifestyle": _lifestyle,
    "feature": _feature,
    "cta": _cta,
    "testimonial": _testimonial,
}




# ---- Photo layouts: the uploaded photo itself, for products a cut-out would mangle ------------------
#
# A product the frame cuts off (a person at the shoulders) or that fills its photo (a cat's face) is
# shown as the photo, cropped to the product per ratio; the text sits on a band of its own beside the
# photo, never over the product. The same texts as the cut-out layouts: headline, CTA pill, quote,
# feature line, logo. The video provider's moves (zoom, pan) give the photo its Ken Burns motion.

PHOTO_TEXT_FIRST = {"hero"}  # the headline leads, above (or left of) the photo; other shots put the photo first


def _photo_scene(c: Canvas) -> None:
    """The photo in a panel and the shot's texts on a band beside it, in the brand's colours."""
    p, u, e = c.palette, c.unit, c.emphasis
    shot = c.request.scene.shot
    sx0, sy0, sx1, sy1 = c.result.safe_area
    landscape = c.orientation == "landscape"
    first = shot in PHOTO_TEXT_FIRST
    label = c.request.call_to_action.strip() if shot == "cta" else ""
    feature = _feature_line(c.request.scene.narration, c.request.scene.headline) if shot == "feature" else ""
    quote = shot == "testimonial"

    # The text column: a side column in a wide frame, a band across a tall or square one.
    if landscape:
        split = round(c.width * lerp(0.42, 0.38, e))
        band = (0, 0, split, c.height) if first else (c.width - split, 0, c.width, c.height)
        left, right = max(sx0, band[0] + round(u * 6)), min(sx1, band[2] - round(u * 6))
    else:
        left, right = sx0, sx1
    width = right - left
    pad = u * 4.5 if quote else 0.0  # a quote sits on a white card inside the band
    pill_h = u * (9 if c.orientation == "portrait" else 8) if label else 0.0
    bar = u * 5
    extras = (pill_h + u * 4 if label else 0.0)
    # The headline's room: a wide frame's whole column less the rest of the stack; across a tall or
    # square frame a share of the height, and the band grows to hold the rest (the photo gives way).
    if landscape:
        room = sy1 - c.content[1] - bar - extras
    else:
        room = (sy1 - c.content[1]) * (lerp(0.22, 0.17, e) if c.orientation == "portrait" else lerp(0.24, 0.19, e))
    block = c.fit(c.request.scene.headline, width - 2 * pad, max(u * 6, room * (0.62 if feature and landscape else 1.0) - (2 * pad if landscape else 0)),
                  bold=not quote, max_px=u * (lerp(7, 6, e) if quote else lerp(9, 7.5, e)),
                  max_lines=4 if quote else 3, leading=1.25 if quote else 1.12)
    detail_room = room - block.height - u * 3 if landscape else room * 0.5
    detail = c.fit(feature, width - u * 4.5, max(u * 4, detail_room), bold=False,
                   max_px=u * 4.2, min_px=u * 2.4, max_lines=3, leading=1.3) if feature else None
    stack = bar + block.height + 2 * pad + (u * 3 + detail.height if detail else 0) + extras

    if not landscape:
        if first:
            band = (0, 0, c.width, round(c.content[1] + stack + u * 5))
        else:
            band = (0, round(sy1 - stack - u * 5), c.width, c.height)
    panel = ((band[2], 0, c.width, c.height) if first else (0, 0, band[0], c.height)) if landscape else \
        ((0, band[3], c.width, c.height) if first else (0, 0, c.width, band[1]))

    grounds = {"cta": p.dark, "closeup": p.dark, "feature": p.light, "testimonial": mix(p.light, p.secondary, 0.5)}
    ground = grounds.get(shot, p.primary)
    c.image.paste(ground, band)
    c.photo(panel, zoom=lerp(1.35, 1.2, e) if shot == "closeup" else 1.0)
    if shot == "closeup":
        _panel_corners(c, panel)

    top = (band[1] + (band[3] - band[1] - stack) / 2) if landscape else (c.content[1] if first else band[1] + u * 5)
    if quote:
        card = (left, top + bar, right, top + bar + block.height + 2 * pad)
        c.soft_shadow(card, u * 3, opacity=0.2)
        c.rounded_rect(WHITE, card, u * 3)
        badge = u * 4
        c.disc(p.accent, card[0] + pad + badge * 0.6, card[1], badge)
        mark = load_font(c.quote_font, max(8, round(badge * 2.2)))
        bx, by = card[0] + pad + badge * 0.6, card[1]
        ml, mt, mr, mb = mark.getbbox("\u201c")
        c.draw.text((bx - (ml + mr) / 2, by - (mt + mb) / 2 + badge * 0.2), "\u201c", font=mark,
                    fill=c.ink_for(p.accent, large=True))
        head_top = round(card[1] + pad)
        c.text("quote", block, (round(left + pad), head_top, round(right - pad), head_top + block.height), color=(34, 34, 38))
        c.logo()
        return
    c.accent_bar(left, top)
    head_top = round(top + bar)
    head = c.text("caption" if shot == "closeup" else "headline", block, (left, head_top, right, head_top + block.height))
    if detail:
        detail_top = round(head[3] + u * 3)
        c.disc(p.accent, left + u * 1.1, detail_top + detail.font.getmetrics()[0] * 0.62, u * 1.1)
        c.text("feature", detail, (round(left + u * 4.5), detail_top, right, detail_top + detail.height))
    if label:
        button = p.accent if contrast(p.accent, ground) >= 2.2 else c.ink_for(ground)
        c.pill("cta", label, x=left, top=head[3] + u * 4, height=pill_h, max_width=width, fill=button, align="left")
    c.logo()


def _panel_corners(c: Canvas, panel: tuple[int, int, int, int]) -> None:
    """Viewfinder brackets in the photo panel's corners: this frame is a close look."""
    u = c.unit
    inset, arm, weight = u * 4, u * 7, max(1.5, u * 0.45)
    for cx, sx in ((panel[0] + inset, 1), (panel[2] - inset, -1)):
        for cy, sy in ((panel[1] + inset, 1), (panel[3] - inset, -1)):
            for w, h in ((arm, weight), (weight, arm)):
                box = (min(cx, cx + sx * w), min(cy, cy + sy * h), max(cx, cx + sx * w), max(cy, cy + sy * h))
                c.rounded_rect(WHITE, box, weight / 2, opacity=0.85)


PHOTO_LAYOUTS: dict[str, Callable[[Canvas], None]] = {shot: _photo_scene for shot in LAYOUTS}
