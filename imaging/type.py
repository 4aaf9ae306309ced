"""Type setting: fonts, wrapping and fitting text to a box, so no layout ever draws outside its box."""
from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from adapters.base import AdapterError

logger = logging.getLogger(__name__)

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
    """Text wrapped and sized to fit a box.

    Every line is set in `font` except, as the last resort, a single word too wide for the box even at
    the smallest size: its line is set smaller still, in `fonts`, so the word stays whole and inside.
    """

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    leading: int  # baseline to baseline, in `font`
    width: int
    height: int  # from the first line's ascender to the last line's descender
    fonts: tuple[ImageFont.FreeTypeFont, ...] = ()  # per line; () when every line is in `font`
    baselines: tuple[int, ...] = ()  # per line, from the block's top

    def line_fonts(self) -> tuple[ImageFont.FreeTypeFont, ...]:
        return self.fonts or (self.font,) * len(self.lines)

    def line_baselines(self) -> tuple[int, ...]:
        if self.baselines:
            return self.baselines
        ascent = self.font.getmetrics()[0]
        return tuple(ascent + index * self.leading for index in range(len(self.lines)))


def _ink_width(font: ImageFont.FreeTypeFont, line: str) -> float:
    """The wider of the line's advance and its ink (a glyph may overhang), plus a pixel for rounding."""
    left, _, right, _ = font.getbbox(line)
    return max(font.getlength(line), right - min(left, 0)) + 1


def _block(
    lines: list[str], font: ImageFont.FreeTypeFont, leading: float, fonts: list[ImageFont.FreeTypeFont] | None = None
) -> TextBlock:
    step = round(font.size * leading)
    if not fonts or all(each is font for each in fonts):
        ascent, descent = font.getmetrics()
        width = max((_ink_width(font, line) for line in lines), default=0)
        height = ascent + descent + step * (len(lines) - 1) if lines else 0
        return TextBlock(tuple(lines), font, step, math.ceil(width), height)
    baselines: list[int] = []
    for index, each in enumerate(fonts):
        if index == 0:
            baselines.append(each.getmetrics()[0])
        else:  # a line is as far below the one before as the larger of the two asks
            baselines.append(baselines[-1] + round(max(each.size, fonts[index - 1].size) * leading))
    width = max(_ink_width(each, line) for line, each in zip(lines, fonts))
    height = baselines[-1] + fonts[-1].getmetrics()[1]
    return TextBlock(tuple(lines), font, step, math.ceil(width), height, tuple(fonts), tuple(baselines))


# ---- glyphs the font lacks ----------------------------------------------------------------------------

# Characters that never draw on their own: emoji presentation selectors, joiners, skin-tone modifiers.
INVISIBLE = re.compile("[\ufe00-\ufe0f\u200b-\u200f\u2060\U0001f3fb-\U0001f3ff]")
_PROBE_PX = 32


@functools.lru_cache(maxsize=8)
def _notdef(font_path: str) -> tuple[tuple[int, int], bytes]:
    """What the font draws for a code point it has no glyph for (a private-use one nobody maps)."""
    mask = load_font(font_path, _PROBE_PX).getmask("\U0010fffd")
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=4096)
def has_glyph(font_path: str, char: str) -> bool:
    """Whether the font draws `char` as itself rather than as its missing-glyph box."""
    if char.isspace():
        return True
    mask = load_font(font_path, _PROBE_PX).getmask(char)
    return (mask.size, bytes(mask)) != _notdef(font_path)


def drawable(text: str, font_path: str) -> str:
    """`text` without the characters the font cannot draw, which would show as empty boxes.

    DejaVu covers Latin, Greek and Cyrillic with their accents and the monochrome emoticons and symbols
    (☕ ★ ✓ 😀 ❤); pictographs it lacks (🚀) and scripts it lacks (CJK) are left out rather than drawn as
    boxes. Colour emoji would need a colour emoji font and per-run font fallback.
    """
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    kept = "".join(char for char in text if has_glyph(font_path, char))
    if len(kept) < len(text):
        lost = "".join(sorted(set(text) - set(kept)))
        logger.info("left out %r, which %s has no glyph for", lost, Path(font_path).name)
    return " ".join(kept.split())


# A short model mark stays with the word before it ("Saturn V", "Air Max 90"), a number with its unit ("1 cm").
MARK = re.compile(r"[A-Z]{1,2}|\d{1,3}|[IVX]{1,4}")
UNIT = re.compile(r"(%|[a-zA-Z]{1,3}\.?)[,.;:!?]?")


