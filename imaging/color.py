"""Colour arithmetic and the palette a scene is drawn in: brand colours, or tones of the product's own."""
from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

from adapters.base import AdapterError

RGB = tuple[int, int, int]

WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)


@dataclass(frozen=True)
class Palette:
    primary: RGB  # the brand colour: backdrops of hero, lifestyle and the end card
    secondary: RGB  # shapes, discs and panels next to the primary
    accent: RGB  # small, loud things: bars, bullets, buttons, quote marks
    light: RGB  # a pale tint of primary: calm grounds for text and cards
    dark: RGB  # a deep shade of primary: text on light grounds


def parse_hex(value: str) -> RGB:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise AdapterError(f"brand colour {value!r} is not of the form #RRGGBB", permanent=True)
    text = value.strip()[1:]
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def to_hex(color: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*color)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def hls(hue: float, lightness: float, saturation: float) -> RGB:
    red, green, blue = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def luminance(color: RGB) -> float:
    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def chroma(color: RGB) -> float:
    return (max(color) - min(color)) / 255


def make_palette(brand_colors: tuple[str, ...], product_colors: list[RGB]) -> Palette:
    if brand_colors:
        colors = [parse_hex(value) for value in brand_colors]
        primary = colors[0]
        secondary = colors[1] if len(colors) > 1 else mix(primary, WHITE, 0.55)
        accent = colors[2] if len(colors) > 2 else colors[1] if len(colors) > 1 else mix(primary, BLACK, 0.45)
    else:
        primary, secondary, accent = _palette_from_product(product_colors)
    return Palette(primary, secondary, accent, light=mix(primary, WHITE, 0.88), dark=mix(primary, BLACK, 0.8))


def _palette_from_product(colors: list[RGB]) -> tuple[RGB, RGB, RGB]:
    """Tone-on-tone colours from the product's most colourful hue, or warm neutrals for a neutral product."""
    vivid = max(colors, key=chroma) if colors else (128, 128, 128)
    if chroma(vivid) < 0.15:
        return (0xD9, 0xD3, 0xC9), (0xF1, 0xED, 0xE6), (0x2F, 0x34, 0x38)
    hue, _, saturation = colorsys.rgb_to_hls(*(c / 255 for c in vivid))
    return (
        hls(hue, 0.80, min(saturation, 0.45)),
        hls(hue + 0.04, 0.90, min(saturation, 0.40)),
        hls(hue, 0.36, min(max(saturation, 0.55), 0.85)),
    )


