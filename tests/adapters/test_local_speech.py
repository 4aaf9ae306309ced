"""The espeak-ng voice: one take per line, gaps between them, timings measured from the audio."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest

from adapters.base import AdapterError, SpeechRequest
from adapters.local.speech import EspeakSpeech, espeak_voice

LINES = ("Meet the new trail runner.", "Light, fast, and built for every mile.", "Order today.")


def speak(out: Path, *, segments=LINES, voice="default", language="en", gap_s=0.25, target=None):
    request = SpeechRequest(segments=segments, voice=voice, language=language, out_path=out, gap_s=gap_s,
                            target_duration_s=target)
    return EspeakSpeech().synthesize(request)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        assert audio.getnchannels() == 1 and audio.getframerate() in (22050, 24000)
        return audio.getnframes() / audio.getframerate()


def test_it_is_ready_where_espeak_ng_is_installed():
    assert EspeakSpeech().check().ready


def test_segments_follow_each_other_with_the_gap_and_add_up_to_the_audio(tmp_path):
    result = speak(tmp_path / "voice.wav", gap_s=0.3)

    assert [segment.text for segment in result.segments] == list(LINES)
    assert result.segments[0].start_s == 0
    for before, after in zip(result.segments, result.segments[1:]):
        assert after.start_s == pytest.approx(before.end_s + 0.3, abs=1e-4)
    spoken = sum(segment.end_s - segment.start_s for segment in result.segments)
    assert spoken + 0.3 * (len(LINES) - 1) == pytest.approx(result.duration_s, abs=1e-4)
    assert result.segments[-1].end_s == pytest.approx(result.duration_s, abs=1e-4)
    assert wav_seconds(result.path) == pytest.approx(result.duration_s, abs=1e-4)


def test_durations_are_measured_so_a_longer_line_takes_longer(tmp_path):
    result = speak(tmp_path / "voice.wav")
    short, long, shortest = (segment.end_s - segment.start_s for segment in result.segments)
    assert shortest < short < long
    assert 0.4 < shortest and long < 4


@pytest.mark.parametrize("stretch", [0.8, 1.35])
def test_it_speaks_faster_or_slower_to_come_close_to_a_target(tmp_path, stretch):
    natural = speak(tmp_path / "natural.wav").duration_s
    target = natural * stretch

    fitted = speak(tmp_path / "fitted.wav", target=target)

    assert fitted.duration_s == pytest.approx(target, rel=0.15)
    assert wav_seconds(fitted.path) == pytest.approx(fitted.duration_s, abs=1e-4)


def test_an_explicit_espeak_voice_is_used_as_given(tmp_path):
    assert espeak_voice("en-us+f3", "en") == "en-us+f3"
    assert speak(tmp_path / "voice.wav", voice="en-us+f3").duration_s > 1


@pytest.mark.parametrize(
    ("language", "voice"), [("en", "en-us"), ("en-US", "en-us"), ("en-GB", "en-gb"), ("fr", "fr-fr"), ("de-AT", "de")]
)
def test_a_bcp_47_language_picks_its_espeak_voice(language, voice):
    assert espeak_voice("default", language).split("+")[0] == voice


@pytest.mark.parametrize(("voice", "language"), [("default", "tlh"), ("default", "xx-YY"), ("zz-top", "en"),
                                                 ("en-us+nobody", "en")])
def test_an_unknown_language_or_voice_is_a_permanent_error(tmp_path, voice, language):
    with pytest.raises(AdapterError, match="no voice") as error:
        speak(tmp_path / "voice.wav", voice=voice, language=language)
    assert error.value.permanent


def test_an_empty_line_is_a_permanent_error(tmp_path):
    with pytest.raises(AdapterError, match="no text") as error:
        speak(tmp_path / "voice.wav", segments=("Hello there.", "  "))
    assert error.value.permanent


def test_every_word_is_timed_by_forced_alignment_of_the_script(tmp_path):
    result = speak(tmp_path / "voice.wav")

    assert result.timing_source == "pocketsphinx"
    assert [word.text for word in result.words] == [word for line in LINES for word in line.split()]
    assert [word.segment for word in result.words] == [n for n, line in enumerate(LINES) for _ in line.split()]
