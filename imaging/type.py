"""Type setting: fonts, wrapping and fitting text to a box, so no layout ever draws outside its box."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from adapters.base import AdapterError

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
BOLD_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
REGULAR_FONT = FONT_DIR / "DejaVuSans.ttf"
QUOTE_FONT = FONT_DIR / "DejaVuSerif-Bold.ttf"  # its curly quote mark reads as a quote at badge size


@functools.lru_cache(maxsize=64)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
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
        font = load_font(font_path, size)
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


