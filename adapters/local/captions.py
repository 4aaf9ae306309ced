"""Word-timed captions: word groups, their layout inside the platform safe area, ASS, SRT and WebVTT.

A caption shows a group of words (2-4 in the "large" style of UGC and fast videos, a line in the
"standard" style of the explainer) for as long as they are spoken, and lights the word being
spoken. Groups come from the voice's word timings and never span two narration lines; they
break at punctuation where they can.

The layout is computed here, not left to libass: each group is wrapped with explicit line breaks
(and set smaller when one word alone is wider than the safe area), so the box every caption
covers is known before rendering and provably lies inside the safe area. Each word of a group is
one ASS event with the same text, only the spoken word in the highlight colour: the lines never
move while the highlight steps through them.
"""
from __future__ import annotations

import functools
import math
import os
import re
import unicodedata
from dataclasses import dataclass

from PIL import ImageFont

from adapters.base import Segment, Word

CAPTION_STYLES = ("standard", "large")
FONT_FILE = "DejaVuSans-Bold.ttf"  # what libass picks for "DejaVu Sans" bold; Pillow measures with the same file
FONT_NAME = "DejaVu Sans"
# The highest shrink a caption may need for one word wider than the safe area (a long compound).
MIN_FONT_SCALE = 0.45
# A group stays on screen this long after its last word unless the next group starts earlier.
HOLD_S = 0.5
DEFAULT_SAFE_AREA_9X16 = (0.14, 0.35, 0.06)  # top, bottom, each side: clear of Reels/TikTok UI
DEFAULT_SAFE_AREA_OTHER = (0.05, 0.08, 0.05)  # feeds cover little of square and landscape video
PUNCTUATION_END = re.compile(r"[.,;:!?…)\]\"'»”]$")


@dataclass(frozen=True)
class SafeArea:
    """Fractions of the frame kept clear of text: top, bottom and each side."""

    top: float
    bottom: float
    side: float

    def box(self, size: tuple[int, int]) -> tuple[float, float, float, float]:
        """The area text may occupy, in pixels: left, top, right, bottom."""
        width, height = size
        return self.side * width, self.top * height, (1 - self.side) * width, (1 - self.bottom) * height


def _configured(name: str, default: tuple[float, float, float]) -> tuple[float, float, float]:
    """A safe area from Django settings when configured, else the environment, else the default."""
    value = None
    try:
        from django.conf import settings

        if settings.configured:
            value = getattr(settings, name, None)
    except ImportError:  # pragma: no cover - the adapters run without Django in benchmarks
        pass
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        value = tuple(float(part) for part in value.split(","))
    return tuple(value)  # type: ignore[return-value]


def safe_area(size: tuple[int, int]) -> SafeArea:
    """The platform safe area of a frame: the 9:16 one where Reels and TikTok draw their UI over
    the bottom third and the right edge, a small margin elsewhere."""
    width, height = size
    portrait = height / width > 1.5
    top, bottom, side = (_configured("ADFAME_SAFE_AREA_9X16", DEFAULT_SAFE_AREA_9X16) if portrait
                         else _configured("ADFAME_SAFE_AREA_OTHER", DEFAULT_SAFE_AREA_OTHER))
    return SafeArea(top, bottom, side)


# ---- styles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptionLook:
    """How one caption style looks and groups words, at one frame size (pixels)."""

    name: str
    font_px: float
    outline_px: float  # glyph outline (border style 1) or the box's padding (border style 4)
    shadow_px: float
    border_style: int
    min_words: int
    max_words: int
    max_lines: int
    primary: str  # ASS &HAABBGGRR
    highlight: str
    outline_colour: str
    back_colour: str

    @property
    def line_px(self) -> float:
        # libass sets a line as tall as the font's ascender plus descender, which it scales to the font size.
        return self.font_px

    @property
    def pad_px(self) -> float:
        """How far ink (outline, shadow or box) reaches beyond the text's line box on each side."""
        return self.outline_px + self.shadow_px


def caption_look(style: str, size: tuple[int, int]) -> CaptionLook:
    """large (UGC, fast styles): big white words with a heavy outline, 2-4 at a time, the spoken one
    yellow. standard (explainer): a line of white text on one translucent box, the spoken word
    a warm yellow."""
    short = min(size)
    if style == "large":
        return CaptionLook("large", 0.078 * short, 0.0075 * short, 0.003 * short, 1, 2, 4, 2,
                           "&H00FFFFFF", "&H0000DCFF", "&H00101010", "&H80000000")
    return CaptionLook("standard", 0.05 * short, 0.02 * short, 0.0, 4, 1, 9, 1,
                       "&H00FFFFFF", "&H0046D2FF", "&HFF000000", "&H48101010")