def _words(text: str) -> list[str]:
    """The text's words, with a model mark glued to the word before and a number to its unit, so that
    no line starts with "V rocket model" or ends on "1"."""
    words: list[str] = []
    for word in text.split():
        last = words[-1].rsplit("\u00a0", 1)[-1] if words else ""
        named = len(last) > 1 and last[:1].isupper() and not last.endswith((",", ".", ":", ";"))
        named = named and bool(MARK.fullmatch(word.rstrip(",.;:!?")))
        if named or re.fullmatch(r"\d+([.,:]\d+)?", last) and UNIT.fullmatch(word):
            words[-1] = f"{words[-1]}\u00a0{word}"
        else:
            words.append(word)
    return words


def _pieces(text: str, *, hyphens: bool = True) -> list[tuple[str, bool]]:
    """Words, with hyphenated ones split after each hyphen (unless `hyphens` is False); True marks a piece
    that joins the one before. Glued words (see `_words`) hold a no-break space, drawn as a space."""
    pieces: list[tuple[str, bool]] = []
    for word in _words(text):
        parts = re.findall(r"[^-]+-*|-+", word) if hyphens else [word]
        pieces.extend((part.replace("\u00a0", " "), index > 0) for index, part in enumerate(parts))
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
    else:
        # A word breaks at its hyphen only when that saves a line or keeps a line inside the width.
        whole = _pieces(text, hyphens=False)
        by_words, by_hyphens = _greedy_lines(whole, font, width), _greedy_lines(pieces, font, width)
        if len(by_words) <= len(by_hyphens) and all(font.getlength(line) <= width for line in by_words):
            pieces = whole
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


def _largest_fit(
    text: str, font_path: str, width: int, height: int, *, max_px: int, min_px: int, max_lines: int, leading: float
) -> TextBlock | None:
    """The largest size from max_px down to min_px at which `text` fits the box in max_lines, or None."""
    size = max(max_px, min_px)
    while True:
        font = load_font(font_path, size)
        block = _block(wrap_text(text, font, width), font, leading)
        if len(block.lines) <= max_lines and block.height <= height and block.width <= width:
            return block
        if size <= min_px:
            return None
        size = max(min_px, min(size - 1, int(size * 0.93)))


def _squeezed(text: str, font_path: str, width: int, height: int, *, size: int, leading: float) -> TextBlock:
    """The last resort: `text` at `size`, on as many lines as the box's height holds, and any word too wide
    for the box on its own line set just small enough to fit; shrinks until it fits. Nothing is cut."""
    while True:
        font = load_font(font_path, size)
        lines = wrap_text(text, font, width)
        fonts = []
        for line in lines:
            own = font
            while _ink_width(own, line) > width and own.size > 1:
                own = load_font(font_path, max(1, min(own.size - 1, int(own.size * width / _ink_width(own, line)))))
            fonts.append(own)
        block = _block(lines, font, leading, fonts)
        if (block.height <= height and block.width <= width) or size <= 1:
            return block
        size = max(1, min(size - 1, int(size * 0.93)))


def fit_text(
    text: str,
    font_path: str,
    width: int,
    height: int,
    *,
    max_px: int,
    min_px: int,
    max_lines: int,
    leading: float = 1.12,
    alternatives: Sequence[str] = (),
) -> TextBlock:
    """`text` wrapped and at the largest size from max_px down to min_px that fits the box in max_lines.

    Text is never cut and never ends in an ellipsis. When it does not fit at min_px, the first of
    `alternatives` (shorter whole phrases saying the same, from the copywriter) that fits is set
    instead; when none does, the shortest of them all is set below min_px on as many lines as the box
    holds, and a single word wider than the box is set smaller again on its own line: whole, and inside.
    Characters the font has no glyph for are left out (see `drawable`).
    """
    fitting = dict(width=width, height=height, max_px=max_px, min_px=min_px, max_lines=max_lines, leading=leading)
    candidates = [drawable(option, font_path) for option in (text, *alternatives)]
    candidates = [option for option in candidates if option] or [""]
    for option in candidates:
        if block := _largest_fit(option, font_path, **fitting):
            return block
    shortest = min(candidates, key=len)
    return _squeezed(shortest, font_path, width, height, size=max(1, min(max_px, min_px)), leading=leading)
