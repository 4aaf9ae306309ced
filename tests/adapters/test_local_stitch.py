"""The ffmpeg stitch: exact length and size, an audio track always, ducked music mastered to the loudness
target, word-timed captions inside the safe area (ASS, SRT, WebVTT), poster."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adapters.base import AdapterError, Segment, StitchRequest, Word
from adapters.local import captions as caps
from adapters.local.process import probe, run_tool
from adapters.local.stitch import BED_UNDER_VOICE_DB, FfmpegStitch

SIZE = (270, 480)  # 9:16
FPS = 12
CLIP_S = 1.2
CAPTIONS = (Segment("Meet the new trail runner.", 0.2, 1.0),
            Segment("Light, fast, and built for every mile.", 1.3, 3.3))
# Word timings as a voice would report them: two narration lines, a pause between them.
WORDS = tuple(Word(text, start, end, segment) for text, start, end, segment in [
    ("Meet", 0.20, 0.40, 0), ("the", 0.40, 0.50, 0), ("new", 0.50, 0.70, 0), ("trail", 0.70, 0.85, 0),
    ("runner.", 0.85, 1.00, 0),
    ("Light,", 1.30, 1.60, 1), ("fast,", 1.70, 1.95, 1), ("and", 2.05, 2.20, 1), ("built", 2.20, 2.45, 1),
    ("for", 2.45, 2.60, 1), ("every", 2.60, 2.90, 1), ("mile.", 2.90, 3.30, 1),
])
VOICE_HZ, VOICE_AMPLITUDE, VOICE_S = 800, 0.5, 1.5
MUSIC_HZ, MUSIC_AMPLITUDE = 200, 0.4


def lavfi(out: Path, source: str, *encoding: str) -> Path:
    run_tool(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", source, *encoding, str(out)])
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """Three scene clips that look unlike each other (one of another shape), a tone "voice" that
    speaks for 1.5 s, a spoken sentence (espeak-ng), and a 2 s music loop."""
    folder = tmp_path_factory.mktemp("stitch")
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    looks = [("270x480", "null"), ("270x480", "negate"), ("360x480", "hue=h=240")]
    files = {
        f"clip{index}": lavfi(folder / f"clip{index}.mp4",
                              f"testsrc2=size={size}:rate={FPS}:duration={CLIP_S},{look}", *x264)
        for index, (size, look) in enumerate(looks)
    }
    files["voice"] = lavfi(folder / "voice.wav",
                           f"aevalsrc={VOICE_AMPLITUDE}*sin(2*PI*{VOICE_HZ}*t)*lt(t\\,{VOICE_S}):d=3:s=22050")
    files["speech"] = folder / "speech.wav"
    run_tool(["espeak-ng", "-s", "210", "-w", str(files["speech"]), " ".join(segment.text for segment in CAPTIONS)])
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


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file's audio, measured independently."""
    report = run_tool(["ffmpeg", "-nostats", "-i", str(path), "-vn", "-af", "ebur128=peak=true", "-f", "null", "-"])
    text = report.stderr.decode()
    return (float(re.findall(r"I:\s+(-?[\d.]+) LUFS", text)[-1]),
            float(re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", text)[-1]))


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
    fade = frames(stitch(media, tmp_path / "fade", transition="fade", transition_s=0.5).path)
    boundary = round(CLIP_S * FPS)

    assert np.abs(fade[boundary - 6] - cut[boundary - 6]).mean() < 3  # before the transition: scene 1 as cut
    assert np.abs(fade[boundary + 6] - cut[boundary + 6]).mean() < 3  # after it: scene 2 as cut
    assert np.abs(fade[boundary] - cut[boundary]).mean() > 5  # at the cut: a blend of both


def test_short_clips_are_held_on_their_last_frame_and_long_ones_trimmed(media, tmp_path):
    held = stitch(media, tmp_path / "held", duration_s=4.5)
    trimmed = stitch(media, tmp_path / "trimmed", duration_s=2.0)

    assert held.duration_s == pytest.approx(4.5, rel=0.02)
    tail = frames(held.path)[-round(0.8 * FPS):]
    assert np.abs(tail - tail[0]).mean() < 1
    assert trimmed.duration_s == pytest.approx(2.0, rel=0.02)


# ---- sound ------------------------------------------------------------------------------------------


def test_a_voice_alone_is_stereo_aac_mastered_to_minus_14_lufs_under_minus_1_dbtp(media, tmp_path):
    result = stitch(media, tmp_path, voice=media["speech"])

    stream = audio_stream(result.path)
    assert (stream["codec_name"], stream["channels"], stream["sample_rate"]) == ("aac", 2, "48000")
    assert float(stream["duration"]) == pytest.approx(3 * CLIP_S, rel=0.02)
    integrated, true_peak = ebur128(result.path)
    assert integrated == pytest.approx(-14, abs=1.0)
    assert true_peak <= -1.0


def test_the_loudness_target_and_ceiling_come_from_the_request(media, tmp_path):
    result = stitch(media, tmp_path, voice=media["speech"], music=media["music"], loudness_lufs=-20, true_peak_db=-3)

    integrated, true_peak = ebur128(result.path)
    assert integrated == pytest.approx(-20, abs=1.0)
    assert true_peak <= -3.0


def test_music_alone_is_the_soundtrack_when_there_is_no_voice(media, tmp_path):
    result = stitch(media, tmp_path, music=media["music"])

    audio = samples(result.path)
    assert tone_db(audio, MUSIC_HZ, 1.0, 2.0) > tone_db(audio, VOICE_HZ, 1.0, 2.0) + 30
    assert len(audio) / 8000 == pytest.approx(3 * CLIP_S, rel=0.02)
    integrated, true_peak = ebur128(result.path)
    assert integrated == pytest.approx(-14, abs=1.0) and true_peak <= -1.0


def test_a_silent_stereo_track_is_added_when_there_is_neither_voice_nor_music(media, tmp_path):
    result = stitch(media, tmp_path)

    assert result.has_audio
    assert audio_stream(result.path)["channels"] == 2
    assert np.abs(samples(result.path)).max() < 1e-3
    assert ebur128(result.path)[0] <= -69


def test_music_ducks_under_the_voice(media, tmp_path):
    audio = samples(stitch(media, tmp_path, voice=media["voice"], music=media["music"], duration_s=4.8).path)
    speaking, after = (0.4, 1.2), (2.0, 3.0)  # the voice speaks 0..1.5 s; the bed fades out from 3.3 s

    assert tone_db(audio, MUSIC_HZ, *speaking) < tone_db(audio, MUSIC_HZ, *after) - 6
    # Both stems are levelled before the mix, so without ducking the bed would sit BED_UNDER_VOICE_DB
    # under the voice (the two tones' loudness weighting differs by well under 1 dB); while the
    # voice speaks it sits well below that.
    heard = tone_db(audio, MUSIC_HZ, *speaking) - tone_db(audio, VOICE_HZ, *speaking)
    assert heard < -BED_UNDER_VOICE_DB - 5


# ---- captions: files ---------------------------------------------------------------------------------


def cue_blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in text.strip().split("\n\n")]


def test_the_srt_has_one_cue_per_word_group_of_two_to_four_words_never_across_lines(media, tmp_path):
    result = stitch(media, tmp_path, words=WORDS, caption_style="large")

    cues = cue_blocks(result.captions_path.read_text(encoding="utf-8"))
    texts = [" ".join(cue[2:]) for cue in cues]
    assert [len(text.split()) for text in texts] and all(2 <= len(text.split()) <= 4 for text in texts)
    first_line = set("Meet the new trail runner.".split())
    assert all(set(text.split()) <= first_line or not set(text.split()) & first_line for text in texts)
    assert " ".join(texts) == " ".join(word.text for word in WORDS)  # every word once, in order
    assert cues[0][:2] == ["1", "00:00:00,200 --> " + cues[0][1].split(" --> ")[1]]
    # A group breaks after "Light," / "fast," rather than across the comma where it can.
    assert any(text.endswith(("Light,", "fast,")) for text in texts)


def test_cue_times_are_monotonic_and_each_group_starts_on_its_first_word(media, tmp_path):
    groups = caps.caption_groups(WORDS, "large", SIZE, 5.0)

    for group, following in zip(groups, groups[1:]):
        assert group.start_s < group.end_s <= following.start_s
    assert [group.start_s for group in groups] == [group.words[0].start_s for group in groups]
    assert groups[-1].end_s == pytest.approx(WORDS[-1].end_s + caps.HOLD_S)


def test_the_webvtt_has_its_header_the_same_groups_and_word_timestamps(media, tmp_path):
    result = stitch(media, tmp_path, words=WORDS, caption_style="large", vtt_path=tmp_path / "final.vtt")

    text = result.vtt_path.read_text(encoding="utf-8")
    assert result.vtt_path == tmp_path / "final.vtt" and text.startswith("WEBVTT\n\n")
    srt_cues = cue_blocks(result.captions_path.read_text(encoding="utf-8"))
    vtt_cues = cue_blocks(text.removeprefix("WEBVTT\n\n"))
    assert len(vtt_cues) == len(srt_cues)
    for vtt_cue, srt_cue in zip(vtt_cues, srt_cues):
        assert vtt_cue[0] == srt_cue[1].replace(",", ".")
        assert re.sub(r"<[\d:.]+>", "", " ".join(vtt_cue[1:])) == " ".join(srt_cue[2:])
        stamps = re.findall(r"(\d\d):(\d\d):(\d\d)\.(\d{3})", " ".join(vtt_cue))
        seconds = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in stamps]
        start, end, inner = seconds[0], seconds[1], seconds[2:]
        assert inner == sorted(inner) and all(start < t < end for t in inner)


