"""Validation of a customer's own music upload: by decoding it with ffmpeg, never by its name.

A file is accepted when ffprobe finds a known audio container with exactly one audio stream (an
MP3's embedded cover art is allowed; real video is not) lasting between one second and ten
minutes, and ffmpeg decodes all of it without an error. The bytes are stored as uploaded.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from campaigns.images import UploadRejected, _read_bounded

# ffprobe's format names of the containers accepted, and the extension each is stored with.
ACCEPTED_AUDIO = {"mp3": ".mp3", "wav": ".wav", "ogg": ".ogg", "flac": ".flac", "mov,mp4,m4a,3gp,3g2,mj2": ".m4a",
                  "aac": ".aac"}
MIN_DURATION_S, MAX_DURATION_S = 1.0, 600.0
DECODE_TIMEOUT_S = 60


@dataclass(frozen=True)
class ValidatedAudio:
    content: bytes
    extension: str
    sha256: str
    duration_s: float


def audio_validate(upload: UploadedFile) -> ValidatedAudio:
    """Accept an MP3, WAV, Ogg (Vorbis, Opus), FLAC or M4A/AAC file that decodes completely."""
    data = _read_bounded(upload, settings.ADFAME_MAX_AUDIO_BYTES)
    with tempfile.TemporaryDirectory(prefix="audio-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        info = _probe(path)
        format_name = info.get("format", {}).get("format_name", "")
        if format_name not in ACCEPTED_AUDIO:
            raise UploadRejected("The file is not an MP3, WAV, Ogg, FLAC or M4A audio file.")
        streams = info.get("streams", [])
        audio = [s for s in streams if s.get("codec_type") == "audio"]
        video = [s for s in streams if s.get("codec_type") == "video"
                 and not (s.get("disposition") or {}).get("attached_pic")]
        if len(audio) != 1 or video:
            raise UploadRejected("The file must hold exactly one audio stream and no video.")
        duration = float(info["format"].get("duration") or audio[0].get("duration") or 0)
        if not MIN_DURATION_S <= duration <= MAX_DURATION_S:
            raise UploadRejected(
                f"The audio lasts {duration:.1f} s; music must last {MIN_DURATION_S:.0f} s to {MAX_DURATION_S:.0f} s."
            )
        _decode(path)
    return ValidatedAudio(content=data, extension=ACCEPTED_AUDIO[format_name], sha256=hashlib.sha256(data).hexdigest(),
                          duration_s=duration)


def _probe(path: Path) -> dict:
    try:
        result = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True, timeout=DECODE_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        raise UploadRejected("The file could not be read as audio in time.") from None
    if result.returncode != 0:
        raise UploadRejected("The file is not an audio file ffmpeg can read.")
    return json.loads(result.stdout or b"{}")


def _decode(path: Path) -> None:
    """Decode every sample; a truncated or damaged file is refused here, not in a job later."""
    try:
        result = subprocess.run(
            ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-map", "0:a:0", "-f", "null", "-"],
            capture_output=True, timeout=DECODE_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        raise UploadRejected("The audio could not be decoded in time.") from None
    if result.returncode != 0 or result.stderr.strip():
        raise UploadRejected("The audio is damaged or truncated and cannot be decoded.")
