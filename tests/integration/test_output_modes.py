"""Each output mode completes on a real worker from a product photo, and its media is probed."""
from __future__ import annotations

import zipfile

import pytest

from jobs.models import Asset, JobStatus, JobStep
from tests.integration.conftest import purge_queues, running_worker, wait_for
from tests.integration.helpers import (
    asset_path,
    finals,
    has_audio,
    loudness,
    mean_volume_db,
    probe,
    srt_cues,
    submit_generation,
    video_stream,
)

pytestmark = pytest.mark.django_db(transaction=True)
RATIOS = {"9:16": 9 / 16, "1:1": 1.0, "16:9": 16 / 9}


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    purge_queues()
    with running_worker() as worker:
        yield worker


def assert_video(path, *, ratio: str, duration_s: float) -> dict:
    info = probe(path)
    stream = video_stream(info)
    assert stream["codec_name"] == "h264"
    assert abs(int(stream["width"]) / int(stream["height"]) - RATIOS[ratio]) < 0.01
    assert abs(float(info["format"]["duration"]) - duration_s) <= 0.05 * duration_s
    return info


def narrated_segments(job, stage: str = "script") -> int:
    board = JobStep.objects.get(job=job, stage=stage).outputs["storyboard"]
    return sum(1 for scene in board["scenes"] if scene["narration"].strip())


def test_image_bundle_has_every_ratio_and_a_zip_with_a_manifest(worker, owner, product):
    job = wait_for(submit_generation(owner, product, "image_bundle", aspect_ratios=["9:16", "1:1", "16:9"], scene_count=3))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 100
    scenes = Asset.objects.filter(job=job, role="scene", kind="image")
    assert sorted(scenes.values_list("aspect_ratio", flat=True)) == sorted(["9:16", "1:1", "16:9"] * 3)
    archive = zipfile.ZipFile(asset_path(Asset.objects.get(job=job, role="bundle")))
    names = archive.namelist()
    assert "manifest.json" in names
    for slug in ("9x16", "1x1", "16x9"):
        assert sum(1 for name in names if name.startswith(f"{slug}/") and name.endswith(".jpg")) >= 3


def test_fast_paced_makes_one_video_per_ratio_of_the_contract_length(worker, owner, product):
    job = wait_for(submit_generation(owner, product, "fast_paced", aspect_ratios=["9:16", "16:9"], duration_s=8, scene_count=4))
    assert job.status == JobStatus.SUCCEEDED, job.error
    videos = finals(job)
    assert set(videos) == {"9:16", "16:9"}
    for ratio, path in videos.items():
        info = assert_video(path, ratio=ratio, duration_s=8)
        # Music: an energetic bed at the social platforms' level, not a silent track.
        assert abs(loudness(path).integrated_lufs - -14) <= 1
    assert Asset.objects.filter(job=job, role="poster").count() == 2


def test_script_to_video_is_narrated_with_captions_for_every_segment(worker, owner, product):
    job = wait_for(submit_generation(owner, product, "script_to_video", aspect_ratios=["1:1"], duration_s=12, scene_count=3))
    assert job.status == JobStatus.SUCCEEDED, job.error
    info = assert_video(finals(job)["1:1"], ratio="1:1", duration_s=12)
    assert has_audio(info) and mean_volume_db(finals(job)["1:1"]) > -40
    captions = asset_path(Asset.objects.get(job=job, role="captions", content_type="application/x-subrip"))
    # Captions cue per word group: at least one cue per narrated line, usually several.
    assert srt_cues(captions) >= narrated_segments(job) == 3


def test_ugc_is_vertical_with_voice_and_large_captions(worker, owner, product):
    job = wait_for(submit_generation(owner, product, "ugc", aspect_ratios=["16:9"], duration_s=10, scene_count=3))
    assert job.status == JobStatus.SUCCEEDED, job.error
    videos = finals(job)
    assert set(videos) == {"9:16"}  # UGC is vertical whatever the campaign's ratios
    info = assert_video(videos["9:16"], ratio="9:16", duration_s=10)
    assert has_audio(info) and mean_volume_db(videos["9:16"]) > -40
    captions = asset_path(Asset.objects.get(job=job, role="captions", content_type="application/x-subrip"))
    assert srt_cues(captions) > narrated_segments(job)  # 2-4 words a cue
    assert set(JobStep.objects.filter(job=job).values_list("stage", flat=True)) == {
        "script", "voiceover", "scene_image", "scene_video", "stitch"
    }


def test_the_api_shows_progress_steps_and_asset_urls(worker, owner, product):
    job_id = submit_generation(owner, product, "image_bundle", scene_count=2)
    wait_for(job_id)
    body = owner.api.get(f"/api/v1/jobs/{job_id}").json()
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert body["steps"]["succeeded"] == body["steps"]["total"] == 4
    bundle = next(asset for asset in body["assets"] if asset["role"] == "bundle")
    assert owner.api.get(bundle["url"]).status_code == 200
    steps = owner.api.get(f"/api/v1/jobs/{job_id}/steps").json()
    assert [step["stage"] for step in steps] == ["storyboard", "scene_image", "scene_image", "bundle"]
    assert all(step["attempt"] == 1 and step["provider"] and step["duration_ms"] is not None for step in steps)
    assert steps[1]["history"][0]["outcome"] == "succeeded"