def test_the_ass_lights_exactly_the_spoken_word_in_each_event():
    groups = caps.caption_groups(WORDS, "large", SIZE, 3.6)
    script = caps.ass(groups, "large", SIZE)
    look = caps.caption_look("large", SIZE)
    events = [line.split(",", 9) for line in script.splitlines() if line.startswith("Dialogue:")]

    assert len(events) == len(WORDS)  # one event per spoken word
    for (_, start, _, *_rest, text), word in zip(events, WORDS):
        lit = re.findall(r"\{\\1c" + re.escape(look.highlight) + r"&\}([^{]+)\{", text)
        assert lit == [word.text]
    starts = [event[1] for event in events]
    assert starts == sorted(starts)
    assert f",{look.primary},{look.highlight}," in script  # the highlight is the style's secondary colour too


def test_without_word_timings_segments_are_split_into_groups_timed_by_characters():
    groups = caps.caption_groups(caps.words_from_segments(CAPTIONS), "large", SIZE, 3.6)

    assert all(2 <= len(group.words) <= 4 for group in groups)
    assert groups[0].start_s == pytest.approx(0.2) and groups[-1].words[-1].end_s == pytest.approx(3.3)
    assert {word.segment for word in groups[1].words} <= {0}
    timed = {word.text: word for group in groups for word in group.words}
    long_word, short_word = timed["runner."], timed["the"]
    assert long_word.end_s - long_word.start_s > short_word.end_s - short_word.start_s


