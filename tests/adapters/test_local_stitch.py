"""The ffmpeg stitch: exact length and size, an audio track always, ducked music, SRT, poster, burnt captions."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adapters.base import AdapterError, Segment, StitchRequest
from adapters.local.process import probe, run_tool
from adapters.local.stitch import MUSIC_GAIN, FfmpegStitch

SIZE = (360, 640)
FPS = 15
CLIP_S = 1.2
CAPTIONS = (Segment("Meet the new trail runner.", 0.2, 1.0),
            Segment("Light, fast, and built for every mile.", 1.3, 2.6))
VOICE_HZ, VOICE_AMPLITUDE, VOICE_S = 800, 0.5, 1.5
MUSIC_HZ, MUSIC_AMPLITUDE = 200, 0.4


def lavfi(out: Path, source: str, *encoding: str) -> Path:
    run_tool(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", source, *encoding, str(out)])
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """Three scene clips that look unlike each other (one of another shape), a tone "voice" that
    speaks for 1.5 s, a syllable-like narration of 3.4 s, and a 2 s music loop."""
    folder = tmp_path_factory.mktemp("stitch")
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    looks = [("360x640", "null"), ("360x640", "negate"), ("480x640", "hue=h=240")]
    files = {
        f"clip{index}": lavfi(folder / f"clip{index}.mp4",
                              f"testsrc2=size={size}:rate={FPS}:duration={CLIP_S},{look}", *x264)
        for index, (size, look) in enumerate(looks)
    }
    files["voice"] = lavfi(folder / "voice.wav",
                           f"aevalsrc={VOICE_AMPLITUDE}*sin(2*PI*{VOICE_HZ}*t)*lt(t\\,{VOICE_S}):d=3:s=22050")
    files["narration"] = lavfi(folder / "narration.wav",
                               "aevalsrc=0.5*sin(2*PI*300*t)*(0.6+0.4*sin(2*PI*3*t)):d=3.4:s=22050")
    files["music"] = lavfi(folder / "music.wav", f"aevalsrc={MUSIC_AMPLITUDE}*sin(2*PI*{MUSIC_HZ}*t):d=2:s=44100")
    return files


def stitch(media, out: Path, **fields):
    request = {"clips": (media["clip0"], media["clip1"], media["clip2"]), "size": SIZE, "fps": FPS,
               "duration_s": 3 * CLIP_S, "out_path": out / "final.mp4", "poster_path": out / "poster.jpg",
               "captions_path": out / "final.srt"} | fields
    return FfmpegStitch().stitch(StitchRequest(**request))


def frames(path: Path, size=SIZE) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, size[1], size[0]).astype(np.float32)


def samples(path: Path, rate: int = 8000) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float64) / 32768


def tone_db(audio: np.ndarray, hz: float, start_s: float, end_s: float, rate: int = 8000) -> float:
    """Level of one frequency in a window of the audio, in dB (relative; for comparisons)."""
    window = audio[round(start_s * rate):round(end_s * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / rate)
    return 20 * np.log10(spectrum[np.abs(freqs - hz) < 15].max() + 1e-12)


def audio_stream(path: Path) -> dict:
    return next(s for s in probe(path)["streams"] if s["codec_type"] == "audio")


def test_it_is_ready_where_ffmpeg_has_the_filters_it_needs():
    assert FfmpegStitch().check().ready


@pytest.mark.parametrize("transition", ["cut", "fade", "slide"])
def test_the_video_has_the_requested_length_size_and_frames_for_every_transition(media, tmp_path, transition):
    result = stitch(media, tmp_path, transition=transition, voice=media["voice"])

    assert result.duration_s == pytest.approx(3 * CLIP_S, rel=0.02)
    assert (result.width, result.height) == SIZE
    assert len(frames(result.path)) == round(3 * CLIP_S * FPS)
    video = next(s for s in probe(result.path)["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")


def test_a_fade_is_centred_on_the_cut_so_scenes_keep_their_start_times(media, tmp_path):
    cut = frames(stitch(media, tmp_path / "cut", transition="cut").path)
    fade = frames(stitch(media, tmp_path / "fade", transition="fade", transition_s=0.4).path)
    boundary = round(CLIP_S * FPS)

    assert np.abs(fade[boundary - 8] - cut[boundary - 8]).mean() < 3  # before the transition: scene 1 as cut
    assert np.abs(fade[boundary + 8] - cut[boundary + 8]).mean() < 3  # after it: scene 2 as cut
    assert np.abs(fade[boundary] - cut[boundary]).mean() > 5  # at the cut: a blend of both


def test_short_clips_are_held_on_their_last_frame_and_long_ones_trimmed(media, tmp_path):
    held = stitch(media, tmp_path / "held", duration_s=4.5)
    trimmed = stitch(media, tmp_path / "trimmed", duration_s=2.0)

    assert held.duration_s == pytest.approx(4.5, rel=0.02)
    tail = frames(held.path)[-round(0.8 * FPS):]
    assert np.abs(tail - tail[0]).mean() < 1
    assert trimmed.duration_s == pytest.approx(2.0, rel=0.02)


def test_the_voice_is_laid_as_stereo_aac_normalised_to_minus_16_lufs(media, tmp_path):
    result = stitch(media, tmp_path, voice=media["narration"])

    assert result.has_audio
    stream = audio_stream(result.path)
    assert (stream["codec_name"], stream["channels"], stream["sample_rate"]) == ("aac", 2, "48000")
    assert float(stream["duration"]) == pytest.approx(3 * CLIP_S, rel=0.02)
    report = run_tool(["ffmpeg", "-nostats", "-i", str(result.path), "-af", "ebur128", "-f", "null", "-"])
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report.stderr.decode())[-1])
    assert integrated == pytest.approx(-16, abs=1.5)


def test_music_alone_is_the_soundtrack_when_there_is_no_voice(media, tmp_path):
    result = stitch(media, tmp_path, music=media["music"])

    assert result.has_audio
    audio = samples(result.path)
    assert tone_db(audio, MUSIC_HZ, 1.0, 2.0) > tone_db(audio, VOICE_HZ, 1.0, 2.0) + 30
    assert len(audio) / 8000 == pytest.approx(3 * CLIP_S, rel=0.02)


def test_a_silent_stereo_track_is_added_when_there_is_neither_voice_nor_music(media, tmp_path):
    result = stitch(media, tmp_path)

    assert result.has_audio
    assert audio_stream(result.path)["channels"] == 2
    assert np.abs(samples(result.path)).max() < 1e-3


def test_music_ducks_under_the_voice(media, tmp_path):
    audio = samples(stitch(media, tmp_path, voice=media["voice"], music=media["music"], duration_s=3.6).path)
    speaking, after = (0.4, 1.2), (2.4, 3.2)  # the voice speaks 0..1.5 s

    assert tone_db(audio, MUSIC_HZ, *speaking) < tone_db(audio, MUSIC_HZ, *after) - 6
    # Loudness normalisation scales voice and music alike, so their ratio isolates the ducking:
    # while the voice speaks the bed sits well below where the mix gains alone would put it.
    undocked = 20 * np.log10(MUSIC_AMPLITUDE * MUSIC_GAIN / VOICE_AMPLITUDE)
    heard = tone_db(audio, MUSIC_HZ, *speaking) - tone_db(audio, VOICE_HZ, *speaking)
    assert heard < undocked - 6


def test_the_srt_has_one_cue_per_caption_with_its_times(media, tmp_path):
    result = stitch(media, tmp_path, captions=CAPTIONS)

    cues = result.captions_path.read_text(encoding="utf-8").strip().split("\n\n")
    assert len(cues) == len(CAPTIONS)
    assert cues[0].splitlines() == ["1", "00:00:00,200 --> 00:00:01,000", "Meet the new trail runner."]
    assert cues[1].splitlines()[1] == "00:00:01,300 --> 00:00:02,600"


def test_without_captions_there_is_no_srt(media, tmp_path):
    (tmp_path / "final.srt").write_text("stale", encoding="utf-8")
    result = stitch(media, tmp_path)
    assert result.captions_path is None and not (tmp_path / "final.srt").exists()


def test_a_poster_jpeg_is_written_at_the_video_size(media, tmp_path):
    result = stitch(media, tmp_path, captions=CAPTIONS)

    stream = probe(result.poster_path)["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", *SIZE)


def caption_pixels(media, tmp_path: Path, style: str) -> np.ndarray:
    """Where the frame at 0.6 s (first caption on screen) differs from the same render without captions."""
    plain = frames(stitch(media, tmp_path / "plain", transition="cut").path)[round(0.6 * FPS)]
    captioned = frames(stitch(media, tmp_path / style, transition="cut", captions=CAPTIONS,
                              caption_style=style).path)[round(0.6 * FPS)]
    return np.abs(captioned - plain) > 40


def test_captions_are_burnt_into_the_lower_third(media, tmp_path):
    changed = caption_pixels(media, tmp_path, "standard")
    rows = np.flatnonzero(changed.any(axis=1))

    assert changed.sum() > 500
    assert SIZE[1] * 0.6 < rows.min() and rows.max() < SIZE[1] * 0.85  # clear of the platform UI at the bottom


def test_large_captions_are_bigger_and_sit_higher(media, tmp_path):
    standard = caption_pixels(media, tmp_path, "standard")
    large = caption_pixels(media, tmp_path, "large")

    assert np.flatnonzero(large.any(axis=1)).mean() < np.flatnonzero(standard.any(axis=1)).mean()
    # The same words in bigger letters take more lines: a taller block of text.
    assert np.ptp(np.flatnonzero(large.any(axis=1))) > 1.3 * np.ptp(np.flatnonzero(standard.any(axis=1)))


@pytest.mark.parametrize(("change", "message"), [({"transition": "wipe"}, "unknown transition"),
                                                 ({"caption_style": "tiny"}, "unknown caption style"),
                                                 ({"clips": ()}, "no clips")])
def test_it_refuses_requests_it_can_never_stitch(media, tmp_path, change, message):
    with pytest.raises(AdapterError, match=message) as error:
        stitch(media, tmp_path, **change)
    assert error.value.permanent
