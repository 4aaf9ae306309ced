"""Fast-paced video: cut storyboard -> scene stills -> scene clips -> stitch with quick transitions."""
from __future__ import annotations

from django.conf import settings

from adapters.base import StitchRequest
from adapters.registry import provider
from campaigns.models import OutputMode
from jobs.models import Stage
from pipelines.engine import Pipeline, StageSpec, StepContext, StepResult
from pipelines.stages import (
    clips_by_ratio,
    final_files,
    music_for,
    ratio_size,
    ratio_slug,
    scene_clip_stage,
    scene_image_stage,
    storyboard_duration,
    storyboard_stage,
)

MODE = OutputMode.FAST_PACED

# 1. Cut storyboard: short, punchy scenes ending on a call-to-action card; no narration.
storyboard = storyboard_stage(MODE)

# 2. Stills in every aspect ratio.
scene_image = scene_image_stage(MODE, Stage.STORYBOARD)

# 3. Clips: each scene as long as the storyboard says, with its camera motion.
scene_video = scene_clip_stage(MODE, Stage.STORYBOARD, storyboard_duration)


# 4. Stitch: quick slide transitions and an energetic bed (or the campaign's music); no voice.
def stitch(ctx: StepContext) -> StepResult:
    stitcher = provider("stitch", MODE)
    bed = music_for(ctx, MODE)
    files = []
    for ratio, clips in clips_by_ratio(ctx, int(ctx.settings["scene_count"])).items():
        slug = ratio_slug(ratio)
        result = stitcher.stitch(
            StitchRequest(
                clips=tuple(clips),
                size=ratio_size(ratio),
                fps=settings.ADFAME_OUTPUT_FPS,
                duration_s=float(ctx.settings["duration_s"]),
                out_path=ctx.path(f"fast-paced-{slug}.mp4"),
                poster_path=ctx.path(f"poster-{slug}.jpg"),
                captions_path=ctx.path(f"captions-{slug}.srt"),
                vtt_path=ctx.path(f"captions-{slug}.vtt"),
                transition="slide",
                transition_s=0.25,
                music=bed.path,
                loudness_lufs=settings.ADFAME_LOUDNESS_LUFS,
                true_peak_db=settings.ADFAME_TRUE_PEAK_DB,
            )
        )
        files += final_files(result, ratio)
    return StepResult(provider=stitcher.name, outputs={"music": bed.record()}, files=files)


PIPELINE = Pipeline(
    name=MODE,
    stages=(
        StageSpec(Stage.STORYBOARD, storyboard, queue="text"),
        StageSpec(Stage.SCENE_IMAGE, scene_image, queue="image", per_scene=True),
        StageSpec(Stage.SCENE_VIDEO, scene_video, queue="video", per_scene=True),
        StageSpec(Stage.STITCH, stitch, queue="media"),
    ),
)
