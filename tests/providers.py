"""Providers for fault-injection tests: real providers wrapped to be slow, flaky or broken.

Their state lives in files under ADFAME_DATA_DIR, because the worker that calls them is another
process than the test that checks them.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from adapters.base import AdapterError, ImageResult, SceneImageRequest
from adapters.local.image import Compositor


def _ledger() -> Path:
    path = Path(os.environ["ADFAME_DATA_DIR"]) / "provider-calls"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_call(kind: str, scene: int) -> int:
    """Append a call to the ledger and return how many calls this (kind, scene) has had."""
    with open(_ledger() / f"{kind}.jsonl", "a") as ledger:
        ledger.write(json.dumps({"scene": scene, "pid": os.getpid(), "t": time.time()}) + "\n")
    return calls(kind).count(scene)


def calls(kind: str) -> list[int]:
    path = _ledger() / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["scene"] for line in path.read_text().splitlines()]


def reset_calls() -> None:
    for path in _ledger().glob("*.jsonl"):
        path.unlink()


class CountingCompositor(Compositor):
    """The real compositor, with every call recorded."""

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        record_call("image", request.scene.number)
        return super().render_scene(request)


class SlowCompositor(Compositor):
    """The real compositor, taking long enough for a test to act while a scene renders."""

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        record_call("image", request.scene.number)
        time.sleep(float(os.environ.get("TEST_IMAGE_DELAY_S", "1.5")))
        return super().render_scene(request)


class FlakyCompositor(Compositor):
    """Fails transiently the first TEST_FLAKY_FAILURES times each scene is rendered."""

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        count = record_call("image", request.scene.number)
        if count <= int(os.environ.get("TEST_FLAKY_FAILURES", "2")):
            raise AdapterError(f"GPU out of memory (simulated, call {count})")
        return super().render_scene(request)


class BrokenCompositor(Compositor):
    """Fails permanently on scene TEST_BROKEN_SCENE, like a provider refusing the content."""

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        record_call("image", request.scene.number)
        if request.scene.number == int(os.environ.get("TEST_BROKEN_SCENE", "2")):
            raise AdapterError("content policy: the provider refuses this prompt", permanent=True)
        return super().render_scene(request)
