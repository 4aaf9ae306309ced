"""UGC style: a first-person script -> voiceover -> handheld vertical media (lip sync when a provider is
configured) -> final 9:16 assembly with large captions."""
from __future__ import annotations

from typing import Any

from django.conf import settings

from adapters.base import LipSyncRequest, StitchRequest
from adapters.registry import is_configured, provider
from campaigns.models import OutputMode
from jobs.models import Stage
from pipelines.engine import OutputFile, Pipeline, StageSpec, StepContext, StepResult
from pipelines.stages import (
    captions_from,
    final_files,
    music_for,
    ratio_size,
    scene_clip_stage,
    scene_image_stage,
    storyboard_stage,
    voice_duration,
    voiceover_stage,
    words_from,
)

MODE = OutputMode.UGC
RATIO = "9:16"  # UGC is vertical whatever the campaign's other ratios

# 1. Prompt interpretation: a spoken, first-person script and its storyboard.
script = storyboard_stage(MODE)

# 2. Voiceover, measured; scenes follow it.
voiceover = voiceover_stage(MODE, Stage.SCRIPT)

# 3. Media: vertical stills, then handheld clips as long as their line of the voice.
scene_image = scene_image_stage(MODE, Stage.SCRIPT, ratios=[RATIO], caption_style="large")
scene_video = scene_clip_stage(MODE, Stage.SCRIPT, voice_duration)


# 4. Lip sync (only with a configured provider): the presenter's mouth follows the voice.
def lip_sync(ctx: StepContext) -> StepResult:
    syncer = provider("lip_sync", MODE)
    voice = ctx.outputs_of(Stage.VOICEOVER)
    segment = voice["segments"][ctx.scene - 1]
    clip = ctx.outputs_of(Stage.SCENE_VIDEO, ctx.scene)["files"][RATIO]
    result = syncer.sync(
        LipSyncRequest(
            clip=ctx.materialize(clip),
            voice=ctx.materialize(voice["files"]["voice"]),
            start_s=segment["start_s"],
            end_s=segment["end_s"],
            out_path=ctx.path(f"lipsync-{ctx.scene:02d}.mp4"),
        )
    )
    return StepResult(
        provider=syncer.name,
        files=[OutputFile(RATIO, result.path, "video", "scene", "video/mp4", RATIO, result.width, result.height, result.duration_s)],
    )


def _lip_sync_configured(snapshot: dict[str, Any]) -> bool:
    return is_configured("lip_sync", MODE)


# 5. Final assembly: hard cuts like a creator's edit, the voice over a warm bed, 2-4 word captions
# with the spoken word lit.
def stitch(ctx: StepContext) -> StepResult:
    stitcher = provider("stitch", MODE)
    voice = ctx.outputs_of(Stage.VOICEOVER)
    bed = music_for(ctx, MODE)
    clip_stage = Stage.LIP_SYNC if _lip_sync_configured(ctx.snapshot) else Stage.SCENE_VIDEO
    clips = [
        ctx.materialize(ctx.outputs_of(clip_stage, scene)["files"][RATIO])
        for scene in range(1, int(ctx.settings["scene_count"]) + 1)
    ]
    result = stitcher.stitch(
        StitchRequest(
            clips=tuple(clips),
            size=ratio_size(RATIO),
            fps=settings.ADFAME_OUTPUT_FPS,
            duration_s=float(ctx.settings["duration_s"]),
            out_path=ctx.path("ugc-9x16.mp4"),
            poster_path=ctx.path("poster-9x16.jpg"),
            captions_path=ctx.path("captions-9x16.srt"),
            vtt_path=ctx.path("captions-9x16.vtt"),
            transition="cut",
            transition_s=0.0,
            voice=ctx.materialize(voice["files"]["voice"]),
            captions=captions_from(voice),
            words=words_from(voice),
            caption_style="large",
            music=bed.path,
            loudness_lufs=settings.ADFAME_LOUDNESS_LUFS,
            true_peak_db=settings.ADFAME_TRUE_PEAK_DB,
        )
    )
    return StepResult(provider=stitcher.name, outputs={"music": bed.record()}, files=final_files(result, RATIO))


PIPELINE = Pipeline(
    name=MODE,
    stages=(
        StageSpec(Stage.SCRIPT, script, queue="text"),
        StageSpec(Stage.VOICEOVER, voiceover, queue="speech"),
        StageSpec(Stage.SCENE_IMAGE, scene_image, queue="image", per_scene=True),
        StageSpec(Stage.SCENE_VIDEO, scene_video, queue="video", per_scene=True),
        StageSpec(Stage.LIP_SYNC, lip_sync, queue="video", per_scene=True, when=_lip_sync_configured),
        StageSpec(Stage.STITCH, stitch, queue="media"),
    ),
)
