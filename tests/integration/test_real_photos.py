"""Real photographs through every output mode, the way a customer would send them: the public API, a
real worker, the embedded CPU providers (U²-Net cut-out, Piper voice, music beds, ffmpeg).

scikit-image ships the four photos (coffee, astronaut, chelsea the cat, rocket). Each one becomes a
product uploaded as a JPEG, a campaign in all four modes, and one job per mode, run together on one
worker started once for the module. What a viewer would notice is measured on the outputs: voice
where one is asked, music everywhere, loudness at the platforms' level, the contract's length, no
black frames, word-group captions beside the video, and every still scored against the photo.
"""
from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from skimage import data as photos

from jobs.models import Asset, Job, JobStatus, JobStep
from tests.integration.conftest import purge_queues, running_worker, wait_for
from tests.integration.helpers import asset_path, black_intervals, finals, loudness, probe, video_stream

pytestmark = pytest.mark.django_db(transaction=True)

# name, description and prompt a marketer would write for each photo.
PRODUCTS = {
    "coffee": ("Morning espresso", "A ceramic cup of dark roast espresso with a rich crema, served on a saucer.",
               "Wake up to a proper cup: slow mornings for coffee lovers."),
    "astronaut": ("Mission portrait print", "A framed print of an astronaut in her suit, with the flag behind her.",
                  "Launch the poster for space fans and classrooms."),
    "chelsea": ("Tabby portrait", "A close-up portrait of a tabby cat with amber eyes, printed on canvas.",
                "A gift for cat people who love their pets."),
    "rocket": ("Launch day model", "A detailed model of a rocket on its launch pad with the service towers.",
               "Celebrate launch day with the model kit for young engineers."),
}
MODES = ("image_bundle", "fast_paced", "script_to_video", "ugc")
DURATION_S = 8.0
LOUDNESS_LUFS, TRUE_PEAK_DBTP = -14.0, -1.0


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    purge_queues()
    with running_worker() as worker:
        yield worker


def photo_jpeg(name: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(getattr(photos, name)()).save(out, "JPEG", quality=92)
    return out.getvalue()


def post(api, path: str, body, **kwargs):
    response = api.post(path, body, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **kwargs)
    assert response.status_code == 201, response.json()
    return response.json()


def submit_every_mode(api, photo: str) -> dict[str, str]:
    name, description, prompt = PRODUCTS[photo]
    product = post(api, "/api/v1/products", {"images": [SimpleUploadedFile(f"{photo}.jpg", photo_jpeg(photo))],
                                            "name": name, "description": description}, format="multipart")
    # Product setup first, as a client does: its checkpoint (cut out or not) feeds every job's snapshot.
    setup = post(api, "/api/v1/jobs", {"kind": "product_setup", "payload": {"product_id": product["id"]}}, format="json")
    assert wait_for(setup["id"], timeout_s=300).status == JobStatus.SUCCEEDED
    campaign = post(api, "/api/v1/campaigns", {
        "product_id": product["id"], "prompt": prompt, "output_modes": list(MODES),
        "settings": {"aspect_ratios": ["9:16", "1:1"], "duration_s": DURATION_S, "scene_count": 3,
                     "call_to_action": "Shop now"},
    }, format="json")
    return {
        mode: post(api, "/api/v1/jobs", {"kind": "output_generation",
                                         "payload": {"campaign_id": campaign["id"], "output_mode": mode}}, format="json")["id"]
        for mode in MODES
    }


@pytest.mark.parametrize("photo", list(PRODUCTS))
def test_a_real_photo_makes_a_finished_ad_in_every_mode(worker, owner, photo):
    job_ids = submit_every_mode(owner.api, photo)
    jobs = {mode: wait_for(job_id, timeout_s=600) for mode, job_id in job_ids.items()}
    for mode, job in jobs.items():
        assert job.status == JobStatus.SUCCEEDED, (mode, job.error)

    # Every still was scored against the uploaded photo and is faithful to it: none needs review.
    for job in jobs.values():
        for step in JobStep.objects.filter(job=job, stage="scene_image"):
            fidelity = step.outputs["fidelity"]
            assert fidelity["attempts"] and not fidelity["review"], (step.scene, step.outputs)

    bundle = jobs["image_bundle"]
    assert Asset.objects.filter(job=bundle, role="scene", kind="image").count() == 3 * 2

    for mode in ("fast_paced", "script_to_video", "ugc"):
        job = jobs[mode]
        videos = finals(job)
        assert videos, mode
        for ratio, path in videos.items():
            info = probe(path)
            stream = video_stream(info)
            assert stream["codec_name"] == "h264"
            duration = float(info["format"]["duration"])
            assert abs(duration - DURATION_S) <= 0.05 * DURATION_S, (mode, ratio, duration)
            level = loudness(path)
            # Music everywhere (the fast-paced ad has no voice, so this is the bed alone).
            assert abs(level.integrated_lufs - LOUDNESS_LUFS) <= 1.0, (mode, ratio, level)
            assert level.true_peak_dbtp <= TRUE_PEAK_DBTP + 0.05, (mode, ratio, level)
            assert black_intervals(path) == [], (mode, ratio)

    for mode in ("script_to_video", "ugc"):
        job = jobs[mode]
        voice = JobStep.objects.get(job=job, stage="voiceover").outputs
        assert voice["timing_source"] == "piper"
        spoken = [word["text"] for word in voice["words"]]
        narration = " ".join(board_lines(job))
        assert len(spoken) >= len(narration.split()) * 0.9, (spoken, narration)
        captions = Asset.objects.filter(job=job, role="captions")
        srt = {asset.aspect_ratio: asset for asset in captions if asset.file.name.endswith(".srt")}
        vtt = {asset.aspect_ratio: asset for asset in captions if asset.file.name.endswith(".vtt")}
        assert set(srt) == set(vtt) == set(finals(job)), (mode, list(captions))
        for ratio in srt:
            assert asset_path(vtt[ratio]).read_text(encoding="utf-8").startswith("WEBVTT")
            text = asset_path(srt[ratio]).read_text(encoding="utf-8")
            cues = [block.splitlines()[2:] for block in text.strip().split("\n\n")]
            # Word groups, not whole sentences: a UGC cue is 2-4 words, an explainer cue one line.
            longest = max(len(" ".join(lines).split()) for lines in cues)
            assert longest <= (4 if mode == "ugc" else 12), (mode, cues)
            # Never more than a line's worth, and a UGC line is always split into several cues.
            assert len(cues) >= len(board_lines(job)), (mode, cues)
            if mode == "ugc":
                assert len(cues) > len(board_lines(job)), cues


def board_lines(job: Job) -> list[str]:
    board = JobStep.objects.get(job=job, stage="script").outputs["storyboard"]
    return [scene["narration"] for scene in board["scenes"] if scene["narration"].strip()]
