"""A six-step pipeline whose stages do nothing: what the engine costs on its own.

Loaded by the benchmark's worker through ADFAME_PIPELINE_MODULES=benchmarks.null_pipeline.
"""
from __future__ import annotations

from jobs.models import Stage
from pipelines.engine import Pipeline, StageSpec, StepContext, StepResult

MODE = "bench_null"


def null_stage(ctx: StepContext) -> StepResult:
    return StepResult(provider="null", outputs={"n": ctx.step.position})


# Six job-level stages, one after another, like the baseline's six-task chain.
PIPELINE = Pipeline(
    name=MODE,
    stages=tuple(
        StageSpec(stage, null_stage, queue="orchestrator")
        for stage in (Stage.PRODUCT_ANALYSIS, Stage.CHARACTER_SHEET, Stage.STORYBOARD, Stage.SCRIPT, Stage.VOICEOVER, Stage.STITCH)
    ),
)