@functools.lru_cache(maxsize=1)
def _font_scale() -> tuple[str, float]:
    """The font file and the Pillow size per ASS font size unit (libass scales ascender+descender,
    not the em, to the font size)."""
    reference = 100
    font = ImageFont.truetype(FONT_FILE, reference)
    ascent, descent = font.getmetrics()
    return font.path, reference / (ascent + descent)


@functools.lru_cache(maxsize=4096)
def text_width(text: str, font_px: float) -> float:
    """Advance width of `text` as libass sets it at ASS font size `font_px`, in pixels."""
    path, scale = _font_scale()
    size = max(1, round(font_px * scale * 4))  # measured at 4x, for sub-pixel precision
    return ImageFont.truetype(path, size).getlength(text) / 4


@functools.lru_cache(maxsize=4096)
def _has_glyph(char: str) -> bool:
    """Whether a character can be burnt in: the caption font draws it, or it is a letter, digit or
    mark that libass finds in a fallback font. Symbols the font lacks (emoji, their joiners and
    variation selectors) would be drawn as empty boxes, so they are left out of the picture."""
    variation_selector = "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"
    if char.isspace() or unicodedata.category(char)[0] in "LNP" or (unicodedata.category(char)[0] == "M"
                                                                    and not variation_selector):
        return True
    path, _ = _font_scale()
    font = ImageFont.truetype(path, 32)
    return (not variation_selector and unicodedata.category(char) not in ("Cf", "Cn", "Co", "Cs")
            and _mask(font, char) != _mask(font, "\U0010FFFD"))


