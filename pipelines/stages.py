"""Stage functions that three or more output modes use unchanged: storyboard, scene image, clip."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from django.conf import settings

from adapters.base import (
    Brief,
    BrandKit,
    ClipRequest,
    SceneImageRequest,
    Segment,
    SpeechRequest,
    StitchResult,
    Storyboard,
    Word,
)
from adapters.local.music import Bed, bed_for
from adapters.registry import provider
from fidelity.loop import render_faithfully
from fidelity.policy import FIRST_EMPHASIS, FidelityPolicy, scene_type
from fidelity.scorers import scorer_for_settings
from pipelines.engine import OutputFile, StepContext, StepResult

CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".mp4": "video/mp4", ".wav": "audio/wav",
                 ".srt": "application/x-subrip", ".vtt": "text/vtt", ".zip": "application/zip",
                 ".json": "application/json"}


def ratio_size(ratio: str, short_side: int | None = None) -> tuple[int, int]:
    """Pixel size of an aspect ratio at the configured short side (even numbers, for H.264)."""
    short = short_side or settings.ADFAME_OUTPUT_SHORT_SIDE
    long = int(round(short * 16 / 9 / 2)) * 2
    return {"9:16": (short, long), "1:1": (short, short), "16:9": (long, short)}[ratio]


def ratio_slug(ratio: str) -> str:
    return ratio.replace(":", "x")


def brief_for(ctx: StepContext, mode: str) -> Brief:
    product = ctx.snapshot["product"]
    setup = ctx.snapshot.get("product_setup") or {}
    return Brief(
        mode=mode,
        product_name=product.get("name") or "our product",
        product_description=product.get("description", ""),
        prompt=ctx.snapshot.get("prompt", ""),
        call_to_action=ctx.settings.get("call_to_action", ""),
        scene_count=int(ctx.settings["scene_count"]),
        duration_s=float(ctx.settings["duration_s"]),
        language=ctx.settings.get("language", "en"),
        brand_colors=tuple(ctx.settings.get("brand_kit", {}).get("colors", [])),
        product_facts={key: setup[key] for key in ("category", "colors", "og") if key in setup},
    )


def brand_for(ctx: StepContext) -> BrandKit:
    kit = ctx.settings.get("brand_kit", {})
    logo, font = kit.get("logo"), kit.get("font")
    return BrandKit(
        colors=tuple(kit.get("colors", [])),
        logo_path=ctx.materialize(logo["storage_name"]) if logo else None,
        font_path=ctx.materialize(font["storage_name"]) if font else None,
    )


def uploaded_photos(ctx: StepContext) -> tuple[Path, ...]:
    """The photos the customer uploaded, as uploaded: what fidelity compares stills with."""
    return tuple(ctx.materialize(image["storage_name"]) for image in ctx.snapshot["product"]["images"])


def product_images(ctx: StepContext) -> tuple[Path, ...]:
    """The product's images; product setup's neutral cut-out first, when the product was cut out.

    When product setup decided on the photo itself (the frame cuts the product off, it fills the
    frame, or it is a long shot), its neutral view is only a crop of the product's box: leading with
    it would make every scene a blown-up crop (the rocket's nose without its towers), so the
    uploaded photos lead and the image provider frames them itself. Checkpoints from before that
    decision was recorded say nothing about it and are not used either.
    """
    paths = list(uploaded_photos(ctx))
    setup = ctx.snapshot.get("product_setup") or {}
    if setup.get("neutral_image") and (setup.get("subject") or {}).get("cutout"):
        return tuple([ctx.materialize(setup["neutral_image"]), *paths])
    return tuple(paths)


def storyboard_of(ctx: StepContext, stage: str) -> Storyboard:
    return Storyboard.from_dict(ctx.outputs_of(stage)["storyboard"])


def storyboard_stage(mode: str) -> Callable[[StepContext], StepResult]:
    def storyboard(ctx: StepContext) -> StepResult:
        text = provider("text", mode)
        board = text.storyboard(brief_for(ctx, mode), seed=ctx.seed)
        return StepResult(provider=text.name, outputs={"storyboard": board.to_dict(), "seed": ctx.seed})

    return storyboard


def scene_image_stage(
    mode: str, storyboard_stage_name: str, ratios: list[str] | None = None, caption_style: str | None = None,
    *, animated: bool = True,
) -> Callable[[StepContext], StepResult]:
    """One still per requested aspect ratio, laid out natively for that ratio (not cropped).

    In captioned modes the still leaves the narration out (the burnt-in caption says it) and
    keeps its own text out of the band the captions will cover. With fidelity on, the stills are
    scored against the product and rendered again, more faithfully, until they pass; every
    attempt is kept in the step's outputs and only the chosen one's files are stored.
    """

    def scene_image(ctx: StepContext) -> StepResult:
        image = provider("image", mode)
        scene = storyboard_of(ctx, storyboard_stage_name).scenes[ctx.scene - 1]
        if caption_style:
            scene = replace(scene, narration="")
            stitcher = provider("stitch", mode)
        brand, products = brand_for(ctx), product_images(ctx)

        def render(seed: int, product_emphasis: float) -> list[OutputFile]:
            folder = ctx.path(f"seed-{seed}")  # an attempt's files never overwrite another's
            folder.mkdir(exist_ok=True)
            files = []
            for ratio in ratios or ctx.settings["aspect_ratios"]:
                result = image.render_scene(
                    SceneImageRequest(
                        product_images=products,
                        scene=scene,
                        size=ratio_size(ratio),
                        brand=brand,
                        seed=seed,
                        out_path=folder / f"scene-{ctx.scene:02d}-{ratio_slug(ratio)}.png",
                        call_to_action=ctx.settings.get("call_to_action", ""),
                        product_emphasis=product_emphasis,
                        caption_band=stitcher.caption_band(caption_style, ratio_size(ratio)) if caption_style else 0.0,
                        animated=animated,
                    )
                )
                files.append(
                    OutputFile(ratio, result.path, "image", "scene", "image/png", ratio, result.width, result.height)
                )
            return files

        if not settings.ADFAME_FIDELITY_ENABLED:
            files = render(ctx.seed, FIRST_EMPHASIS)
            return StepResult(provider=image.name, outputs={"seed": ctx.seed, "shot": scene.shot}, files=files)
        # Scored against the uploaded photos, not the neutral cut-out the stills are made from: a
        # cut-out that lost part of the product must fail, not be the yardstick.
        scorer = scorer_for_settings()
        faithful = render_faithfully(
            render,
            references=uploaded_photos(ctx),
            scene_type=scene_type(scene.shot),
            base_seed=ctx.seed,
            provider=image.name,
            scorer=scorer,
            policy=FidelityPolicy.from_settings(scorer.name),
        )
        outputs = {"seed": faithful.chosen.seed, "shot": scene.shot, "fidelity": faithful.record()}
        return StepResult(provider=image.name, outputs=outputs, files=list(faithful.outputs))

    return scene_image


def scene_clip_stage(
    mode: str, storyboard_stage_name: str, duration_of: Callable[[StepContext, Any], float]
) -> Callable[[StepContext], StepResult]:
    """One clip per ratio from the scene's stills, with the motion the storyboard asks for."""

    def scene_video(ctx: StepContext) -> StepResult:
        video = provider("video", mode)
        scene = storyboard_of(ctx, storyboard_stage_name).scenes[ctx.scene - 1]
        stills = ctx.outputs_of("scene_image", ctx.scene)["files"]
        duration = duration_of(ctx, scene)
        files = []
        for ratio, storage_name in stills.items():
            result = video.animate(
                ClipRequest(
                    image=ctx.materialize(storage_name),
                    duration_s=duration,
                    size=ratio_size(ratio),
                    fps=settings.ADFAME_OUTPUT_FPS,
                    motion=scene.motion,
                    seed=ctx.seed,
                    out_path=ctx.path(f"clip-{ctx.scene:02d}-{ratio_slug(ratio)}.mp4"),
                )
            )
            files.append(
                OutputFile(ratio, result.path, "video", "scene", "video/mp4", ratio, result.width, result.height, result.duration_s)
            )
        return StepResult(provider=video.name, outputs={"duration_s": duration, "motion": scene.motion}, files=files)

    return scene_video


def storyboard_duration(ctx: StepContext, scene: Any) -> float:
    return float(scene.duration_s)


def voice_duration(ctx: StepContext, scene: Any) -> float:
    """A narrated scene lasts as long as its part of the measured voiceover."""
    return float(ctx.outputs_of("voiceover")["scene_durations"][ctx.scene - 1])


def clips_by_ratio(ctx: StepContext, scene_count: int) -> dict[str, list[Path]]:
    clips: dict[str, list[Path]] = {}
    for scene in range(1, scene_count + 1):
        for ratio, storage_name in ctx.outputs_of("scene_video", scene)["files"].items():
            clips.setdefault(ratio, []).append(ctx.materialize(storage_name))
    return clips


def voiceover_stage(mode: str, storyboard_stage_name: str) -> Callable[[StepContext], StepResult]:
    """Speak every scene's narration, measure it, and time the scenes to the voice."""

    def voiceover(ctx: StepContext) -> StepResult:
        speech = provider("speech", mode)
        board = storyboard_of(ctx, storyboard_stage_name)
        total = float(ctx.settings["duration_s"])
        result = speech.synthesize(
            SpeechRequest(
                segments=tuple(scene.narration for scene in board.scenes),
                voice=ctx.settings.get("voice", "default"),
                language=ctx.settings.get("language", "en"),
                out_path=ctx.path("voice.wav"),
                target_duration_s=total * 0.92,  # room to breathe before the end card closes
            )
        )
        durations = scene_durations(result.segments, total)
        return StepResult(
            provider=speech.name,
            outputs={
                "duration_s": result.duration_s,
                "segments": [asdict(segment) for segment in result.segments],
                "scene_durations": durations,
                # Every spoken word on the voice's clock, for word-timed captions, and how it was timed.
                "words": [asdict(word) for word in result.words],
                "timing_source": result.timing_source,
            },
            files=[OutputFile("voice", result.path, "audio", "voice", "audio/wav", duration_s=result.duration_s)],
        )

    return voiceover


def scene_durations(segments: tuple[Segment, ...] | list[Segment], total_s: float, minimum_s: float = 1.0) -> list[float]:
    """Cut the timeline where each narration segment starts; the last scene runs to the end."""
    starts = [0.0] + [segment.start_s for segment in segments[1:]] + [total_s]
    starts = [min(max(start, 0.0), total_s) for start in starts]
    durations = [max(minimum_s, end - start) for start, end in zip(starts, starts[1:])]
    overflow = sum(durations) - total_s
    if overflow > 0:  # a scene was lengthened to the minimum: take the time from the longest ones
        for index in sorted(range(len(durations)), key=lambda i: -durations[i]):
            take = min(overflow, durations[index] - minimum_s)
            durations[index] -= take
            overflow -= take
            if overflow <= 1e-9:
                break
    return [round(duration, 3) for duration in durations]


def captions_from(voiceover_outputs: dict[str, Any]) -> tuple[Segment, ...]:
    return tuple(Segment(**segment) for segment in voiceover_outputs["segments"] if segment["text"].strip())


def words_from(voiceover_outputs: dict[str, Any]) -> tuple[Word, ...]:
    """The voice's word timings (empty from a voiceover recorded before they were stored)."""
    return tuple(Word(word["text"], float(word["start_s"]), float(word["end_s"]), int(word.get("segment", 0)))
                 for word in voiceover_outputs.get("words", []) if word["text"].strip())


def music_for(ctx: StepContext, mode: str) -> Bed:
    """The bed the job's `music` setting asks for; a customer's upload is fetched from storage."""
    setting = ctx.settings.get("music", "auto")
    upload = ctx.materialize(setting["storage_name"]) if isinstance(setting, dict) else None
    return bed_for(setting, mode=mode, prompt=ctx.snapshot.get("prompt", ""), seed=ctx.seed, upload=upload)


def final_files(result: StitchResult, ratio: str) -> list[OutputFile]:
    """The stitched video, its poster and its captions, as assets of one aspect ratio."""
    files = [
        OutputFile(f"video:{ratio}", result.path, "video", "final", "video/mp4", ratio, result.width, result.height, result.duration_s),
        OutputFile(f"poster:{ratio}", result.poster_path, "image", "poster", "image/jpeg", ratio, result.width, result.height),
    ]
    if result.captions_path is not None:
        files.append(OutputFile(f"captions:{ratio}", result.captions_path, "captions", "captions", "application/x-subrip", ratio))
    if result.vtt_path is not None:
        files.append(OutputFile(f"captions_vtt:{ratio}", result.vtt_path, "captions", "captions", "text/vtt", ratio))
    return files
