"""The Coqui TTS voice: a tiny random VITS loaded from disk, one take per line, timings measured from the audio."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings

from adapters.base import AdapterError, SpeechRequest
from adapters.local.speech import Take
from adapters.models.speech import CoquiSpeech, stretched
from tests.adapters.tiny_tts import SAMPLE_RATE, build_tiny_vits

LINES = ("Meet the new trail runner.", "Light, fast, and built for every mile.", "Order today.")


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    return build_tiny_vits(tmp_path_factory.mktemp("tiny-vits"))


@pytest.fixture(scope="module")
def multi_model_folder(tmp_path_factory) -> Path:
    return build_tiny_vits(tmp_path_factory.mktemp("tiny-vits-multi"), speakers=("ana", "ben"), languages=("en", "fr"))


def request(out: Path, *, segments=LINES, voice="default", language="en", gap_s=0.25, target=None) -> SpeechRequest:
    return SpeechRequest(segments=segments, voice=voice, language=language, out_path=out, gap_s=gap_s,
                         target_duration_s=target)


def wav_of(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        return audio.getframerate(), np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")


def test_segments_are_measured_in_order_and_the_wav_ends_with_the_last_one(model_folder, tmp_path):
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        result = CoquiSpeech().synthesize(request(tmp_path / "voice.wav", gap_s=0.3))

    assert [segment.text for segment in result.segments] == list(LINES)
    assert result.segments[0].start_s == 0
    for segment in result.segments:
        assert segment.end_s - segment.start_s > 0.05
    for before, after in zip(result.segments, result.segments[1:]):
        assert after.start_s == pytest.approx(before.end_s + 0.3, abs=1e-3)
    rate, samples = wav_of(result.path)
    assert rate == SAMPLE_RATE
    assert len(samples) / rate == pytest.approx(result.segments[-1].end_s, abs=1e-3)
    assert result.duration_s == pytest.approx(len(samples) / rate, abs=1e-3)
    assert np.abs(samples.astype(np.int32)).max() > 300  # sound, not silence


def test_a_longer_line_takes_longer(model_folder, tmp_path):
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        result = CoquiSpeech().synthesize(request(tmp_path / "voice.wav"))

    short, long, shortest = (segment.end_s - segment.start_s for segment in result.segments)
    assert shortest < short < long


def test_the_model_is_loaded_once_and_kept_for_later_calls(model_folder, tmp_path):
    speech = CoquiSpeech()
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        first = speech.synthesize(request(tmp_path / "first.wav"))
        # The weights go away: a provider that reloaded per call would fail now.
        with override_settings(ADFAME_TTS_PATH=str(tmp_path / "gone")):
            second = speech.synthesize(request(tmp_path / "second.wav"))

    assert second.segments == first.segments  # the same model, the same noise per line
    assert wav_of(second.path)[1].tobytes() == wav_of(first.path)[1].tobytes()


@pytest.mark.parametrize("stretch", [0.75, 1.4])
def test_it_speaks_faster_or_slower_to_come_close_to_a_target(model_folder, tmp_path, stretch):
    speech = CoquiSpeech()
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        natural = speech.synthesize(request(tmp_path / "natural.wav")).duration_s
        fitted = speech.synthesize(request(tmp_path / "fitted.wav", target=natural * stretch))

    assert fitted.duration_s == pytest.approx(natural * stretch, rel=0.1)
    rate, samples = wav_of(fitted.path)
    assert len(samples) / rate == pytest.approx(fitted.duration_s, abs=1e-3)


def test_ffmpeg_stretches_a_take_where_a_model_has_no_pace_of_its_own(tmp_path):
    seconds = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    tone = Take(samples=(np.sin(2 * np.pi * 220 * seconds) * 8000).astype("<i2"), rate=SAMPLE_RATE)

    faster = stretched(tone, 1.25, tmp_path, 0)

    assert faster.rate == SAMPLE_RATE
    assert faster.duration_s == pytest.approx(2 / 1.25, abs=0.05)


def test_a_multi_speaker_model_speaks_with_the_named_speaker_and_the_first_by_default(multi_model_folder, tmp_path):
    speech = CoquiSpeech()
    with override_settings(ADFAME_TTS_PATH=str(multi_model_folder), ADFAME_MODEL_DEVICE="cpu"):
        default = speech.synthesize(request(tmp_path / "default.wav", segments=LINES[:2], language="en-US"))
        ana = speech.synthesize(request(tmp_path / "ana.wav", segments=LINES[:2], voice="ana", language="en-US"))
        ben = speech.synthesize(request(tmp_path / "ben.wav", segments=LINES[:2], voice="ben", language="en-US"))
        french = speech.synthesize(request(tmp_path / "fr.wav", segments=LINES[:2], voice="ana", language="fr-FR"))

    assert wav_of(default.path)[1].tobytes() == wav_of(ana.path)[1].tobytes()
    assert wav_of(ben.path)[1].tobytes() != wav_of(ana.path)[1].tobytes()
    assert wav_of(french.path)[1].tobytes() != wav_of(ana.path)[1].tobytes()


@pytest.mark.parametrize(
    ("voice", "language", "complaint"),
    [("zoe", "en", "no speaker 'zoe'"), ("ana", "de", "does not speak 'de'")],
)
def test_an_unknown_speaker_or_language_fails_for_good(multi_model_folder, tmp_path, voice, language, complaint):
    with override_settings(ADFAME_TTS_PATH=str(multi_model_folder), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError, match=complaint) as failure:
            CoquiSpeech().synthesize(request(tmp_path / "voice.wav", voice=voice, language=language))
    assert failure.value.permanent


def test_a_single_voice_model_takes_only_the_default_voice(model_folder, tmp_path):
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError, match="single voice") as failure:
            CoquiSpeech().synthesize(request(tmp_path / "voice.wav", voice="en-us+f3"))
    assert failure.value.permanent


@pytest.mark.parametrize("segments", [(), ("Meet the runner.", "  ")])
def test_a_request_with_nothing_to_say_fails_for_good(model_folder, tmp_path, segments):
    with override_settings(ADFAME_TTS_PATH=str(model_folder), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError) as failure:
            CoquiSpeech().synthesize(request(tmp_path / "voice.wav", segments=segments))
    assert failure.value.permanent


def test_it_is_ready_with_a_config_and_a_checkpoint(model_folder):
    with override_settings(ADFAME_TTS_PATH=str(model_folder)):
        readiness = CoquiSpeech().check()
    assert readiness.ready, readiness.detail


def test_it_is_not_ready_without_a_folder_or_a_checkpoint(model_folder, tmp_path):
    (tmp_path / "config.json").write_text((model_folder / "config.json").read_text())

    with override_settings(ADFAME_TTS_PATH=""):
        unset = CoquiSpeech().check()
    with override_settings(ADFAME_TTS_PATH=str(tmp_path / "missing")):
        missing = CoquiSpeech().check()
    with override_settings(ADFAME_TTS_PATH=str(tmp_path)):
        no_checkpoint = CoquiSpeech().check()

    assert not unset.ready and "ADFAME_TTS_PATH is not set" in unset.detail
    assert not missing.ready and "is not a folder" in missing.detail
    assert not no_checkpoint.ready and "no checkpoint" in no_checkpoint.detail


def test_a_checkpoint_of_another_architecture_fails_to_load_for_good(model_folder, multi_model_folder, tmp_path):
    (tmp_path / "config.json").write_text((model_folder / "config.json").read_text())
    (tmp_path / "model.pth").write_bytes((multi_model_folder / "model.pth").read_bytes())

    with override_settings(ADFAME_TTS_PATH=str(tmp_path), ADFAME_MODEL_DEVICE="cpu"):
        with pytest.raises(AdapterError, match="cannot load the Coqui model") as failure:
            CoquiSpeech().synthesize(request(tmp_path / "voice.wav"))
    assert failure.value.permanent
