"""The final video from scene clips with ffmpeg: transitions, voice, ducked music, burnt-in captions.

Everything happens in one filter graph, so every frame is decoded and encoded exactly once:

    clips -> concat (xfade over the frames of each transition) -> hold last frame to length
          -> captions (ASS) -> H.264, and one clean frame -> poster JPEG
    voice + music ducked under it (sidechaincompress) -> loudnorm -16 LUFS -> AAC

A transition is centred on the cut between two scenes (each side holds its edge frame for half of
it), so every scene starts exactly where the voice and captions expect it and the total length
does not depend on the transition.
"""
from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

from adapters.base import AdapterError, Readiness, Segment, StitchProvider, StitchRequest, StitchResult
from adapters.local.process import ffmpeg_readiness, probe, run_tool

TRANSITIONS = {"cut": None, "fade": "fade", "slide": "slideleft"}
CAPTION_STYLES = ("standard", "large")
AUDIO_RATE = 48000
LOUDNESS_LUFS = -16
# Mastered music is far louder than speech: the bed goes in 12 dB down, and ducks about 10 dB
# more (sidechaincompress keyed by the voice) while someone speaks.
MUSIC_GAIN = 0.25
MUSIC_FADE_IN_S, MUSIC_FADE_OUT_S = 0.5, 1.5
# The poster is taken from the hero shot, after its opening move has settled but before any cut.
POSTER_AT_S = 1.0
FILTERS_NEEDED = ("xfade", "ass", "loudnorm", "sidechaincompress", "tpad")