def test_the_explainer_style_shows_a_line_of_words():
    groups = caps.caption_groups(WORDS, "standard", (1080, 1920), 3.6)

    assert len(groups) < len(caps.caption_groups(WORDS, "large", (1080, 1920), 3.6))
    assert all(len(group.lines) == 1 for group in groups)
    assert max(len(group.words) for group in groups) >= 4


def test_without_captions_there_are_no_caption_files(media, tmp_path):
    (tmp_path / "final.srt").write_text("stale", encoding="utf-8")
    (tmp_path / "final.vtt").write_text("stale", encoding="utf-8")
    result = stitch(media, tmp_path)
    assert result.captions_path is None and not (tmp_path / "final.srt").exists()
    assert result.vtt_path is None and not (tmp_path / "final.vtt").exists()


def test_a_poster_jpeg_is_written_at_the_video_size(media, tmp_path):
    result = stitch(media, tmp_path, words=WORDS)

    stream = probe(result.poster_path)["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", *SIZE)


# ---- captions: where they are drawn ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1080, 1920), (1080, 1080), (1920, 1080), (270, 480)])
@pytest.mark.parametrize("style", ["large", "standard"])
def test_every_caption_box_lies_inside_the_safe_area_even_for_long_words(size, style):
    long_words = tuple(Word(text, 0.3 * i, 0.3 * i + 0.25, i // 4) for i, text in enumerate(
        "Donaudampfschifffahrtsgesellschaftskapitän liebt Rindfleischetikettierungsüberwachungsaufgaben sehr "
        "🚀 Emoji and ordinary words to finish the line here".split()))
    area = caps.safe_area(size)
    left, top, right, bottom = area.box(size)
    for group in caps.caption_groups(long_words, style, size, 30.0):
        x0, y0, x1, y1 = caps.caption_box(group, style, size)
        assert left - 0.5 <= x0 and x1 <= right + 0.5 and top <= y0 and y1 <= bottom + 0.5, group.text
        assert " ".join(group.line_texts()) == group.text  # wrapped, never cut


