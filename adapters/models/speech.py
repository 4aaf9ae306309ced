"""Voiceover with a local Coqui TTS model: one take per line, joined with gaps, timings measured from the audio.

The model folder (ADFAME_TTS_PATH) holds Coqui's `config.json` and a checkpoint, as Coqui's
releases and its trainer write them. It is loaded once per provider instance, through Coqui's own
`load_config`, `setup_model` and `load_checkpoint`, and spoken through the model's `synthesize`:
end-to-end models such as VITS give a waveform, spectrogram models are vocoded with Griffin-Lim.

Takes are measured and joined exactly as the espeak-ng provider does (its `Take` and
`write_voiceover`), so both families hand the engine the same timings; word timings come from
forced alignment of the script (adapters.local.alignment), as for espeak-ng.
"""
from __future__ import annotations

import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adapters.base import AdapterError, Readiness, SpeechProvider, SpeechRequest, SpeechResult, check_speech_request
from adapters.local.alignment import align_result
from adapters.local.process import run_tool
from adapters.local.speech import LEAD_S, SILENCE_LEVEL, TAIL_S, TARGET_TOLERANCE, Take, write_voiceover
from adapters.models.runtime import folder_readiness, torch_device, weights_folder

# Checkpoint names used by Coqui's releases ("model_file.pth", "model.pth") and its trainer ("best_model.pth").
CHECKPOINT_NAMES = ("model.pth", "model_file.pth", "best_model.pth", "model_file.pth.tar", "best_model.pth.tar")
# How far a model's durations may be scaled before its voice turns to mumbling or a drawl.
MIN_LENGTH_SCALE, MAX_LENGTH_SCALE = 0.6, 1.7
# ffmpeg's atempo keeps its quality within one octave of speed either way.
MIN_TEMPO, MAX_TEMPO = 0.5, 2.0
# Each line is spoken with the same noise every time, so a re-spoken line differs only by its pace.
NOISE_SEED = 1234


@dataclass(frozen=True)
class _Loaded:
    model: Any  # a TTS.tts.models.base_tts.BaseTTS
    sample_rate: int
    device: str


class CoquiSpeech(SpeechProvider):
    name = "models.coqui_tts"

    def __init__(self) -> None:
        self._loaded: _Loaded | None = None
        # One model per worker process: loading and speaking (which sets the pace on the model) take turns.
        self._lock = threading.Lock()

    def check(self) -> Readiness:
        readiness = folder_readiness("ADFAME_TTS_PATH", ("config.json",))
        if not readiness.ready:
            return readiness
        folder = weights_folder("ADFAME_TTS_PATH")
        if checkpoint_in(folder) is None:
            return Readiness(False, f"{folder} has no checkpoint (one of {', '.join(CHECKPOINT_NAMES)})")
        return readiness

    def synthesize(self, request: SpeechRequest) -> SpeechResult:
        check_speech_request(request)

        with self._lock:
            loaded = self._load()
            speaker = speaker_for(loaded.model, request.voice)
            language = language_for(loaded.model, request.language)
            voice = _Voice(loaded, speaker, language)
            with tempfile.TemporaryDirectory(prefix="coqui-") as scratch:
                takes = [voice.speak(text, number, pace=1.0) for number, text in enumerate(request.segments)]
                if request.target_duration_s is not None:
                    takes = fit_to_duration(request, voice, takes, Path(scratch))
        result = write_voiceover(takes, request.gap_s, request.segments, request.out_path)
        # Coqui models report no word timings: the known script is aligned to the audio.
        return align_result(result, request.language)

    def _load(self) -> _Loaded:
        if self._loaded is None:
            self._loaded = load_model(weights_folder("ADFAME_TTS_PATH"), torch_device())
        return self._loaded


def checkpoint_in(folder: Path) -> Path | None:
    return next((folder / name for name in CHECKPOINT_NAMES if (folder / name).is_file()), None)


def load_model(folder: Path, device: str) -> _Loaded:
    """The model in `folder` through Coqui's own loading code, on `device`, ready for inference."""
    from TTS.config import load_config
    from TTS.tts.models import setup_model

    checkpoint = checkpoint_in(folder)
    if checkpoint is None:
        raise AdapterError(f"{folder} has no checkpoint (one of {', '.join(CHECKPOINT_NAMES)})", permanent=True)
    try:
        config = load_config(str(folder / "config.json"))
        model = setup_model(config)
        model.load_checkpoint(config, checkpoint_path=str(checkpoint), eval=True)
    # Coqui reports a bad config or a checkpoint of another architecture with many exception types.
    except Exception as exc:  # noqa: BLE001
        raise AdapterError(f"cannot load the Coqui model in {folder}: {exc}", permanent=True) from exc
    # Coqui models are small and run in float32: their flows and Griffin-Lim are not made for half precision.
    model.to(device)
    audio = config.audio
    sample_rate = int(audio.get("output_sample_rate") or audio["sample_rate"])
    return _Loaded(model=model, sample_rate=sample_rate, device=device)


def speaker_for(model: Any, voice: str) -> str | None:
    """The model's speaker for a voice: "default" is a multi-speaker model's first; a one-voice model has only it."""
    manager = model.speaker_manager
    names = sorted(set(manager.speaker_names) | set(manager.embedding_names)) if manager is not None else []
    if len(names) <= 1:
        if voice != "default" and voice not in names:
            raise AdapterError(f"the Coqui model has a single voice, 'default'; not {voice!r}", permanent=True)
        return None
    if voice == "default":
        return names[0]
    if voice not in names:
        raise AdapterError(f"the Coqui model has no speaker {voice!r}; it has {', '.join(names)}", permanent=True)
    return voice


