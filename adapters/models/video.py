"""The Stable Video Diffusion video provider: a scene still brought to life by SVD, timed and encoded by ffmpeg.

SVD makes a fixed number of frames (ADFAME_SVD_FRAMES) at its own resolution from the still; ffmpeg
then stretches them over the scene's duration, blending between frames up to the output frame
rate, and scales them to the clip's size as H.264 yuv420p like every other clip. Weights load once
per provider instance (one per worker process) from ADFAME_SVD_PATH.
"""
from __future__ import annotations

import math
import tempfile
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image, ImageOps

from adapters.base import AdapterError, ClipRequest, ClipResult, Readiness, VideoProvider, clip_request_frames
from adapters.local.process import run_tool
from adapters.local.video import TO_YUV, measured_clip
from adapters.models.runtime import folder_readiness, free_memory, torch_device, torch_dtype, weights_folder

REQUIRED_FILES = ("model_index.json", "unet", "vae", "image_encoder", "feature_extractor", "scheduler")
# SVD's micro-conditioning on frame rate was trained on roughly this range.
CONDITIONING_FPS = (3, 30)


def generation_size(size: tuple[int, int], native: int) -> tuple[int, int]:
    """The model's own pixel count (native x native) in the clip's shape, in multiples of 64.

    For SVD (native 768) that is 1024x576 for 16:9, 576x1024 for 9:16 and 768x768 for a square:
    the resolutions it was trained at, whatever size the clip is delivered in.
    """
    width, height = size
    aspect = width / height
    return max(64, round(native * math.sqrt(aspect) / 64) * 64), max(64, round(native / math.sqrt(aspect) / 64) * 64)


def conditioning_fps(frames: int, duration_s: float) -> int:
    """The rate the generated frames will play at once stretched over the scene: SVD moves its
    subject as far per frame as a video at that rate would."""
    low, high = CONDITIONING_FPS
    return min(max(round(frames / duration_s), low), high)


class SvdVideo(VideoProvider):
    """Image-to-video clips from Stable Video Diffusion, from local diffusers weights."""

    name = "models.svd"

    def __init__(self, *, preset: str = "ultrafast", crf: int = 17) -> None:
        # Clips are intermediates that the stitch re-encodes: fast and nearly lossless, like FfmpegMotion's.
        self.preset = preset
        self.crf = crf
        self._pipeline: Any = None
        # One lock for loading and for generating: the scheduler keeps per-call state.
        self._lock = threading.Lock()

    def check(self) -> Readiness:
        return folder_readiness("ADFAME_SVD_PATH", REQUIRED_FILES)

    def animate(self, request: ClipRequest) -> ClipResult:
        import torch

        # 1. Check the request before spending GPU time on it.
        width, height = request.size
        output_frames = clip_request_frames(request)
        frame_count = settings.ADFAME_SVD_FRAMES

        # 2. Generate SVD's frames at its own resolution, conditioned on the still.
        with self._lock:
            pipeline = self._loaded()
            native = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
            gen_size = generation_size(request.size, native)
            with Image.open(request.image) as still:
                condition = ImageOps.fit(still.convert("RGB"), gen_size, Image.Resampling.LANCZOS)
            try:
                frames = pipeline(
                    condition,
                    width=gen_size[0],
                    height=gen_size[1],
                    num_frames=frame_count,
                    num_inference_steps=settings.ADFAME_SVD_STEPS,
                    fps=conditioning_fps(frame_count, request.duration_s),
                    motion_bucket_id=settings.ADFAME_SVD_MOTION_BUCKET,
                    noise_aug_strength=settings.ADFAME_SVD_NOISE_AUG,
                    decode_chunk_size=settings.ADFAME_SVD_DECODE_CHUNK,
                    # Seeded on the CPU: the same seed gives the same noise on any device.
                    generator=torch.Generator("cpu").manual_seed(request.seed),
                ).frames[0]
            except torch.cuda.OutOfMemoryError as exc:
                free_memory()
                raise AdapterError(f"SVD ran out of GPU memory at {gen_size[0]}x{gen_size[1]}: {exc}") from None
            finally:
                if settings.ADFAME_MODEL_OFFLOAD:
                    free_memory()

        # 3. Stretch the frames over the scene's duration at the output rate, at the clip's size.
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".svd-frames-", dir=request.out_path.parent) as scratch:
            for index, frame in enumerate(frames):
                frame.save(Path(scratch) / f"frame-{index:04d}.png", compress_level=1)
            self._encode(Path(scratch) / "frame-%04d.png", len(frames), output_frames, request)
        return measured_clip(request)

    def _encode(self, pattern: Path, frame_count: int, output_frames: int, request: ClipRequest) -> None:
        """H.264 of exactly output_frames frames at request.fps from `frame_count` frames spread over the duration.

        The frames go in at frame_count / duration frames per second, so together they last the
        scene; `framerate` blends neighbours up to the output rate, and the last frame is held for
        however much the blending leaves short of the exact frame count.
        """
        width, height = request.size
        input_rate = Fraction(frame_count / request.duration_s).limit_denominator(1000)
        graph = ",".join([
            f"framerate=fps={request.fps}",
            f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos",
            f"crop={width}:{height}",
            "setsar=1",
            f"tpad=stop_mode=clone:stop_duration={request.duration_s:.3f}",
            TO_YUV,
            "format=yuv420p",
        ])
        run_tool([
            "ffmpeg", "-y", "-v", "error", "-framerate", str(input_rate), "-i", str(pattern),
            "-vf", graph, "-frames:v", str(output_frames), "-an",
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf),
            "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-movflags", "+faststart", str(request.out_path),
        ])

    def _loaded(self) -> Any:
        """The pipeline, loaded on first use and kept; the caller holds the lock."""
        if self._pipeline is None:
            self._pipeline = self._load()
        return self._pipeline

    def _load(self) -> Any:
        from diffusers import StableVideoDiffusionPipeline

        folder = weights_folder("ADFAME_SVD_PATH")
        device = torch_device()
        try:
            pipeline = StableVideoDiffusionPipeline.from_pretrained(folder, dtype=torch_dtype(device))
        except Exception as exc:  # any failure to read the folder is a configuration fault: a retry cannot fix it
            raise AdapterError(f"cannot load Stable Video Diffusion from {folder}: {exc}", permanent=True) from None
        if settings.ADFAME_MODEL_OFFLOAD and device == "cuda":
            # Each module visits the GPU only while it runs, leaving room for the image model.
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline
