"""Submitting jobs and reading their media the way a client would."""
from __future__ import annotations

import json
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage

from jobs.models import Asset, Job
from tests.factories import make_campaign


def submit_generation(owner: Any, product: Any, mode: str, **settings: Any) -> str:
    campaign = make_campaign(owner.workspace, product, modes=[mode], **settings)
    body = {"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": mode}}
    response = owner.api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def asset_path(asset: Asset) -> Path:
    return Path(default_storage.path(asset.file.name))


def finals(job: Job) -> dict[str, Path]:
    """The job's final videos by aspect ratio."""
    return {a.aspect_ratio: asset_path(a) for a in Asset.objects.filter(job=job, role="final", kind="video")}


def probe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=True,
    )
    return json.loads(result.stdout)


def video_stream(info: dict[str, Any]) -> dict[str, Any]:
    return next(stream for stream in info["streams"] if stream["codec_type"] == "video")


def has_audio(info: dict[str, Any]) -> bool:
    return any(stream["codec_type"] == "audio" for stream in info["streams"])


def mean_volume_db(path: Path) -> float:
    result = subprocess.run(
        ["ffmpeg", "-v", "info", "-i", str(path), "-af", "volumedetect", "-vn", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    line = next(line for line in result.stderr.splitlines() if "mean_volume" in line)
    return float(line.split("mean_volume:")[1].split("dB")[0])


def srt_cues(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if "-->" in line)


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


def loudness(path: Path) -> Loudness:
    """Integrated loudness and true peak of a file's audio, by ffmpeg's EBU R128 meter."""
    result = subprocess.run(
        ["ffmpeg", "-nostats", "-v", "info", "-i", str(path), "-vn", "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:"):]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return Loudness(float(integrated.group(1)), float(peak.group(1)))


def black_intervals(path: Path, *, min_s: float = 0.1) -> list[str]:
    """Stretches of (near) black picture of at least min_s seconds, as ffmpeg's blackdetect reports them."""
    result = subprocess.run(
        ["ffmpeg", "-nostats", "-v", "info", "-i", str(path), "-an",
         "-vf", f"blackdetect=d={min_s}:pix_th=0.08:pic_th=0.98", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    return [line for line in result.stderr.splitlines() if "black_start" in line]
