"""Music beds by mood: the bundled library (immich-memories-music) or a customer's own upload.

The library is 28 instrumental beds of about 30 s in five mood folders (calm, energetic, happy,
nostalgic, tender), generated with ACE-Step 1.5 and released under MIT with no attribution
required (see the package's LICENSE-MUSIC). The stitch loops a bed for as long as the video lasts.

A video's mood follows its mode (fast cuts want energy, an explainer wants calm, a creator's
story wants warmth) unless the prompt says otherwise ("relaxing spa day" is calm whatever the
mode). The track within a mood is drawn from the job's seed, so a retry or a re-run of the same
job gets the same bed and two jobs of one campaign usually differ.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from adapters.base import AdapterError

MOODS = ("calm", "energetic", "happy", "nostalgic", "tender")
AUDIO_SUFFIXES = (".opus", ".ogg", ".mp3", ".m4a", ".flac", ".wav")
# The setting's two words; anything else is a mood or a brand asset id.
AUTO, NONE = "auto", "none"

MODE_MOODS = {"fast_paced": "energetic", "script_to_video": "calm", "ugc": "happy"}
# Prompt words that move the mood, by stem (so "relaxing", "celebration" and "families" count).
MOOD_WORDS = {
    "calm": ("relax", "calm", "spa", "sleep", "yoga", "meditat", "peace", "gentle", "quiet", "soothing", "mindful",
             "wellness", "slow", "cozy", "cosy", "serene", "explain", "tutorial", "guide", "how to"),
    "energetic": ("party", "energ", "sport", "workout", "gym", "run", "fitness", "fast", "power", "action", "launch",
                  "sale", "drop", "hype", "bold", "race", "dance", "extreme", "adventure", "hike", "hiking", "trail"),
    "happy": ("fun", "happy", "summer", "joy", "celebrat", "bright", "sunny", "playful", "birthday", "holiday",
              "friends", "smile", "colorful", "colourful", "fresh"),
    "nostalgic": ("vintage", "retro", "classic", "heritage", "memor", "nostalg", "tradition", "old school",
                  "handmade", "craft", "since 19", "legacy"),
    "tender": ("family", "families", "love", "baby", "gift", "wedding", "mother", "mom", "mum", "father", "dad",
               "care", "kids", "child", "home", "heart", "romant", "valentine", "grandma", "grandpa", "pet"),
}
# How much the mode's own mood counts against prompt words: one clear word is enough to move it.
MODE_WEIGHT = 0.9


@dataclass(frozen=True)
class Bed:
    """The music a video gets: a file (None for silence), its mood and where it came from."""

    path: Path | None
    mood: str  # a mood of MOODS, "upload" or "none"
    source: str  # library | upload | none

    def record(self) -> dict[str, str]:
        """What the stitch step records of its music."""
        return {"mood": self.mood, "source": self.source, "track": self.path.name if self.path else ""}


def library_dir() -> Path:
    """The mood folders: ADFAME_MUSIC_DIR when set (same layout), else the bundled package's tracks."""
    configured = _setting("ADFAME_MUSIC_DIR")
    if configured:
        return Path(configured)
    try:
        import immich_memories_music
    except ImportError:
        raise AdapterError("no music library: install immich-memories-music or set ADFAME_MUSIC_DIR",
                           permanent=True) from None
    return immich_memories_music.tracks_dir()


def _setting(name: str) -> str:
    try:
        from django.conf import settings

        return str(getattr(settings, name, "") or "") if settings.configured else ""
    except ImportError:  # pragma: no cover
        return ""


def tracks(mood: str, folder: Path | None = None) -> list[Path]:
    """The beds of one mood, in a stable order."""
    folder = (folder or library_dir()) / mood
    return sorted(path for path in folder.glob("*") if path.suffix.lower() in AUDIO_SUFFIXES) if folder.is_dir() else []


def mood_for(mode: str, prompt: str) -> str:
    """The mood of a video: the mode's own, unless the prompt's words point somewhere else."""
    text = " " + re.sub(r"[^a-z0-9 ]+", " ", prompt.lower()) + " "
    scores = {mood: sum(text.count(" " + stem) for stem in stems) for mood, stems in MOOD_WORDS.items()}
    default = MODE_MOODS.get(mode, "happy")
    scores[default] += MODE_WEIGHT
    # Ties go to the mode's mood, then to the order of MOODS: the choice is deterministic.
    return max(MOODS, key=lambda mood: (scores[mood], mood == default, -MOODS.index(mood)))


def choose_track(mood: str, seed: int, folder: Path | None = None) -> Path:
    """One bed of a mood, drawn from the seed (the same seed always gives the same bed)."""
    candidates = tracks(mood, folder)
    if not candidates:
        raise AdapterError(f"the music library has no {mood!r} tracks in {folder or library_dir()}", permanent=True)
    return random.Random(f"{mood}:{seed}").choice(candidates)


def bed_for(setting: str | dict | None, *, mode: str, prompt: str, seed: int, upload: Path | None = None) -> Bed:
    """The bed a job's `music` setting asks for: "auto" (mood from mode and prompt), "none", a
    mood name, or a brand asset (already resolved to the local `upload` file by the caller)."""
    if isinstance(setting, dict) or upload is not None:
        if upload is None:
            raise AdapterError("the music brand asset was not given as a file", permanent=True)
        return Bed(upload, "upload", "upload")
    value = (setting or AUTO).strip().lower()
    if value == NONE:
        return Bed(None, "none", "none")
    mood = mood_for(mode, prompt) if value == AUTO else value
    if mood not in MOODS:
        raise AdapterError(f"unknown music {setting!r}; expected auto, none, one of {', '.join(MOODS)} "
                           "or a music brand asset id", permanent=True)
    return Bed(choose_track(mood, seed), mood, "library")