def test_emoji_the_font_cannot_draw_stay_in_the_subtitle_files_but_out_of_the_picture():
    words = (Word("Cold", 0.1, 0.4), Word("brew", 0.4, 0.7), Word("\U0001f680\ufe0f", 0.7, 0.8), Word("café", 0.8, 1.2))
    groups = caps.caption_groups(words, "large", SIZE, 2.0)
    script = caps.ass(groups, "large", SIZE)

    assert "\U0001f680" in caps.srt(groups) and "\U0001f680" in caps.vtt(groups)
    assert "\U0001f680" not in script and "\ufe0f" not in script
    assert "café" in script and "brew" in script


def caption_pixels(media, tmp_path: Path, style: str, at_s: float) -> np.ndarray:
    """Where the frame at `at_s` differs from the same render without captions."""
    plain = frames(stitch(media, tmp_path / "plain", transition="cut").path)[round(at_s * FPS)]
    captioned = frames(stitch(media, tmp_path / style, transition="cut", words=WORDS,
                              caption_style=style).path)[round(at_s * FPS)]
    return np.abs(captioned - plain) > 40


@pytest.mark.parametrize("style", ["large", "standard"])
def test_burnt_captions_are_drawn_inside_the_safe_area_and_their_computed_box(media, tmp_path, style):
    at_s = 0.6
    changed = caption_pixels(media, tmp_path, style, at_s)
    # A row or column counts when several of its pixels changed (lone ones are the encoder's noise).
    rows, columns = np.flatnonzero(changed.sum(axis=1) >= 3), np.flatnonzero(changed.sum(axis=0) >= 3)
    left, top, right, bottom = caps.safe_area(SIZE).box(SIZE)
    group = next(g for g in caps.caption_groups(WORDS, style, SIZE, 3.6) if g.start_s <= at_s < g.end_s)
    x0, y0, x1, y1 = caps.caption_box(group, style, SIZE)

    assert changed.sum() > 150
    assert left - 1 <= columns.min() and columns.max() <= right + 1
    assert top <= rows.min() and rows.max() <= bottom + 1
    assert x0 - 2 <= columns.min() and columns.max() <= x1 + 2 and y0 - 2 <= rows.min() and rows.max() <= y1 + 2
    # The band the stills keep clear covers every caption pixel.
    assert rows.min() >= SIZE[1] * (1 - caps.caption_band(style, SIZE)) - 1


def test_the_lit_word_is_drawn_in_the_highlight_colour_where_it_stands(media, tmp_path):
    result = stitch(media, tmp_path, transition="cut", words=WORDS, caption_style="large")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", "0.55", "-i", str(result.path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(SIZE[1], SIZE[0], 3).astype(int)
    # "new" is spoken from 0.5 s to 0.7 s.
    group = next(g for g in caps.caption_groups(WORDS, "large", SIZE, 3.6) if g.start_s <= 0.55 < g.end_s)
    x0, y0, x1, y1 = (round(v) for v in caps.caption_box(group, "large", SIZE))
    red, green, blue = (frame[y0:y1, x0:x1, channel] for channel in range(3))
    yellow = (red > 200) & (green > 170) & (blue < 90)
    white = (red > 215) & (green > 215) & (blue > 215)
    assert yellow.sum() > 15 and white.sum() > 15
    # The yellow lies where "new" stands in its line: after "Meet the", before "trail".
    line = group.line_texts()[0].split()
    index = line.index("new")
    centre = SIZE[0] / 2
    width = caps.text_width(" ".join(line), group.font_px)
    new_from = centre - width / 2 + caps.text_width(" ".join(line[:index]) + " ", group.font_px)
    new_to = new_from + caps.text_width("new", group.font_px)
    columns = np.flatnonzero(yellow.any(axis=0)) + x0
    assert new_from - 4 <= np.median(columns) <= new_to + 4


@pytest.mark.parametrize(("change", "message"), [({"transition": "wipe"}, "unknown transition"),
                                                 ({"caption_style": "tiny"}, "unknown caption style"),
                                                 ({"clips": ()}, "no clips")])
def test_it_refuses_requests_it_can_never_stitch(media, tmp_path, change, message):
    with pytest.raises(AdapterError, match=message) as error:
        stitch(media, tmp_path, **change)
    assert error.value.permanent
