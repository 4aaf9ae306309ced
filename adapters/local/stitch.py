"""The final video from scene clips with ffmpeg: transitions, voice, ducked music, word-timed captions.

The picture goes through one filter graph, so every frame is decoded and encoded exactly once:

    clips -> concat (xfade over the frames of each transition) -> hold last frame to length
          -> captions (ASS, one event per spoken word) -> H.264, and one clean frame -> poster JPEG

The sound is mastered first, on its own (a few seconds of audio-only work):

    voice and bed, each measured and set to a known level -> bed trimmed, faded, ducked under the
    voice (sidechaincompress) -> mix -> measured gain + true-peak limiter at 4x oversampling,
    measured again until the integrated loudness is on target -> AAC, measured once more (the
    encoder overshoots on bright music) and limited lower if it peaks over -> muxed as it is

Single-pass loudnorm misses its target by several LU on short clips (its dynamic mode needs
seconds of history), so the master is measured with ebur128 and corrected with exact gain.

A transition is centred on the cut between two scenes (each side holds its edge frame for half of
it), so every scene starts exactly where the voice and captions expect it and the total length
does not depend on the transition.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from adapters.base import AdapterError, Readiness, StitchProvider, StitchRequest, StitchResult
from adapters.local import captions as caption_files
from adapters.local.captions import CAPTION_STYLES
from adapters.local.process import ffmpeg_readiness, probe, run_tool

TRANSITIONS = {"cut": None, "fade": "fade", "slide": "slideleft"}
AUDIO_RATE = 48000
# While nobody speaks the bed sits this far under the voice's level; the sidechain ducks it about
# 8 dB more while someone does, which keeps every word clear over mastered music.
BED_UNDER_VOICE_DB = 9.0
MUSIC_FADE_IN_S, MUSIC_FADE_OUT_S = 0.5, 1.5
# The limiter works on a 4x oversampled signal (true peak, not sample peak) with this much room
# under the ceiling, which AAC's own overshoot mostly uses up (what it does not is measured).
LIMITER_HEADROOM_DB = 0.8
LOUDNESS_TOLERANCE_LU = 0.25
MASTER_ROUNDS = 4
ENCODE_ROUNDS = 3
TRUE_PEAK_MARGIN_DB = 0.1  # the delivered file peaks at least this far under the ceiling
AUDIO_BITRATE = "192k"
SILENCE_LUFS = -70.0
# The poster is taken from the hero shot, after its opening move has settled but before any cut.
POSTER_AT_S = 1.0
FILTERS_NEEDED = ("xfade", "ass", "sidechaincompress", "tpad", "alimiter", "ebur128", "amix", "afade")


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_db: float


class FfmpegStitch(StitchProvider):
    """Joins scene clips into the deliverable MP4 (H.264 yuv420p + AAC), its SRT and WebVTT and a JPEG poster."""

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
        return caption_files.caption_band(style, size)

    def stitch(self, request: StitchRequest) -> StitchResult:
        validate(request)
        frame_counts = [clip_frames(clip, request.fps) for clip in request.clips]
        vtt_path = request.vtt_path or request.captions_path.with_suffix(".vtt")
        for path in (request.out_path, request.poster_path, request.captions_path, vtt_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        groups = caption_groups(request)
        if groups:
            request.captions_path.write_text(caption_files.srt(groups), encoding="utf-8")
            vtt_path.write_text(caption_files.vtt(groups), encoding="utf-8")
        else:
            for stale in (request.captions_path, vtt_path):
                stale.unlink(missing_ok=True)

        with tempfile.TemporaryDirectory(prefix="stitch-", dir=request.out_path.parent) as scratch:
            # The ASS file is read by a filter, whose arguments would need escaping for most paths;
            # running ffmpeg inside the scratch folder lets the graph name it plainly.
            if groups:
                (Path(scratch) / "captions.ass").write_text(
                    caption_files.ass(groups, request.caption_style, request.size), encoding="utf-8"
                )
            master = master_audio(request, Path(scratch))
            run_tool(self.command(request, frame_counts, bool(groups), master), cwd=Path(scratch))
        return measured_result(request, captions=bool(groups), vtt_path=vtt_path)

    def command(self, request: StitchRequest, frame_counts: list[int], has_captions: bool,
                master: Path | None) -> list[str]:
        inputs: list[str] = []
        for clip in request.clips:
            inputs += ["-i", str(clip.resolve())]
        samples = round(request.duration_s * AUDIO_RATE)
        if master is None:
            # Players and social platforms expect an audio track, even a silent one.
            audio = [f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={samples}[audio]"]
        else:
            # The mastered AAC goes in as it is: re-encoding would move its true peak again.
            inputs += ["-i", str(master.resolve())]
            audio = []
        graph = video_graph(request, frame_counts, has_captions) + audio
        audio_out = (["-map", "[audio]", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "2"]
                     if master is None else ["-map", f"{len(request.clips)}:a", "-c:a", "copy"])
        return [
            "ffmpeg", "-y", "-v", "error", *inputs,
            "-filter_complex", ";".join(graph),
            "-map", "[video]", *audio_out,
            "-c:v", "libx264", "-preset", self.preset, "-x264-params", self.x264_params, "-crf", str(self.crf),
            "-threads", str(self.threads),
            "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(request.fps),
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-movflags", "+faststart", str(request.out_path.resolve()),
            "-map", "[poster]", "-q:v", "2", "-update", "1", str(request.poster_path.resolve()),
        ]


def caption_groups(request: StitchRequest) -> list[caption_files.CaptionGroup]:
    """The request's word groups: from its word timings, or from its caption segments split by
    character count when the voice gave none."""
    words = request.words or caption_files.words_from_segments(
        tuple(cue for cue in request.captions if cue.text.strip())
    )
    return caption_files.caption_groups(tuple(words), request.caption_style, request.size, request.duration_s)


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


def master_audio(request: StitchRequest, scratch: Path) -> Path | None:
    """The soundtrack as AAC, exactly as long as the video, at the requested integrated loudness
    with its true peak under the ceiling as delivered; None when there is neither voice nor music.

    Each stem is measured and set to a known level first (sources differ by 20 dB and more), so
    the balance of voice and bed is the same for every voice and every track. The AAC encoder
    itself overshoots on bright material (by up to 2 dB at 160 kbit/s in trials), so the encoded
    file is measured and, if it peaks above the ceiling, limited lower and encoded again.
    """
    if request.voice is None and request.music is None:
        return None
    target = request.loudness_lufs
    voice_gain = bed_gain = None
    if request.voice is not None:
        voice_gain = level_gain(measure(["-i", str(request.voice.resolve())]), target)
    if request.music is not None:
        bed_level = target - (BED_UNDER_VOICE_DB if request.voice is not None else 0.0)
        loop = ["-stream_loop", "-1", "-t", f"{request.duration_s:.6f}", "-i", str(request.music.resolve())]
        bed_gain = level_gain(measure(loop, f"atrim=duration={request.duration_s:.6f},"), bed_level)
    mix = scratch / "mix.wav"
    run_tool(mix_command(request, voice_gain, bed_gain, mix))
    encoded = scratch / "master.m4a"
    if measure(["-i", str(mix)]).integrated_lufs <= SILENCE_LUFS + 1:
        return encode_aac(mix, encoded)  # silent stems: nothing to normalise
    ceiling = request.true_peak_db - LIMITER_HEADROOM_DB
    for _ in range(ENCODE_ROUNDS):
        encode_aac(loudness_rounds(request, mix, ceiling, scratch / "master.wav"), encoded)
        overshoot = measure(["-i", str(encoded)]).true_peak_db - (request.true_peak_db - TRUE_PEAK_MARGIN_DB)
        if overshoot <= 0:
            break
        ceiling -= overshoot + TRUE_PEAK_MARGIN_DB
    return encoded


def encode_aac(wav: Path, out: Path) -> Path:
    run_tool(["ffmpeg", "-y", "-v", "error", "-i", str(wav), "-c:a", "aac", "-b:a", AUDIO_BITRATE,
              "-ar", str(AUDIO_RATE), "-ac", "2", str(out)])
    return out


def loudness_rounds(request: StitchRequest, mix: Path, ceiling_db: float, master: Path) -> Path:
    """The mix at the target integrated loudness under a true-peak ceiling, as a WAV."""
    target = request.loudness_lufs
    measured = measure(["-i", str(mix)])
    gain, tried = target - measured.integrated_lufs, []
    for _ in range(MASTER_ROUNDS):
        # The limiter takes some of the loudness back (more, the harder it works): the next round
        # aims by the secant through the last two rounds, or adds the shortfall after the first.
        measured = limit(mix, gain, ceiling_db, request.duration_s, master)
        error = target - measured.integrated_lufs
        if abs(error) <= LOUDNESS_TOLERANCE_LU:
            break
        tried.append((gain, measured.integrated_lufs))
        gain = next_gain(tried, target)
    return master


def next_gain(tried: list[tuple[float, float]], target: float) -> float:
    """The gain to try next, from the (gain, loudness reached) pairs tried so far."""
    (gain, reached) = tried[-1]
    slope = 1.0
    if len(tried) > 1 and abs(gain - tried[-2][0]) > 1e-3:
        # Between 0.2 (a limiter flattening everything) and 1 (no limiting): never a wild step.
        slope = min(1.0, max(0.2, (reached - tried[-2][1]) / (gain - tried[-2][0])))
    return gain + (target - reached) / slope


def level_gain(loudness: Loudness, target_lufs: float) -> float:
    """The gain in dB that brings a stem to a loudness (none for a silent one)."""
    return 0.0 if loudness.integrated_lufs <= SILENCE_LUFS + 1 else target_lufs - loudness.integrated_lufs


def stereo() -> str:
    return f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"


def exact_length(duration_s: float) -> str:
    return f"apad=whole_dur={duration_s:.6f},atrim=end_sample={round(duration_s * AUDIO_RATE)}"


def mix_command(request: StitchRequest, voice_gain: float | None, bed_gain: float | None, out: Path) -> list[str]:
    """ffmpeg arguments that mix voice and bed at their gains, the bed faded and ducked under the voice."""
    duration = request.duration_s
    inputs, graph = [], []
    if voice_gain is not None:
        inputs += ["-i", str(request.voice.resolve())]
        graph.append(f"[0:a]{stereo()},volume={voice_gain:.3f}dB,{exact_length(duration)}"
                     + ("[mixed]" if bed_gain is None else ",asplit[speech][key]"))
    if bed_gain is not None:
        # The bed loops for as long as the video lasts.
        inputs += ["-stream_loop", "-1", "-t", f"{duration:.6f}", "-i", str(request.music.resolve())]
        fade_out_at = max(0.0, duration - MUSIC_FADE_OUT_S)
        graph.append(f"[{0 if voice_gain is None else 1}:a]{stereo()},"
                     f"atrim=duration={duration:.6f},asetpts=PTS-STARTPTS,volume={bed_gain:.3f}dB,"
                     f"afade=t=in:d={min(MUSIC_FADE_IN_S, duration / 4):.3f},"
                     f"afade=t=out:st={fade_out_at:.3f}:d={min(MUSIC_FADE_OUT_S, duration):.3f},{exact_length(duration)}"
                     + ("[mixed]" if voice_gain is None else "[bed]"))
    if voice_gain is not None and bed_gain is not None:
        # Ducking starts where speech at the target level is well under way (12 dB below it).
        threshold = 10 ** ((request.loudness_lufs - 12) / 20)
        graph.append(f"[bed][key]sidechaincompress=threshold={threshold:.5f}:ratio=6:attack=20:release=400:knee=4[ducked]")
        graph.append(f"[speech][ducked]amix=inputs=2:duration=first:normalize=0,{exact_length(duration)}[mixed]")
    return ["ffmpeg", "-y", "-v", "error", *inputs, "-filter_complex", ";".join(graph),
            "-map", "[mixed]", "-c:a", "pcm_f32le", str(out)]


def limit(mix: Path, gain_db: float, ceiling_db: float, duration_s: float, out: Path) -> Loudness:
    """Apply gain, then a lookahead limiter on the 4x oversampled signal (so it catches the peaks
    between samples, which is what true peak measures); write the result and measure it."""
    ceiling = min(1.0, max(0.0625, 10 ** (ceiling_db / 20)))
    chain = (f"volume={gain_db:.3f}dB,aresample={4 * AUDIO_RATE},"
             f"alimiter=limit={ceiling:.5f}:attack=1.5:release=60:level=0:latency=1,"
             f"aresample={AUDIO_RATE},{exact_length(duration_s)}")
    report = run_tool(["ffmpeg", "-y", "-nostats", "-hide_banner", "-i", str(mix), "-filter_complex",
                       f"[0:a]{chain},asplit[out][meter];[meter]ebur128=peak=true:framelog=verbose[measured]",
                       "-map", "[out]", "-c:a", "pcm_f32le", str(out), "-map", "[measured]", "-f", "null", "-"])
    return parse_loudness(report.stderr.decode(errors="replace"))


def measure(inputs: list[str], chain: str = "") -> Loudness:
    """Integrated loudness (EBU R 128) and true peak of an input's audio, as ffmpeg's ebur128 reports them."""
    report = run_tool(["ffmpeg", "-nostats", "-hide_banner", *inputs, "-vn",
                       "-af", f"{chain}ebur128=peak=true:framelog=verbose", "-f", "null", "-"])
    return parse_loudness(report.stderr.decode(errors="replace"))


def parse_loudness(report: str) -> Loudness:
    integrated = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", report)
    peak = re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", report)
    if not integrated or not peak:
        raise AdapterError(f"ffmpeg's ebur128 reported no loudness: {report[-300:]}")
    return Loudness(max(SILENCE_LUFS, float(integrated[-1])), float(peak[-1]))


def measured_result(request: StitchRequest, *, captions: bool, vtt_path: Path) -> StitchResult:
    info = probe(request.out_path)
    video = next((s for s in info["streams"] if s.get("codec_type") == "video"), None)
    if video is None or not request.poster_path.is_file():
        raise AdapterError(f"ffmpeg did not write the video and poster for {request.out_path}")
    return StitchResult(
        path=request.out_path,
        poster_path=request.poster_path,
        captions_path=request.captions_path if captions else None,
        duration_s=float(info["format"]["duration"]),
        width=int(video["width"]),
        height=int(video["height"]),
        has_audio=any(s.get("codec_type") == "audio" for s in info["streams"]),
        vtt_path=vtt_path if captions else None,
    )


