"""The default voice: Piper's neural voice where a language has one, espeak-ng for every other language.

A request's `voice` may name either family's voice: a Piper voice name ("en_US-joe-medium") is
spoken by Piper, anything else ("default" in a language without a Piper voice, or an espeak-ng
name like "en-us+f3") by espeak-ng. Both hand back word timings: Piper's own, espeak-ng's by
forced alignment.
"""
from __future__ import annotations

import re

from adapters.base import Readiness, SpeechProvider, SpeechRequest, SpeechResult
from adapters.local.alignment import aligners
from adapters.local.piper import PiperSpeech, installed_voices
from adapters.local.speech import EspeakSpeech


class VoiceRouter(SpeechProvider):
    name = "local.voice"

    def __init__(self) -> None:
        self.piper = PiperSpeech()
        self.espeak = EspeakSpeech()

    def choose(self, voice: str, language: str) -> SpeechProvider:
        """The provider that speaks this voice and language: Piper when it has the voice, espeak-ng otherwise."""
        return self.piper if self.piper.check().ready and self.piper.speaks(voice, language) else self.espeak

    def check(self) -> Readiness:
        espeak = self.espeak.check()
        piper = self.piper.check()
        if not espeak.ready and not piper.ready:
            return Readiness(False, f"no voice: {piper.detail}; {espeak.detail}")
        return Readiness(True, f"{active_voices(piper.ready, espeak)}; word timings: {aligners()}")

    def synthesize(self, request: SpeechRequest) -> SpeechResult:
        return self.choose(request.voice, request.language).synthesize(request)


def active_voices(piper_ready: bool, espeak: Readiness) -> str:
    """Which voice speaks which language, e.g. "en: piper en_US-joe-medium; other languages: espeak-ng 1.51"."""
    parts = []
    if piper_ready:
        by_language: dict[str, list[str]] = {}
        for files in installed_voices().values():
            by_language.setdefault(files.language.split("-")[0], []).append(files.name)
        parts += [f"{language}: piper {', '.join(names)}" for language, names in sorted(by_language.items())]
    if espeak.ready:
        version = re.search(r"\d+(\.\d+)+", espeak.detail)
        parts.append(f"{'other languages' if parts else 'all languages'}: espeak-ng{' ' + version[0] if version else ''}")
    else:
        parts.append(f"other languages: none ({espeak.detail})")
    return "; ".join(parts)
