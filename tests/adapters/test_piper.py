"""The Piper voice (the real en_US "joe" model): its audio, its pace, and word timings from its own durations."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from adapters.base import AdapterError, SpeechRequest
from adapters.local.alignment import align_result, script_words
from adapters.local.piper import PiperSpeech, loaded_voice, speak_line, voice_files, with_alignment_output
from adapters.local.speech import EspeakSpeech
from adapters.local.voices import VoiceRouter

LINES = ("Meet the new trail runner.", "Light, fast, and built for every mile of 2024.", "Order today!")
# Caption timings must land on the right video frame; 30 fps is the strictest rate we render at.
FRAME_S = 1 / max(settings.ADFAME_OUTPUT_FPS, 30)


@pytest.fixture(scope="module")
def piper() -> PiperSpeech:
    return PiperSpeech()


@pytest.fixture(scope="module")
def voice():
    return loaded_voice(voice_files("default", "en"))


def speak(piper: PiperSpeech, out: Path, *, segments=LINES, voice="default", language="en", gap_s=0.25, target=None):
    return piper.synthesize(SpeechRequest(segments=segments, voice=voice, language=language, out_path=out,
                                          gap_s=gap_s, target_duration_s=target))


def samples_of(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2"), audio.getframerate()


def test_it_is_ready_with_the_bundled_joe_voice(piper):
    readiness = piper.check()
    assert readiness.ready and "en_US-joe-medium (en-us)" in readiness.detail


def test_the_model_reports_a_duration_for_every_phoneme_that_adds_up_to_its_audio(voice):
    from piper import SynthesisConfig

    chunks = list(voice.synthesize("Coffee. Mountains at sunrise.", SynthesisConfig(normalize_audio=False),
                                   include_alignments=True))
    assert len(chunks) == 2  # one per sentence
    for chunk in chunks:
        assert chunk.phoneme_alignments, "the patched model must expose its durations"
        assert sum(a.num_samples for a in chunk.phoneme_alignments) == len(chunk.audio_float_array)


def test_text_in_double_brackets_is_spoken_as_text_not_read_as_phonemes(voice):
    line = speak_line(voice, "Save [[big]] today", 1.0, 0)
    assert [word.text for word in line.words] == ["Save", "[[big]]", "today"]
    assert line.words[1].end_s > line.words[1].start_s


def test_a_model_without_a_duration_tensor_is_refused():
    with pytest.raises(ValueError, match="Ceil"):
        with_alignment_output(b"\x3a\x00")  # a ModelProto whose graph is empty


def test_word_times_are_the_voices_own_alignment_within_a_frame(voice):
    """Words found by matching phonemisations equal words read naively off the phoneme stream's spaces."""
    line = speak_line(voice, "Coffee mountains sunrise tomorrow", 1.0, 0)
    groups: list[list] = [[]]
    for phoneme in line.phonemes:
        if phoneme.phoneme == " ":
            groups.append([])
        elif phoneme.phoneme not in "ˈˌ,.!?;:":  # stress marks and punctuation make no sound of their own
            groups[-1].append(phoneme)
    groups = [group for group in groups if group]

    assert [word.text for word in line.words] == ["Coffee", "mountains", "sunrise", "tomorrow"]
    assert len(groups) == 4
    for word, group in zip(line.words, groups):
        assert word.start_s == pytest.approx(group[0].start_s, abs=FRAME_S)
        assert word.end_s == pytest.approx(group[-1].end_s, abs=FRAME_S)


def test_words_are_in_order_inside_their_line_and_the_audio_is_clean(piper, tmp_path):
    result = speak(piper, tmp_path / "voice.wav", gap_s=0.3)

    assert result.timing_source == "piper"
    assert [segment.text for segment in result.segments] == list(LINES)
    for number, segment in enumerate(result.segments):
        words = [word for word in result.words if word.segment == number]
        assert [word.text for word in words] == script_words(segment.text)
        for word in words:
            assert segment.start_s <= word.start_s < word.end_s <= segment.end_s + 1e-9
    for before, after in zip(result.words, result.words[1:]):
        assert before.end_s <= after.start_s + 1e-9
    samples, rate = samples_of(result.path)
    assert rate == 22050 and len(samples) / rate == pytest.approx(result.duration_s, abs=1e-4)
    peak = np.abs(samples.astype(np.int32)).max()
    assert 0.8 * 32767 < peak <= 0.9 * 32767  # scaled to -1 dBFS: loud, never clipped


def test_piper_words_agree_with_an_independent_forced_alignment_of_its_audio(piper, tmp_path):
    result = speak(piper, tmp_path / "voice.wav", segments=("Coffee, mountains and sunrise tomorrow.",))
    aligned = align_result(result, "en")

    assert aligned.timing_source == "pocketsphinx"
    for own, forced in zip(result.words, aligned.words):
        assert own.text == forced.text
        assert own.start_s == pytest.approx(forced.start_s, abs=0.1)


@pytest.mark.parametrize("stretch", [0.8, 1.25])
def test_it_speaks_faster_or_slower_to_come_close_to_a_target(piper, tmp_path, stretch):
    natural = speak(piper, tmp_path / "natural.wav").duration_s
    target = natural * stretch

    fitted = speak(piper, tmp_path / "fitted.wav", target=target)

    assert fitted.duration_s == pytest.approx(target, rel=0.1)
    assert fitted.words[-1].end_s <= fitted.duration_s


@pytest.mark.parametrize(("voice", "language"), [("default", "fr"), ("nobody", "en")])
def test_piper_refuses_a_language_or_voice_it_does_not_have(piper, tmp_path, voice, language):
    with pytest.raises(AdapterError, match="no voice") as error:
        speak(piper, tmp_path / "voice.wav", voice=voice, language=language)
    assert error.value.permanent


@pytest.mark.parametrize(("voice", "language", "chosen"), [
    ("default", "en", PiperSpeech), ("default", "en-US", PiperSpeech), ("default", "en-GB", PiperSpeech),
    ("en_US-joe-medium", "en", PiperSpeech), ("default", "fr", EspeakSpeech), ("default", "de-AT", EspeakSpeech),
    ("en-us+f3", "en", EspeakSpeech),
])
def test_the_router_picks_piper_where_it_has_a_voice_and_espeak_elsewhere(voice, language, chosen):
    assert isinstance(VoiceRouter().choose(voice, language), chosen)


def test_the_router_says_which_voice_speaks_which_language():
    readiness = VoiceRouter().check()
    assert readiness.ready
    assert readiness.detail.startswith("en: piper en_US-joe-medium; other languages: espeak-ng 1.")
    assert "word timings: piper's own > pocketsphinx > " in readiness.detail


def test_the_router_speaks_french_with_espeak_and_times_its_words(tmp_path):
    result = VoiceRouter().synthesize(SpeechRequest(segments=("Bonjour, le café est prêt.",), voice="default",
                                                    language="fr", out_path=tmp_path / "fr.wav"))
    assert result.timing_source == "pocketsphinx"  # espeak-ng's voice, aligned: Piper has no French voice here
    assert [word.text for word in result.words] == ["Bonjour,", "le", "café", "est", "prêt."]
