"""Script-to-video: script -> voiceover with measured timings -> stills -> clips timed to the voice ->
stitch with captions aligned to the audio."""
from __future__ import annotations

from django.conf import settings

from adapters.base import StitchRequest
from adapters.registry import provider
from campaigns.models import OutputMode
from jobs.models import Stage
from pipelines.engine import Pipeline, StageSpec, StepContext, StepResult
from pipelines.stages import (
    captions_from,
    clips_by_ratio,
    final_files,
    music_for,
    ratio_size,
    ratio_slug,
    scene_clip_stage,
    scene_image_stage,
    storyboard_stage,
    voice_duration,
    voiceover_stage,
    words_from,
)

MODE = OutputMode.SCRIPT_TO_VIDEO

# 1. Script: the prompt interpreted into one narration segment per scene (an explainer).
script = storyboard_stage(MODE)

# 2. Voiceover: every segment spoken and measured; scene lengths follow the voice.
voiceover = voiceover_stage(MODE, Stage.SCRIPT)

# 3. Stills in every aspect ratio.
scene_image = scene_image_stage(MODE, Stage.SCRIPT, caption_style="standard")

# 4. Clips as long as their part of the voiceover.
scene_video = scene_clip_stage(MODE, Stage.SCRIPT, voice_duration)


# 5. Stitch: soft fades, the voice over a calm bed, a line of captions lit word by word.
def stitch(ctx: StepContext) -> StepResult:
    stitcher = provider("stitch", MODE)
    voice = ctx.outputs_of(Stage.VOICEOVER)
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
                out_path=ctx.path(f"script-to-video-{slug}.mp4"),
                poster_path=ctx.path(f"poster-{slug}.jpg"),
                captions_path=ctx.path(f"captions-{slug}.srt"),
                vtt_path=ctx.path(f"captions-{slug}.vtt"),
                transition="fade",
                transition_s=0.4,
                voice=ctx.materialize(voice["files"]["voice"]),
                captions=captions_from(voice),
                words=words_from(voice),
                caption_style="standard",
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
        StageSpec(Stage.SCRIPT, script, queue="text"),
        StageSpec(Stage.VOICEOVER, voiceover, queue="speech"),
        StageSpec(Stage.SCENE_IMAGE, scene_image, queue="image", per_scene=True),
        StageSpec(Stage.SCENE_VIDEO, scene_video, queue="video", per_scene=True),
        StageSpec(Stage.STITCH, stitch, queue="media"),
    ),
)
