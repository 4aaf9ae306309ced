"""Which pipeline runs a job: one file per output mode, plus product setup.

Adding a mode is a new file with a PIPELINE and a line here. Extra pipelines (a benchmark's null
pipeline, say) can be added without code changes through ADFAME_PIPELINE_MODULES.
"""
from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings

from adapters.base import AdapterError
from pipelines import fast_paced, image_bundle, product_setup, script_to_video, ugc
from pipelines.engine import Pipeline

MODES: dict[str, Pipeline] = {
    image_bundle.MODE: image_bundle.PIPELINE,
    fast_paced.MODE: fast_paced.PIPELINE,
    script_to_video.MODE: script_to_video.PIPELINE,
    ugc.MODE: ugc.PIPELINE,
}


@cache
def _extra_pipelines() -> dict[str, Pipeline]:
    extra = {}
    for module_name in settings.ADFAME_PIPELINE_MODULES:
        pipeline = import_module(module_name).PIPELINE
        extra[pipeline.name] = pipeline
    return extra


def pipeline_for(kind: str, output_mode: str) -> Pipeline:
    if kind == "product_setup":
        return product_setup.PIPELINE
    pipeline = MODES.get(output_mode) or _extra_pipelines().get(output_mode)
    if pipeline is None:
        raise AdapterError(f"No pipeline for output mode {output_mode!r}.", permanent=True)
    return pipeline