def _mask(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def burnable(text: str) -> str:
    """The text as it is burnt into the picture: without characters the font cannot draw."""
    return " ".join("".join(char for char in text if _has_glyph(char)).split())


# ---- word groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptionGroup:
    """Words shown together, broken into lines, at one font size, for a span of the output's clock."""

    words: tuple[Word, ...]
    lines: tuple[tuple[int, ...], ...]  # indices into words, per line
    font_px: float
    start_s: float
    end_s: float

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    def line_texts(self) -> list[str]:
        return [" ".join(self.words[index].text for index in line) for line in self.lines]

    def burnt_line_texts(self) -> list[str]:
        """The lines as drawn on the picture (see burnable)."""
        return [" ".join(text for index in line if (text := burnable(self.words[index].text))) for line in self.lines]


def words_from_segments(captions: tuple[Segment, ...]) -> tuple[Word, ...]:
    """Word timings estimated from segment timings where the voice gave none: each word gets a
    share of its segment in proportion to its characters (a fair proxy for speaking time)."""
    words: list[Word] = []
    for number, segment in enumerate(captions):
        tokens = segment.text.split()
        if not tokens:
            continue
        weights = [len(token) + 1 for token in tokens]
        span, total, elapsed = max(0.0, segment.end_s - segment.start_s), sum(weights), 0
        for token, weight in zip(tokens, weights):
            start = segment.start_s + span * elapsed / total
            elapsed += weight
            words.append(Word(token, start, segment.start_s + span * elapsed / total, number))
    return tuple(words)


def wrap(texts: list[str], font_px: float, max_width: float) -> list[list[int]] | None:
    """Greedy line breaks for words at a font size, or None when one word alone is too wide."""
    lines: list[list[int]] = []
    for index, text in enumerate(texts):
        if text_width(text, font_px) > max_width:
            return None
        if lines and text_width(" ".join(texts[i] for i in [*lines[-1], index]), font_px) <= max_width:
            lines[-1].append(index)
        else:
            lines.append([index])
    return lines


def text_width_limit(look: CaptionLook, size: tuple[int, int], area: SafeArea) -> float:
    left, _, right, _ = area.box(size)
    return right - left - 2 * look.pad_px


def layout(texts: list[str], look: CaptionLook, size: tuple[int, int], area: SafeArea) -> tuple[list[list[int]], float]:
    """Line breaks and font size for a group: the style's size when it fits in its lines, else
    smaller until it does (never a cut word, never outside the safe area)."""
    max_width = text_width_limit(look, size, area)
    _, top, _, bottom = area.box(size)
    font_px = look.font_px
    while True:
        lines = wrap(texts, font_px, max_width)
        fits = lines is not None and len(lines) * font_px + 2 * look.pad_px <= bottom - top
        if fits and (len(lines) <= look.max_lines or font_px <= look.font_px * MIN_FONT_SCALE):
            return lines, font_px
        font_px *= 0.92


def _chunk_cost(texts: list[str], look: CaptionLook, size: tuple[int, int], area: SafeArea, segment_end: bool) -> float:
    """How poor a group these words make: off its ideal size, needing more lines than the style
    allows, or ending mid-phrase while a punctuation mark sits inside it."""
    count = len(texts)
    lines = wrap(texts, look.font_px, text_width_limit(look, size, area))
    if lines is None or len(lines) > look.max_lines:
        overflow = 50.0 if count > 1 else 5.0  # a lone overlong word must still go somewhere
    else:
        overflow = 0.0
    if look.name == "large":
        shape = 0.6 * (count - 3) ** 2
    else:  # fill the line
        used = text_width(" ".join(texts), look.font_px) / text_width_limit(look, size, area)
        shape = 3.0 * (1 - min(1.0, used)) ** 2
    ends_phrase = segment_end or bool(PUNCTUATION_END.search(texts[-1]))
    inner_punctuation = sum(bool(PUNCTUATION_END.search(text)) for text in texts[:-1])
    return overflow + shape + (0.0 if ends_phrase else 1.2) + 2.5 * inner_punctuation


def split_segment(texts: list[str], look: CaptionLook, size: tuple[int, int], area: SafeArea) -> list[tuple[int, int]]:
    """The best split of one narration line's words into groups (start, end) by dynamic programming."""
    count = len(texts)
    if count <= look.min_words:
        return [(0, count)]
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * count
    for end in range(1, count + 1):
        for start in range(max(0, end - look.max_words), end):
            size_ok = end - start >= look.min_words or count < look.min_words
            if not size_ok or best[start][0] == math.inf:
                continue
            cost = best[start][0] + 1.0 + _chunk_cost(texts[start:end], look, size, area, end == count)
            if cost < best[end][0]:
                best[end] = (cost, start)
    if best[count][0] == math.inf:  # no split obeys the minimum (cannot happen with min <= 2 < count)
        return [(start, min(start + look.max_words, count)) for start in range(0, count, look.max_words)]
    groups, end = [], count
    while end:
        start = best[end][1]
        groups.append((start, end))
        end = start
    return groups[::-1]


def caption_groups(words: tuple[Word, ...], style: str, size: tuple[int, int], duration_s: float,
                   area: SafeArea | None = None) -> list[CaptionGroup]:
    """Word groups for the whole video, laid out and timed, in order and never overlapping."""
    look, area = caption_look(style, size), area or safe_area(size)
    spoken = [word for word in words if word.text.strip() and word.start_s < duration_s]
    segments: list[list[Word]] = []
    for word in sorted(spoken, key=lambda w: (w.start_s, w.segment)):
        if segments and segments[-1][-1].segment == word.segment:
            segments[-1].append(word)
        else:
            segments.append([word])
    spans: list[tuple[Word, ...]] = []
    for segment_words in segments:
        texts = [burnable(word.text) for word in segment_words]
        spans += [tuple(segment_words[start:end]) for start, end in split_segment(texts, look, size, area)]

    groups = []
    for number, span in enumerate(spans):
        start = max(0.0, span[0].start_s)
        following = spans[number + 1][0].start_s if number + 1 < len(spans) else duration_s
        same_line = number + 1 < len(spans) and spans[number + 1][0].segment == span[0].segment
        # Within a narration line the next group takes over at once; between lines, the last
        # words stay a moment after they are spoken, never past the next group or the video.
        end = following if same_line else min(following, max(span[-1].end_s, start) + HOLD_S)
        end = min(max(end, start + 0.04), duration_s)
        texts = [burnable(word.text) for word in span]
        lines, font_px = layout(texts, look, size, area)
        groups.append(CaptionGroup(span, tuple(tuple(line) for line in lines), font_px, start, end))
    return groups


def caption_box(group: CaptionGroup, style: str, size: tuple[int, int],
                area: SafeArea | None = None) -> tuple[float, float, float, float]:
    """Where a group's ink (text, outline, shadow or box) lies: left, top, right, bottom in pixels."""
    look, area = caption_look(style, size), area or safe_area(size)
    _, _, _, bottom = area.box(size)
    width = max(text_width(text, group.font_px) for text in group.burnt_line_texts())
    centre = size[0] / 2
    text_bottom = bottom - look.pad_px
    text_top = text_bottom - len(group.lines) * group.font_px
    return (centre - width / 2 - look.pad_px, text_top - look.pad_px,
            centre + width / 2 + look.pad_px, bottom)


def caption_band(style: str, size: tuple[int, int], area: SafeArea | None = None) -> float:
    """The bottom fraction of the frame that captions of this style may cover (their lowest line
    sits on the safe area's lower edge), for stills to keep their own text out of."""
    look, area = caption_look(style, size), area or safe_area(size)
    _, _, _, bottom = area.box(size)
    top = bottom - look.max_lines * look.line_px - 2 * look.pad_px
    return min(0.75, (size[1] - top) / size[1])


# ---- files -----------------------------------------------------------------------------------------


def ass(groups: list[CaptionGroup], style: str, size: tuple[int, int], area: SafeArea | None = None) -> str:
    """An ASS script: one event per spoken word, its group's lines with that word highlighted."""
    width, height = size
    look, area = caption_look(style, size), area or safe_area(size)
    left, _, right, bottom = area.box(size)
    margin_v = height - bottom + look.pad_px
    # Border style 4 (libass): one box behind the whole caption, padded by the outline width.
    header = "\n".join([
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",  # only the line breaks computed here
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Caption,{FONT_NAME},{look.font_px:.1f},{look.primary},{look.highlight},{look.outline_colour},"
        f"{look.back_colour},-1,0,0,0,100,100,0,0,{look.border_style},{look.outline_px:.1f},{look.shadow_px:.1f},2,"
        f"{left:.0f},{width - right:.0f},{margin_v:.0f},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])
    events = []
    for group in groups:
        size_tag = f"{{\\fs{group.font_px:.1f}}}" if abs(group.font_px - look.font_px) > 0.05 else ""
        for index, word in enumerate(group.words):
            start = group.start_s if index == 0 else word.start_s
            end = group.words[index + 1].start_s if index + 1 < len(group.words) else group.end_s
            start, end = min(max(start, group.start_s), group.end_s), min(max(end, group.start_s), group.end_s)
            if ass_time(end) <= ass_time(start):
                continue  # shorter than a centisecond: the next word's event shows it lit
            events.append(f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Caption,,0,0,0,,"
                          f"{size_tag}{ass_lines(group, index, look)}")
    return header + "\n" + "\n".join(events) + "\n"


def ass_lines(group: CaptionGroup, lit: int, look: CaptionLook) -> str:
    lines = []
    for line in group.lines:
        parts = [f"{{\\1c{look.highlight}&}}{ass_text(group.words[i].text)}{{\\1c{look.primary}&}}" if i == lit
                 else ass_text(group.words[i].text) for i in line if burnable(group.words[i].text)]
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def srt(groups: list[CaptionGroup]) -> str:
    """SubRip: one cue per word group, with the group's line breaks."""
    cues = [f"{number}\n{srt_time(group.start_s)} --> {srt_time(group.end_s)}\n" + "\n".join(group.line_texts()) + "\n"
            for number, group in enumerate(groups, start=1)]
    return "\n".join(cues)


def vtt(groups: list[CaptionGroup]) -> str:
    """WebVTT: one cue per word group; each later word carries its start as a cue timestamp, which
    players that support them (and ::cue(:past)/::cue(:future) styles) use to follow the voice."""
    cues = []
    for group in groups:
        lines = []
        for line in group.lines:
            parts = []
            for index in line:
                text = vtt_text(group.words[index].text)
                start = group.words[index].start_s
                if index > 0 and group.start_s < start < group.end_s:
                    text = f"<{vtt_time(start)}>{text}"
                parts.append(text)
            lines.append(" ".join(parts))
        cues.append(f"{vtt_time(group.start_s)} --> {vtt_time(group.end_s)}\n" + "\n".join(lines) + "\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def srt_time(seconds: float) -> str:
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    return _clock(seconds, ".")


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def ass_time(seconds: float) -> str:
    centis = max(0, math.floor(seconds * 100 + 0.5))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def ass_text(text: str) -> str:
    """Caption text as literal ASS: braces would open override blocks and backslashes start tags."""
    text = burnable(text)
    return re.sub(r"[\\{}]", lambda match: {"\\": "\u29f5", "{": "(", "}": ")"}[match.group()], text)


def vtt_text(text: str) -> str:
    return " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
