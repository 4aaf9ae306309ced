"""The `music` campaign setting and job override, and a customer's own music as a brand asset: every bad
value is a 400 problem naming the field, and nothing is created."""
from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from adapters.local.process import run_tool
from campaigns.models import BrandAsset, Campaign
from jobs.models import Job
from tests.factories import make_campaign


def create_campaign(api, settings):
    return api.post("/api/v1/campaigns", {"product_id": settings.pop("product_id"), "prompt": "Summer launch",
                                          "output_modes": ["fast_paced", "ugc"], "settings": settings},
                    format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def upload(api, kind, name, content):
    return api.post("/api/v1/brand-assets", {"kind": kind, "file": SimpleUploadedFile(name, content)},
                    format="multipart", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def submit(api, campaign, **overrides):
    body = {"kind": "output_generation",
            "payload": {"campaign_id": str(campaign.id), "output_mode": "fast_paced", **overrides}}
    return api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> bytes:
    """Two seconds of a chord as MP3: what a customer uploads as their own music."""
    path = tmp_path_factory.mktemp("song") / "song.mp3"
    run_tool(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i",
              "aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*277*t):d=2:s=44100", "-c:a", "libmp3lame", str(path)])
    return path.read_bytes()


def problem_fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


def test_music_defaults_to_auto_and_takes_a_mood_or_none(owner_api, product):
    default = create_campaign(owner_api, {"product_id": str(product.id)})
    mood = create_campaign(owner_api, {"product_id": str(product.id), "music": "Calm"})
    silent = create_campaign(owner_api, {"product_id": str(product.id), "music": "none"})

    assert default.json()["settings"]["music"] == "auto"
    assert mood.status_code == 201 and mood.json()["settings"]["music"] == "calm"
    assert silent.json()["settings"]["music"] == "none"


@pytest.mark.parametrize("value", ["jazz", "", 7, str(uuid.uuid4())])
def test_a_bad_music_value_is_a_400_and_no_campaign(owner_api, product, value):
    response = create_campaign(owner_api, {"product_id": str(product.id), "music": value})

    assert problem_fields(response) == {"settings.music"}
    assert Campaign.objects.count() == 0


def test_a_customer_uploads_music_and_a_campaign_and_job_use_it(owner_api, outsider_api, owner, product, song):
    response = upload(owner_api, "music", "our-jingle.mp3", song)
    assert response.status_code == 201, response.json()
    asset = BrandAsset.objects.get(pk=response.json()["id"])
    assert asset.kind == "music" and asset.file.name.endswith(".mp3") and asset.size_bytes == len(song)

    created = create_campaign(owner_api, {"product_id": str(product.id), "music": str(asset.id)})
    assert created.status_code == 201
    job = submit(owner_api, Campaign.objects.get(pk=created.json()["id"]))
    assert job.status_code == 201, job.json()
    music = Job.objects.get(pk=job.json()["id"]).snapshot["settings"]["music"]
    assert music == {"id": str(asset.id), "storage_name": asset.file.name, "sha256": asset.sha256}

    # Another workspace cannot name it.
    outsider_campaign = create_campaign(outsider_api, {"product_id": str(product.id), "music": str(asset.id)})
    assert outsider_campaign.status_code == 400


def test_a_job_overrides_music_and_bad_overrides_are_400s(owner_api, owner, product):
    campaign = make_campaign(owner.workspace, product)

    silent = submit(owner_api, campaign, music="none")
    assert silent.status_code == 201
    assert Job.objects.get(pk=silent.json()["id"]).snapshot["settings"]["music"] == "none"
    for value in ("disco", str(uuid.uuid4())):
        assert problem_fields(submit(owner_api, campaign, music=value)) == {"payload.music"}
    assert Job.objects.count() == 1


def test_an_image_or_a_damaged_file_is_not_accepted_as_music(owner_api, song):
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(picture, "PNG")

    for name, content in [("cover.png", picture.getvalue()), ("song.mp3", b"ID3" + b"\x00" * 400),
                          ("notes.txt", b"la la la"), ("half.mp3", song[: len(song) // 50])]:
        response = upload(owner_api, "music", name, content)
        assert problem_fields(response) == {"file"}, name
    assert not BrandAsset.objects.filter(kind="music").exists()


def test_a_video_file_is_not_music(owner_api, tmp_path: Path):
    video = tmp_path / "clip.mp4"
    run_tool(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=2",
              "-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(video)])

    response = upload(owner_api, "music", "clip.mp4", video.read_bytes())
    assert problem_fields(response) == {"file"}
    assert "no video" in response.json()["errors"][0]["detail"]


def test_music_over_the_size_limit_is_refused(owner_api, song, settings):
    settings.ADFAME_MAX_AUDIO_BYTES = len(song) - 1

    response = upload(owner_api, "music", "song.mp3", song)
    assert problem_fields(response) == {"file"}
    assert "limit" in response.json()["errors"][0]["detail"]