def language_for(model: Any, language: str) -> str | None:
    """The model's name for a BCP 47 tag on a multilingual model ("en-US" finds "en" or "en-us"); None on others."""
    names = model.language_manager.language_names
    if len(names) <= 1:
        return None
    tag = language.strip().lower().replace("_", "-")
    primary = tag.split("-")[0]
    by_lower = {name.lower(): name for name in names}
    for candidate in (tag, primary):
        if candidate in by_lower:
            return by_lower[candidate]
    same_language = [name for name in names if name.lower().replace("_", "-").split("-")[0] == primary]
    if same_language:
        return same_language[0]
    raise AdapterError(f"the Coqui model does not speak {language!r}; it speaks {', '.join(names)}", permanent=True)


class _Voice:
    """One request's speaker and language on the loaded model."""

    def __init__(self, loaded: _Loaded, speaker: str | None, language: str | None) -> None:
        self.loaded, self.speaker, self.language = loaded, speaker, language

    @property
    def paced(self) -> bool:
        """Whether the model scales its own durations (VITS and the forward models do); else ffmpeg stretches."""
        return isinstance(getattr(self.loaded.model, "length_scale", None), (int, float))

    def speak(self, text: str, number: int, *, pace: float) -> Take:
        """One line as 16-bit samples with the model's leading and trailing silence trimmed; `pace` scales durations."""
        import torch

        model = self.loaded.model
        if not model.tokenizer.text_to_ids(text, language=self.language):
            raise AdapterError(f"the Coqui model cannot spell any character of {text!r}", permanent=True)
        devices = list(range(torch.cuda.device_count())) if self.loaded.device == "cuda" else []
        if self.paced:
            model.length_scale = pace
        try:
            with torch.inference_mode(), torch.random.fork_rng(devices=devices):
                torch.manual_seed(NOISE_SEED + number)
                outputs = model.synthesize(text, speaker=self.speaker, language=self.language, use_griffin_lim=True)
        except RuntimeError as exc:  # out of memory, or a device that went away: another try may succeed
            raise AdapterError(f"Coqui TTS failed on {text!r}: {exc}") from exc
        wav = outputs["wav"]
        if wav is None:
            raise AdapterError("the Coqui model gave no waveform (it needs a separate vocoder)", permanent=True)
        wav = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
        samples = (np.clip(wav.squeeze().astype(np.float32), -1.0, 1.0) * 32767).astype("<i2")
        return trimmed(samples, self.loaded.sample_rate, text)


def trimmed(samples: np.ndarray, rate: int, text: str) -> Take:
    """A take cut to its voice plus the espeak provider's margins, so timings start and end at the speech."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)
    if loud.size == 0:
        raise AdapterError(f"the Coqui model produced only silence for {text!r}", permanent=True)
    start = max(0, loud[0] - round(LEAD_S * rate))
    end = min(len(samples), loud[-1] + 1 + round(TAIL_S * rate))
    return Take(samples=samples[start:end], rate=rate)


def fit_to_duration(request: SpeechRequest, voice: _Voice, takes: list[Take], scratch: Path) -> list[Take]:
    """Re-speak at the pace that lands the total near the target, or stretch the takes where the model has no pace."""
    target_speech = request.target_duration_s - request.gap_s * (len(takes) - 1)
    if target_speech <= 0:
        raise AdapterError(
            f"target {request.target_duration_s} s leaves no time to speak between {len(takes) - 1} gaps",
            permanent=True,
        )
    spoken = sum(take.duration_s for take in takes)
    if abs(spoken - target_speech) <= TARGET_TOLERANCE * target_speech:
        return takes
    if not voice.paced:
        tempo = min(max(spoken / target_speech, MIN_TEMPO), MAX_TEMPO)
        return [stretched(take, tempo, scratch, number) for number, take in enumerate(takes)]
    # Durations scale about linearly with the pace; rounding each token's frames up bends that a little.
    pace = 1.0
    for _ in range(2):
        new_pace = min(max(pace * target_speech / spoken, MIN_LENGTH_SCALE), MAX_LENGTH_SCALE)
        if abs(new_pace - pace) < 1e-3:
            break
        pace = new_pace
        takes = [voice.speak(text, number, pace=pace) for number, text in enumerate(request.segments)]
        spoken = sum(take.duration_s for take in takes)
        if abs(spoken - target_speech) <= TARGET_TOLERANCE * target_speech:
            break
    return takes


def stretched(take: Take, tempo: float, scratch: Path, number: int) -> Take:
    """The take played `tempo` times as fast at the same pitch (ffmpeg's atempo)."""
    source, target = scratch / f"line-{number}.wav", scratch / f"line-{number}-x{tempo:.3f}.wav"
    write_voiceover([take], 0.0, ("",), source)
    run_tool(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source), "-filter:a", f"atempo={tempo:.4f}",
              "-ac", "1", "-ar", str(take.rate), "-c:a", "pcm_s16le", str(target)], timeout_s=120)
    with wave.open(str(target), "rb") as audio:
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    return Take(samples=samples, rate=take.rate)
