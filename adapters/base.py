"""Capability interfaces every provider implements, their typed inputs and outputs, one error type.

Adapters know no Django models: they take local files and plain values and write local files.
The engine moves files between Django storage and a step's scratch folder.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar


class AdapterError(Exception):
    """A provider failed. `permanent=False` means the same call may succeed if retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str


class Provider:
    """Base of every provider: a capability, a name for step rows, and a readiness check."""

    capability: ClassVar[str]
    name: ClassVar[str]

    def check(self) -> Readiness:
        raise NotImplementedError


# ---- text: storyboards and scripts ---------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    """What a copywriter needs: the product, the ask, and the shape of the output."""

    mode: str  # image_bundle | fast_paced | script_to_video | ugc
    product_name: str
    product_description: str
    prompt: str
    call_to_action: str
    scene_count: int
    duration_s: float
    language: str
    brand_colors: tuple[str, ...] = ()
    product_facts: dict[str, Any] = field(default_factory=dict)  # from product setup: category, colours, …


# Shot types a storyboard may use; image providers must lay out every one of them.
SHOTS = ("hero", "closeup", "lifestyle", "feature", "cta", "testimonial")
# Camera motions a storyboard may ask of a video provider.
MOTIONS = ("zoom_in", "zoom_out", "pan_left", "pan_right", "parallax", "handheld")


@dataclass(frozen=True)
class Scene:
    number: int  # from 1
    shot: str  # one of SHOTS
    headline: str  # on-screen text, short
    narration: str  # the spoken line; "" when the mode has no voice
    duration_s: float
    motion: str  # one of MOTIONS
    # A shorter whole phrase saying the same, for a layout where the headline will not fit; "" when none.
    # Snapshots written before it existed load with "".
    headline_short: str = ""


