"""A job wired to the model family (tiny random SDXL, SVD, VITS and a chat endpoint) runs to the end.

The models are built from configs and saved the way real checkpoints are laid out; the worker
loads them from those folders with the providers' real loading code, once per process.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jobs.models import Asset, JobStatus, JobStep
from tests.adapters.tiny_models import build_tiny_sdxl, build_tiny_svd
from tests.adapters.tiny_tts import build_tiny_vits
from tests.integration.conftest import purge_queues, running_worker, wait_for
from tests.integration.helpers import finals, has_audio, probe, submit_generation, video_stream

pytestmark = pytest.mark.django_db(transaction=True)

STORYBOARD = {
    "title": "Aurora: a short explainer",
    "voice_style": "explainer",
    "scenes": [
        {"shot": "hero", "motion": "zoom_in", "headline": "Cold for a day", "narration": "Cold for a whole day.",
         "duration_s": 3},
        {"shot": "cta", "motion": "zoom_out", "headline": "Aurora bottle", "narration": "Get yours today.",
         "duration_s": 3},
    ],
}


@pytest.fixture(scope="module")
def chat_endpoint() -> Iterator[str]:
    """A local OpenAI-compatible endpoint whose model always answers with the storyboard above."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("content-length", 0)))
            content = json.dumps(STORYBOARD)
            self._send({"id": "chatcmpl-1", "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

        def do_GET(self) -> None:  # noqa: N802
            self._send({"object": "list", "data": [{"id": "tiny-llm"}]})

        def _send(self, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def model_worker(tmp_path_factory, chat_endpoint, django_db_setup, django_db_blocker):
    weights: Path = tmp_path_factory.mktemp("weights")
    env = {
        "ADFAME_PROVIDER_TEXT": "adapters.models.text.OpenAICompatibleText",
        "ADFAME_LLM_BASE_URL": chat_endpoint,
        "ADFAME_LLM_MODEL": "tiny-llm",
        "ADFAME_PROVIDER_IMAGE": "adapters.models.image.SdxlImage",
        "ADFAME_SDXL_PATH": str(build_tiny_sdxl(weights / "sdxl")),
        "ADFAME_SDXL_STEPS": "2",
        "ADFAME_PROVIDER_VIDEO": "adapters.models.video.SvdVideo",
        "ADFAME_SVD_PATH": str(build_tiny_svd(weights / "svd")),
        "ADFAME_SVD_STEPS": "2",
        "ADFAME_SVD_FRAMES": "4",
        "ADFAME_SVD_DECODE_CHUNK": "2",
        "ADFAME_PROVIDER_SPEECH": "adapters.models.speech.CoquiSpeech",
        "ADFAME_TTS_PATH": str(build_tiny_vits(weights / "vits")),
        "ADFAME_OUTPUT_SHORT_SIDE": "128",
        "ADFAME_FIDELITY_ON_EXHAUSTED": "keep_best",  # random weights draw noise around the product
    }
    purge_queues()
    with running_worker(env) as worker:
        yield worker


def test_a_script_to_video_job_runs_on_the_model_providers(model_worker, owner, product):
    job = wait_for(
        submit_generation(owner, product, "script_to_video", aspect_ratios=["9:16"], scene_count=2, duration_s=6),
        timeout_s=600,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    providers = dict(JobStep.objects.filter(job=job).values_list("stage", "provider").distinct())
    assert providers["script"] == "models.openai_compatible"
    assert providers["voiceover"] == "models.coqui_tts"
    assert providers["scene_image"] == "models.sdxl"
    assert providers["scene_video"] == "models.svd"
    script = JobStep.objects.get(job=job, stage="script").outputs["storyboard"]
    assert [scene["headline"] for scene in script["scenes"]] == ["Cold for a day", "Aurora bottle"]
    voice = Asset.objects.get(job=job, role="voice")
    assert voice.duration_s > 0
    info = probe(finals(job)["9:16"])
    stream = video_stream(info)
    assert (int(stream["width"]), int(stream["height"])) == (128, 228)
    assert has_audio(info)
    assert abs(float(info["format"]["duration"]) - 6) < 0.5
