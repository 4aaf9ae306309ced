"""Image bundle: storyboard concepts -> scene stills in every aspect ratio -> bundle (zip, manifest)."""
from __future__ import annotations

from adapters.local.bundle import make_bundle
from campaigns.models import OutputMode
from jobs.models import Stage
from pipelines.engine import OutputFile, Pipeline, StageSpec, StepContext, StepResult
from pipelines.stages import ratio_slug, scene_image_stage, storyboard_of, storyboard_stage

MODE = OutputMode.IMAGE_BUNDLE


# 1. Concepts: one storyboard scene per still, no narration.
storyboard = storyboard_stage(MODE)

# 2. Stills: each scene laid out natively in every aspect ratio the campaign asks for.
scene_image = scene_image_stage(MODE, Stage.STORYBOARD, animated=False)  # stills shown as they are


# 3. Bundle: per-ratio files, a contact sheet, manifest.json and one zip.
def bundle(ctx: StepContext) -> StepResult:
    board = storyboard_of(ctx, Stage.STORYBOARD)
    images: dict[str, list] = {}
    for scene in board.scenes:
        for ratio, storage_name in ctx.outputs_of(Stage.SCENE_IMAGE, scene.number)["files"].items():
            images.setdefault(ratio, []).append(ctx.materialize(storage_name))
    manifest = {
        "title": board.title,
        "job_id": str(ctx.job.id),
        "product": ctx.snapshot["product"]["name"],
        "campaign": ctx.snapshot.get("campaign", {}).get("name", ""),
        "aspect_ratios": list(images),
        "scenes": [{"number": s.number, "shot": s.shot, "headline": s.headline} for s in board.scenes],
    }
    result = make_bundle(images, ctx.path("bundle"), manifest)
    return StepResult(
        provider="local.bundle",
        outputs={"images": {ratio_slug(ratio): len(paths) for ratio, paths in images.items()}},
        files=[
            OutputFile("zip", result.zip_path, "archive", "bundle", "application/zip"),
            OutputFile("manifest", result.manifest_path, "manifest", "manifest", "application/json"),
            OutputFile("contact_sheet", result.contact_sheet_path, "image", "contact_sheet", "image/jpeg"),
        ],
    )


PIPELINE = Pipeline(
    name=MODE,
    stages=(
        StageSpec(Stage.STORYBOARD, storyboard, queue="text"),
        StageSpec(Stage.SCENE_IMAGE, scene_image, queue="image", per_scene=True),
        StageSpec(Stage.BUNDLE, bundle, queue="media"),
    ),
)
