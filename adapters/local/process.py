"""The one wrapper through which ffmpeg, ffprobe and espeak-ng are run."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from adapters.base import AdapterError, Readiness

STDERR_TAIL = 1500


def run_tool(args: list[str], *, timeout_s: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run an external tool; any failure becomes an AdapterError carrying the tool's stderr tail.

    A missing binary is permanent (retrying cannot help); a non-zero exit or a timeout is not.
    """
    binary = args[0]
    if shutil.which(binary) is None:
        raise AdapterError(f"{binary} is not installed (apt-get install {binary})", permanent=True)
    try:
        result = subprocess.run(args, capture_output=True, timeout=timeout_s, cwd=cwd, check=False)
    except subprocess.TimeoutExpired:
        raise AdapterError(f"{binary} did not finish within {timeout_s:.0f} s") from None
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-STDERR_TAIL:].strip()
        raise AdapterError(f"{binary} exited with {result.returncode}: {tail}")
    return result


def probe(path: Path) -> dict:
    """ffprobe's JSON description of a media file (format and streams)."""
    result = run_tool(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        timeout_s=60,
    )
    return json.loads(result.stdout)


def ffmpeg_readiness(*, filters: tuple[str, ...], encoders: tuple[str, ...]) -> Readiness:
    """Whether this machine's ffmpeg has the filters and encoders a provider needs."""
    try:
        listed_filters = run_tool(["ffmpeg", "-hide_banner", "-filters"], timeout_s=30).stdout.decode()
        listed_encoders = run_tool(["ffmpeg", "-hide_banner", "-encoders"], timeout_s=30).stdout.decode()
    except AdapterError as error:
        return Readiness(False, error.message)
    missing = [name for name in filters if f" {name} " not in listed_filters]
    missing += [name for name in encoders if f" {name} " not in listed_encoders]
    if missing:
        return Readiness(False, f"ffmpeg lacks {', '.join(missing)}")
    return Readiness(True, f"ffmpeg with {', '.join(filters + encoders)}")
