"""Voiceover with espeak-ng: one WAV per narration line, joined with gaps, timings measured from the audio.

espeak-ng is the voice for languages without a neural (Piper) voice; its word timings come from
forced alignment of the script (adapters.local.alignment).
"""
from __future__ import annotations

import re
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from adapters.base import AdapterError, Readiness, Segment, SpeechProvider, SpeechRequest, SpeechResult, check_speech_request
from adapters.local.alignment import align_result
from adapters.local.process import run_tool

# A warmer variant than espeak's default buzz, a touch lower than its default pitch (50), at a
# relaxed advertising pace; espeak's own default rate (175 wpm) sounds hurried.
DEFAULT_VARIANT = "m3"
PITCH = 42
DEFAULT_RATE_WPM = 165
MIN_RATE_WPM, MAX_RATE_WPM = 120, 260
# Where a bare language has several espeak voices, the one an international ad most likely wants.
PREFERRED_REGION = {"en": "en-us", "pt": "pt-br"}
# Silence espeak leaves around speech is trimmed to these margins, so timings start at the voice.
LEAD_S, TAIL_S = 0.03, 0.08
SILENCE_LEVEL = 300  # of 32767: below this a sample counts as silence
# Close enough to a target duration to stop adjusting the rate.
TARGET_TOLERANCE = 0.03


@dataclass(frozen=True)
class Take:
    """One narration line as 16-bit mono samples."""

    samples: np.ndarray
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


class EspeakSpeech(SpeechProvider):
    name = "local.espeak"

    def check(self) -> Readiness:
        try:
            version = run_tool(["espeak-ng", "--version"], timeout_s=30).stdout.decode().strip()
        except AdapterError as error:
            return Readiness(False, error.message)
        return Readiness(True, version)

    def synthesize(self, request: SpeechRequest) -> SpeechResult:
        check_speech_request(request)
        voice = espeak_voice(request.voice, request.language)

        with tempfile.TemporaryDirectory(prefix="espeak-") as scratch:
            rate = DEFAULT_RATE_WPM
            takes = [speak(text, voice, rate, Path(scratch), number) for number, text in enumerate(request.segments)]
            if request.target_duration_s is not None:
                takes = fit_to_duration(request, voice, rate, takes, Path(scratch))
        result = write_voiceover(takes, request.gap_s, request.segments, request.out_path)
        # espeak-ng reports no timings of its own: the known script is aligned to its audio.
        return align_result(result, request.language)


def fit_to_duration(request: SpeechRequest, voice: str, rate: int, takes: list[Take], scratch: Path) -> list[Take]:
    """Re-speak at the rate that lands the total near the target; speech time is about inverse to rate."""
    target_speech = request.target_duration_s - request.gap_s * (len(takes) - 1)
    if target_speech <= 0:
        raise AdapterError(
            f"target {request.target_duration_s} s leaves no time to speak between {len(takes) - 1} gaps",
            permanent=True,
        )
    for _ in range(2):
        spoken = sum(take.duration_s for take in takes)
        if abs(spoken - target_speech) <= TARGET_TOLERANCE * target_speech:
            break
        new_rate = min(max(round(rate * spoken / target_speech), MIN_RATE_WPM), MAX_RATE_WPM)
        if new_rate == rate:
            break
        rate = new_rate
        takes = [speak(text, voice, rate, scratch, number) for number, text in enumerate(request.segments)]
    return takes