@dataclass(frozen=True)
class Storyboard:
    title: str
    voice_style: str  # energetic | explainer | casual
    scenes: tuple[Scene, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Storyboard:
        return cls(
            title=data["title"],
            voice_style=data["voice_style"],
            scenes=tuple(Scene(**scene) for scene in data["scenes"]),
        )


class TextProvider(Provider):
    capability = "text"

    def storyboard(self, brief: Brief, *, seed: int) -> Storyboard:
        """A storyboard of exactly brief.scene_count scenes whose durations add up to brief.duration_s."""
        raise NotImplementedError


# ---- image: scene stills -----------------------------------------------------------------------


@dataclass(frozen=True)
class BrandKit:
    colors: tuple[str, ...] = ()  # "#RRGGBB", the first is the primary colour
    font_path: Path | None = None  # TTF/OTF; a DejaVu font when None
    logo_path: Path | None = None


@dataclass(frozen=True)
class SceneImageRequest:
    product_images: tuple[Path, ...]  # local files; the first is the hero shot
    scene: Scene
    size: tuple[int, int]  # width, height of the output
    brand: BrandKit
    seed: int
    out_path: Path
    call_to_action: str = ""
    product_emphasis: float = 0.5  # 0..1: how large and untouched the product is; fidelity raises it
    caption_band: float = 0.0  # bottom fraction of the height that burnt-in captions will cover: no text there
    animated: bool = True  # a clip's camera move will crop the still: text and subject keep clear of it


@dataclass(frozen=True)
class ImageResult:
    path: Path
    width: int
    height: int
    seed: int


class ImageProvider(Provider):
    capability = "image"

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        raise NotImplementedError


# ---- video: a clip per scene ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClipRequest:
    image: Path
    duration_s: float
    size: tuple[int, int]
    fps: int
    motion: str  # one of MOTIONS
    seed: int
    out_path: Path


@dataclass(frozen=True)
class ClipResult:
    path: Path
    duration_s: float
    fps: int
    width: int
    height: int
    frames: int


def clip_request_frames(request: ClipRequest) -> int:
    """Refuse a clip request no provider can make (permanent errors); its frame count otherwise."""
    width, height = request.size
    if request.motion not in MOTIONS:
        raise AdapterError(f"unknown motion {request.motion!r}; expected one of {', '.join(MOTIONS)}", permanent=True)
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise AdapterError(f"clip size {width}x{height} must be positive and even (H.264 yuv420p)", permanent=True)
    frames = round(request.duration_s * request.fps)
    if request.fps <= 0 or frames < 1:
        raise AdapterError(f"a clip of {request.duration_s} s at {request.fps} fps has no frames", permanent=True)
    if not request.image.is_file():
        raise AdapterError(f"still {request.image} does not exist", permanent=True)
    return frames


class VideoProvider(Provider):
    capability = "video"

    def animate(self, request: ClipRequest) -> ClipResult:
        raise NotImplementedError


# ---- speech: voiceover with measured timings ----------------------------------------------------


@dataclass(frozen=True)
class Segment:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Word:
    """One spoken word on the voiceover's clock; `segment` is the index of the narration line it belongs to."""

    text: str
    start_s: float
    end_s: float
    segment: int = 0


@dataclass(frozen=True)
class SpeechRequest:
    segments: tuple[str, ...]  # one narration line each; spoken in order
    voice: str  # provider-specific voice name, or "default"
    language: str  # BCP 47, e.g. "en", "en-US", "fr"
    out_path: Path  # a WAV file
    gap_s: float = 0.25  # silence between segments
    target_duration_s: float | None = None  # speak faster or slower to come close to this


@dataclass(frozen=True)
class SpeechResult:
    path: Path
    duration_s: float
    segments: tuple[Segment, ...]  # measured from the audio, not estimated
    words: tuple[Word, ...] = ()  # every spoken word, in order, on the same clock
    timing_source: str = "segments"  # how the word timings were found: piper | pocketsphinx | whisper | segments


def check_speech_request(request: SpeechRequest) -> None:
    """Refuse a request no voice can speak (permanent errors): no lines, an empty line, a negative gap."""
    if not request.segments:
        raise AdapterError("nothing to say: the request has no segments", permanent=True)
    empty = [number for number, text in enumerate(request.segments, start=1) if not text.strip()]
    if empty:
        raise AdapterError(f"segments {empty} have no text", permanent=True)
    if request.gap_s < 0:
        raise AdapterError(f"gap_s must not be negative, got {request.gap_s}", permanent=True)


class SpeechProvider(Provider):
    capability = "speech"

    def synthesize(self, request: SpeechRequest) -> SpeechResult:
        raise NotImplementedError


# ---- lip sync: a presenter's mouth moved to the voice -------------------------------------------


@dataclass(frozen=True)
class LipSyncRequest:
    clip: Path
    voice: Path
    start_s: float
    end_s: float
    out_path: Path


class LipSyncProvider(Provider):
    capability = "lip_sync"

    def sync(self, request: LipSyncRequest) -> ClipResult:
        raise NotImplementedError


# ---- stitch: the final video ---------------------------------------------------------------------


@dataclass(frozen=True)
class StitchRequest:
    clips: tuple[Path, ...]
    size: tuple[int, int]
    fps: int
    duration_s: float  # exact length of the output
    out_path: Path  # MP4
    poster_path: Path  # JPEG
    captions_path: Path  # SRT written beside the video (one cue per caption word group)
    transition: str = "fade"  # cut | fade | slide
    transition_s: float = 0.3
    voice: Path | None = None
    captions: tuple[Segment, ...] = ()  # timed on the output's clock
    caption_style: str = "standard"  # standard (a line, the explainer) | large (2-4 words, UGC and fast styles)
    words: tuple[Word, ...] = ()  # word timings on the output's clock: captions cue per word group, the spoken word lit
    vtt_path: Path | None = None  # WebVTT beside the SRT, the same word groups
    music: Path | None = None  # a bed, trimmed and faded to length, ducked under the voice when both are given
    loudness_lufs: float = -14.0  # integrated loudness of the master
    true_peak_db: float = -1.0  # its true-peak ceiling


@dataclass(frozen=True)
class StitchResult:
    path: Path
    poster_path: Path
    captions_path: Path | None
    duration_s: float
    width: int
    height: int
    has_audio: bool
    vtt_path: Path | None = None


class StitchProvider(Provider):
    capability = "stitch"

    def caption_band(self, style: str, size: tuple[int, int]) -> float:
        """The bottom fraction of a frame this provider's captions may cover (0 when it cannot say)."""
        return 0.0

    def stitch(self, request: StitchRequest) -> StitchResult:
        raise NotImplementedError