class FfmpegStitch(StitchProvider):
    """Joins scene clips into the deliverable MP4 (H.264 yuv420p + AAC), its SRT and a JPEG poster."""

    name = "local.ffmpeg_stitch"

    def __init__(self, *, preset: str = "superfast", x264_params: str = "mbtree=1:rc-lookahead=10", crf: int = 21,
                 threads: int = 0) -> None:
        # superfast with veryfast's macroblock tree: on moving ad footage this matched veryfast's
        # SSIM for about 15% more bytes at 70% of its encoding time; plain superfast, without the
        # tree, needed more than twice the bytes.
        self.preset = preset
        self.x264_params = x264_params
        self.crf = crf
        self.threads = threads

    def check(self) -> Readiness:
        return ffmpeg_readiness(filters=FILTERS_NEEDED, encoders=("libx264", "aac"))

    def caption_band(self, style: str, size: tuple[int, int]) -> float:
        return caption_band(style, size)

    def stitch(self, request: StitchRequest) -> StitchResult:
        validate(request)
        frame_counts = [clip_frames(clip, request.fps) for clip in request.clips]
        for path in (request.out_path, request.poster_path, request.captions_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        # A scene without narration gives an empty caption: there is nothing to show or to cue.
        captions = tuple(cue for cue in request.captions if cue.text.strip())
        if captions:
            request.captions_path.write_text(srt(captions), encoding="utf-8")
        elif request.captions_path.exists():
            request.captions_path.unlink()

        with tempfile.TemporaryDirectory(prefix="stitch-", dir=request.out_path.parent) as scratch:
            # The ASS file is read by a filter, whose arguments would need escaping for most paths;
            # running ffmpeg inside the scratch folder lets the graph name it plainly.
            if captions:
                (Path(scratch) / "captions.ass").write_text(
                    ass(captions, request.size, request.caption_style), encoding="utf-8"
                )
            run_tool(self.command(request, frame_counts, bool(captions)), cwd=Path(scratch))
        return measured_result(request, has_captions=bool(captions))

    def command(self, request: StitchRequest, frame_counts: list[int], has_captions: bool) -> list[str]:
        inputs: list[str] = []
        for clip in request.clips:
            inputs += ["-i", str(clip.resolve())]
        voice_input = music_input = None
        if request.voice is not None:
            voice_input = len(request.clips)
            inputs += ["-i", str(request.voice.resolve())]
        if request.music is not None:
            music_input = len(request.clips) + (voice_input is not None)
            # The bed loops for as long as the video lasts.
            inputs += ["-stream_loop", "-1", "-i", str(request.music.resolve())]

        graph = video_graph(request, frame_counts, has_captions) + audio_graph(request, voice_input, music_input)
        return [
            "ffmpeg", "-y", "-v", "error", *inputs,
            "-filter_complex", ";".join(graph),
            "-map", "[video]", "-map", "[audio]",
            "-c:v", "libx264", "-preset", self.preset, "-x264-params", self.x264_params, "-crf", str(self.crf),
            "-threads", str(self.threads),
            "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(request.fps),
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-c:a", "aac", "-b:a", "160k", "-ar", str(AUDIO_RATE), "-ac", "2",
            "-movflags", "+faststart", str(request.out_path.resolve()),
            "-map", "[poster]", "-q:v", "2", "-update", "1", str(request.poster_path.resolve()),
        ]


def validate(request: StitchRequest) -> None:
    width, height = request.size
    problems = []
    if not request.clips:
        problems.append("no clips")
    problems += [f"clip {clip} does not exist" for clip in request.clips if not clip.is_file()]
    problems += [f"{name} {path} does not exist" for name, path in (("voice", request.voice), ("music", request.music))
                 if path is not None and not path.is_file()]
    if request.transition not in TRANSITIONS:
        problems.append(f"unknown transition {request.transition!r}; expected one of {', '.join(TRANSITIONS)}")
    if request.caption_style not in CAPTION_STYLES:
        problems.append(f"unknown caption style {request.caption_style!r}; expected one of {', '.join(CAPTION_STYLES)}")
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        problems.append(f"size {width}x{height} must be positive and even (H.264 yuv420p)")
    if request.fps <= 0 or request.duration_s <= 0:
        problems.append(f"fps {request.fps} and duration {request.duration_s} s must be positive")
    if problems:
        raise AdapterError("cannot stitch: " + "; ".join(problems), permanent=True)


def clip_frames(clip: Path, fps: int) -> int:
    """How many frames the clip gives at the output frame rate."""
    info = probe(clip)
    video = next((s for s in info["streams"] if s.get("codec_type") == "video"), None)
    if video is None:
        raise AdapterError(f"clip {clip} has no video stream", permanent=True)
    duration = float(video.get("duration") or info["format"].get("duration") or 0)
    return max(1, round(duration * fps))


def video_graph(request: StitchRequest, frame_counts: list[int], has_captions: bool) -> list[str]:
    """Filters from the clip inputs to [video] (the captioned picture) and [poster] (one clean frame)."""
    width, height, fps = *request.size, request.fps
    transition = TRANSITIONS[request.transition]
    last = len(frame_counts) - 1
    # Half a transition in whole frames; each clip lends its edge frames to at most a third of itself.
    half = min(round(request.transition_s * fps / 2), min(frame_counts) // 3) if transition and last else 0
    graph, pieces = [], []
    for index, frames in enumerate(frame_counts):
        # Same size, pixel format, clock and rate on every clip, which concat and xfade require
        # (scale and crop pass frames through untouched when the clip already fits).
        prepared = (f"[{index}:v]scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
                    f"setsar=1,format=yuv420p,setpts=PTS-STARTPTS,fps={fps},trim=end_frame={frames}")
        if not half:
            graph.append(f"{prepared}[body{index}]")
            pieces.append(f"[body{index}]")
            continue
        # xfade only takes full-chroma frames in this ffmpeg, so only the frames of each transition go
        # through it: every clip is cut into head (into the previous transition), body and tail.
        head, tail = index > 0, index < last
        outputs = "".join(f"[{name}{index}]" for name, used in (("head", head), ("body", True), ("tail", tail)) if used)
        graph.append(f"{prepared},split={1 + head + tail}{outputs}")
        if head:
            graph.append(f"[head{index}]trim=end_frame={half},setpts=PTS-STARTPTS,"
                         f"tpad=start={half}:start_mode=clone[into{index}]")
            graph.append(f"[out{index - 1}][into{index}]xfade=transition={transition}:duration={2 * half / fps:.6f}:"
                         f"offset=0,format=yuv420p[transition{index}]")
            pieces.append(f"[transition{index}]")
        body_start, body_end = (half if head else 0), (frames - half if tail else frames)
        graph.append(f"[body{index}]trim=start_frame={body_start}:end_frame={body_end},"
                     f"setpts=PTS-STARTPTS[middle{index}]")
        pieces.append(f"[middle{index}]")
        if tail:
            graph.append(f"[tail{index}]trim=start_frame={frames - half},setpts=PTS-STARTPTS,"
                         f"tpad=stop={half}:stop_mode=clone[out{index}]")
    graph.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=1:a=0[joined]")

    total_frames = round(request.duration_s * fps)
    poster_frame = min(round(POSTER_AT_S * fps), frame_counts[0] // 2, total_frames - 1)
    # Clips that fall short are held on their last frame; the trim makes the length exact.
    graph.append(f"[joined]tpad=stop=-1:stop_mode=clone,trim=end_frame={total_frames},setpts=PTS-STARTPTS,"
                 "split[picture][still]")
    graph.append(f"[still]trim=start_frame={poster_frame}:end_frame={poster_frame + 1},setpts=PTS-STARTPTS,"
                 "scale=out_range=pc,format=yuvj420p[poster]")
    graph.append("[picture]ass=captions.ass[video]" if has_captions else "[picture]null[video]")
    return graph


def audio_graph(request: StitchRequest, voice_input: int | None, music_input: int | None) -> list[str]:
    """Filters to [audio]: voice, music ducked under it, or silence; normalised and exactly as long as the video."""
    duration = request.duration_s
    stereo = f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    length = f"apad=whole_dur={duration:.6f},atrim=end_sample={round(duration * AUDIO_RATE)}"
    if voice_input is None and music_input is None:
        # Players and social platforms expect an audio track, even a silent one.
        return [f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={round(duration * AUDIO_RATE)}[audio]"]

    graph = []
    normalise = f"loudnorm=I={LOUDNESS_LUFS}:TP=-1.5:LRA=11,{stereo}"
    if music_input is not None:
        fade_out_at = max(0.0, duration - MUSIC_FADE_OUT_S)
        graph.append(f"[{music_input}:a]{stereo},atrim=duration={duration:.6f},volume={MUSIC_GAIN},"
                     f"afade=t=in:d={MUSIC_FADE_IN_S},afade=t=out:st={fade_out_at:.3f}:d={MUSIC_FADE_OUT_S}[bed]")
    if voice_input is None:
        graph.append(f"[bed]{normalise},{length}[audio]")
        return graph

    voice = f"[{voice_input}:a]{stereo},{length}"
    graph.append(f"{voice}[speech]" if music_input is None else f"{voice},asplit[speech][key]")
    if music_input is None:
        graph.append(f"[speech]{normalise},{length}[audio]")
        return graph
    graph.append("[bed][key]sidechaincompress=threshold=0.05:ratio=6:attack=20:release=400:knee=4[ducked]")
    graph.append(f"[speech][ducked]amix=inputs=2:duration=first:normalize=0,{normalise},{length}[audio]")
    return graph


def measured_result(request: StitchRequest, *, has_captions: bool) -> StitchResult:
    info = probe(request.out_path)
    video = next((s for s in info["streams"] if s.get("codec_type") == "video"), None)
    if video is None or not request.poster_path.is_file():
        raise AdapterError(f"ffmpeg did not write the video and poster for {request.out_path}")
    return StitchResult(
        path=request.out_path,
        poster_path=request.poster_path,
        captions_path=request.captions_path if has_captions else None,
        duration_s=float(info["format"]["duration"]),
        width=int(video["width"]),
        height=int(video["height"]),
        has_audio=any(s.get("codec_type") == "audio" for s in info["streams"]),
    )


# ---- captions --------------------------------------------------------------------------------------


def srt(captions: tuple[Segment, ...]) -> str:
    cues = [f"{number}\n{srt_time(cue.start_s)} --> {srt_time(cue.end_s)}\n{' '.join(cue.text.split())}\n"
            for number, cue in enumerate(captions, start=1)]
    return "\n".join(cues)


def srt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def ass(captions: tuple[Segment, ...], size: tuple[int, int], style: str) -> str:
    """An ASS script drawing the captions in the social safe area, sized for the frame.

    standard: bold white on one translucent dark box, centred in the lower third, clear of the
    platform UI at the bottom (about a fifth of a 9:16 frame) and at the sides.
    large (UGC): much bigger white text with a heavy outline, wrapped to a few words a line and
    set higher, where a viewer's eyes rest on a phone.
    """
    width, height = size
    font, outline, shadow, border, margin_x, margin_v, colours = _caption_layout(style, size)
    header = "\n".join([
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Caption,DejaVu Sans,{font:.0f},{colours},-1,0,0,0,100,100,0,0,{border},{outline:.1f},{shadow:.1f},2,"
        f"{margin_x:.0f},{margin_x:.0f},{margin_v:.0f},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])
    events = [f"Dialogue: 0,{ass_time(cue.start_s)},{ass_time(cue.end_s)},Caption,,0,0,0,,{ass_text(cue.text)}"
              for cue in captions]
    return header + "\n" + "\n".join(events) + "\n"


def _caption_layout(style: str, size: tuple[int, int]) -> tuple[float, float, float, int, float, float, str]:
    """Font size, outline, shadow, border style, side and bottom margins, colours of a caption style."""
    width, height = size
    short = min(width, height)
    portrait = height > width
    if style == "large":
        # Border style 1: an outline around each glyph plus a soft drop shadow.
        font, outline, shadow, border = 0.076 * short, 0.0065 * short, 0.003 * short, 1
        margin_x, margin_v = 0.11 * width, (0.30 if portrait else 0.16) * height
        return font, outline, shadow, border, margin_x, margin_v, "&H00FFFFFF,&H00FFFFFF,&H00101010,&H80000000"
    # Border style 4 (libass): one box behind the whole caption, padded by the outline width;
    # the glyph outline itself is transparent.
    font, outline, shadow, border = 0.052 * short, 0.022 * short, 0, 4
    margin_x, margin_v = 0.10 * width, (0.22 if portrait else 0.08) * height
    return font, outline, shadow, border, margin_x, margin_v, "&H00FFFFFF,&H00FFFFFF,&HFF000000,&H48101010"


def caption_band(style: str, size: tuple[int, int], lines: int = 3) -> float:
    """The bottom fraction of the frame a caption of up to `lines` lines can cover, for stills to
    keep their own text out of."""
    font, outline, _, _, _, margin_v, _ = _caption_layout(style, size)
    return min(0.6, (margin_v + lines * font * 1.2 + 2 * outline) / size[1])


def ass_time(seconds: float) -> str:
    centis = max(0, math.floor(seconds * 100 + 0.5))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def ass_text(text: str) -> str:
    """Caption text as literal ASS: braces would open override blocks and backslashes start tags."""
    text = " ".join(text.split())
    return re.sub(r"[\\{}]", lambda match: {"\\": "\u29f5", "{": "(", "}": ")"}[match.group()], text)