def speak(text: str, voice: str, rate: int, scratch: Path, number: int) -> Take:
    """One line spoken to its own WAV, read back with espeak's leading and trailing silence trimmed."""
    text_path, wav_path = scratch / f"line-{number}.txt", scratch / f"line-{number}-{rate}.wav"
    # Text goes through a file: a line starting with "-" would otherwise read as an option.
    text_path.write_text(" ".join(text.split()), encoding="utf-8")
    run_tool(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(PITCH), "-b", "1",
              "-f", str(text_path), "-w", str(wav_path)], timeout_s=120)
    with wave.open(str(wav_path), "rb") as audio:
        if audio.getsampwidth() != 2 or audio.getnchannels() != 1:
            raise AdapterError(f"espeak-ng wrote {audio.getnchannels()} channel(s) of {8 * audio.getsampwidth()} bits")
        sample_rate = audio.getframerate()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)
    if loud.size == 0:
        raise AdapterError(f"espeak-ng produced only silence for {text!r}", permanent=True)
    start = max(0, loud[0] - round(LEAD_S * sample_rate))
    end = min(len(samples), loud[-1] + 1 + round(TAIL_S * sample_rate))
    return Take(samples=samples[start:end], rate=sample_rate)


def write_voiceover(takes: list[Take], gap_s: float, texts: tuple[str, ...], out_path: Path) -> SpeechResult:
    """The takes joined by `gap_s` of silence into one mono WAV, with each line's place on its clock."""
    sample_rate = takes[0].rate
    gap = np.zeros(round(gap_s * sample_rate), dtype="<i2")
    pieces, segments, cursor = [], [], 0
    for index, (take, text) in enumerate(zip(takes, texts)):
        if index:
            pieces.append(gap)
            cursor += len(gap)
        end = cursor + len(take.samples)
        segments.append(Segment(text=text, start_s=cursor / sample_rate, end_s=end / sample_rate))
        pieces.append(take.samples)
        cursor += len(take.samples)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out_path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(sample_rate)
        audio.writeframes(np.concatenate(pieces).astype("<i2").tobytes())
    return SpeechResult(path=out_path, duration_s=cursor / sample_rate, segments=tuple(segments))


def espeak_voice(voice: str, language: str) -> str:
    """The espeak-ng voice for a request: "default" picks the language's voice; else an espeak name like "en-us+f3"."""
    languages, variants = installed_voices()
    if voice == "default":
        tag = language.strip().lower().replace("_", "-")
        primary = tag.split("-")[0]
        candidates = (tag, primary) if tag != primary else (PREFERRED_REGION.get(primary), primary)
        base = next((code for code in candidates if code in languages), None)
        if base is None:
            raise AdapterError(f"espeak-ng has no voice for language {language!r}", permanent=True)
        return f"{languages[base]}+{DEFAULT_VARIANT}"
    base, _, variant = voice.partition("+")
    if base.lower() not in languages:
        raise AdapterError(f"espeak-ng has no voice {base!r}", permanent=True)
    if variant and variant not in variants:
        raise AdapterError(f"espeak-ng has no voice variant {variant!r}", permanent=True)
    return voice


@lru_cache(maxsize=1)
def installed_voices() -> tuple[dict[str, str], frozenset[str]]:
    """Language code -> espeak voice to use for it, and the variant names (the part after "+").

    A code served by several voices (e.g. "fr", listed by fr-fr and fr-be) maps to the one espeak
    ranks first. MBROLA voices are left out: they need the separate mbrola program and databases.
    """
    listing = run_tool(["espeak-ng", "--voices"], timeout_s=30).stdout.decode()
    ranked: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[4].startswith("mb/"):
            continue
        priority, code = int(fields[0]), fields[1].lower()
        also = re.findall(r"\(([^ ]+) (\d+)\)", line)  # "(en 2)(en-gb 3)": other codes it serves, ranked
        offers = [(code, priority)] + [(other.lower(), int(rank)) for other, rank in also]
        for offered, rank in offers:
            if offered not in ranked or rank < ranked[offered][0]:
                ranked[offered] = (rank, code)
    variant_listing = run_tool(["espeak-ng", "--voices=variant"], timeout_s=30).stdout.decode()
    variants = frozenset(match for match in re.findall(r"!v/(\S+)", variant_listing))
    return {code: voice for code, (_, voice) in ranked.items()}, variants
