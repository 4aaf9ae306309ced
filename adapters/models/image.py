"""The SDXL image provider: the real product placed in a scene that SDXL paints around it.

The product is never generated. It is cut out of its photo (as the local compositor does), placed
on a canvas in the brand's colour, and SDXL inpaints everything but the product: a set, light and
shadows that fit it. The product's own pixels are then pasted back over the result, so the model's
latent-space blur at the product's outline never alters what the customer sells. Weights load once
per provider instance (one per worker process) from ADFAME_SDXL_PATH.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image, ImageDraw, ImageFilter

from adapters.base import SHOTS, AdapterError, ImageProvider, ImageResult, Readiness, SceneImageRequest
from adapters.local.canvas import safe_area
from adapters.models.runtime import folder_readiness, free_memory, torch_device, torch_dtype, weights_folder
from imaging.cutout import product_cutout

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive

REQUIRED_FILES = ("model_index.json", "unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")

# What each shot looks like as a photograph. The prompt leads with it: CLIP reads 77 tokens at most.
SHOT_STYLES = {
    "hero": "hero product photograph, the product centre stage on a clean set, soft studio key light",
    "closeup": "macro close-up product photograph, shallow depth of field, crisp texture, soft bokeh",
    "lifestyle": "lifestyle product photograph in a bright modern interior, natural window light, styled props",
    "feature": "minimal product photograph on a seamless coloured backdrop, graphic set design, even light",
    "cta": "bold advertising key visual, dramatic rim light, vivid backdrop, premium commercial look",
    "testimonial": "authentic smartphone snapshot of the product in an everyday home, warm casual light",
}
QUALITY = "professional advertising photography, high detail, sharp focus"
# SDXL cannot spell and must not invent a second product: text and duplicates are what it is told to avoid.
NEGATIVE_PROMPT = (
    "text, letters, words, watermark, logo, signature, duplicate product, extra products, deformed, distorted, "
    "blurry, low quality, jpeg artifacts, frame, border"
)
NEUTRAL_GROUND: RGB = (0xE4, 0xDF, 0xD8)  # a warm studio grey when the brand kit has no colour
# How much of the canvas SDXL may change, at emphasis 0 and 1: a product that matters more gets a
# calmer scene that stays closer to the plain brand-coloured set it starts from.
STRENGTH = (0.95, 0.7)


@dataclass(frozen=True)
class ShotLayout:
    """Where the product goes in a shot."""

    fill: tuple[float, float]  # share of the free area the product spans, at emphasis 0 and 1
    across: float  # its centre across a wide frame: 0 the left edge, 1 the right; tall frames centre it
    rest: float  # its place in the height left over: 0 at the top, 1 standing on the bottom


LAYOUTS = {
    "hero": ShotLayout((0.55, 0.8), 0.5, 0.8),
    "closeup": ShotLayout((0.8, 0.95), 0.5, 0.5),
    "lifestyle": ShotLayout((0.4, 0.62), 0.62, 0.9),
    "feature": ShotLayout((0.5, 0.75), 0.34, 0.5),
    "cta": ShotLayout((0.5, 0.72), 0.5, 0.55),
    "testimonial": ShotLayout((0.45, 0.68), 0.6, 0.85),
}


@dataclass(frozen=True)
class SceneCanvas:
    """What SDXL starts from, at the request's size."""

    image: Image.Image  # RGB: the brand-coloured set with the product standing in it
    mask: Image.Image  # L: 255 where SDXL paints, 0 on the product
    product: Image.Image  # RGBA: the cut-out at its drawn size, pasted back over the result at `box`
    box: Box


# ---- 1. The canvas ---------------------------------------------------------------------------------


def scene_canvas(request: SceneImageRequest) -> SceneCanvas:
    """The product cut out and placed for the shot, the set around it, and the mask that protects it.

    The product stays inside the safe area, which keeps clear of the caption band and of the
    edges social apps cover. Higher emphasis draws it larger, which leaves SDXL less to repaint.
    """
    _validate(request)
    cutout = product_cutout(request.product_images[0])
    width, height = request.size
    x0, y0, x1, y1 = safe_area(width, height, request.caption_band)
    layout = LAYOUTS[request.scene.shot]
    fill = _lerp(*layout.fill, request.product_emphasis)
    scale = min((x1 - x0) / cutout.width, (y1 - y0) / cutout.height) * fill
    product = cutout.resize((max(1, round(cutout.width * scale)), max(1, round(cutout.height * scale))),
                            Image.Resampling.LANCZOS)
    across = layout.across if width / height >= 1.25 else 0.5
    left = min(max(round(width * across - product.width / 2), x0), x1 - product.width)
    top = y0 + round((y1 - y0 - product.height) * layout.rest)
    box = (left, top, left + product.width, top + product.height)

    image = _brand_set(request.brand.colors, request.size)
    _contact_shadow(image, box)
    image.paste(product, box[:2], product)
    mask = Image.new("L", request.size, 255)
    # Every pixel the product touches, edges included, is kept: the model paints only around it.
    mask.paste(0, box[:2], product.getchannel("A").point(lambda a: 255 if a > 0 else 0))
    return SceneCanvas(image=image, mask=mask, product=product, box=box)


def _validate(request: SceneImageRequest) -> None:
    if request.scene.shot not in LAYOUTS:
        raise AdapterError(f"unknown shot {request.scene.shot!r}; expected one of {', '.join(SHOTS)}", permanent=True)
    if min(request.size) < 64:
        raise AdapterError(f"image size {request.size} is too small to lay out", permanent=True)
    if not 0 <= request.product_emphasis <= 1:
        raise AdapterError(f"product_emphasis {request.product_emphasis} is outside 0..1", permanent=True)
    if not request.product_images:
        raise AdapterError("a scene needs at least one product image", permanent=True)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _parse_hex(value: str) -> RGB:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise AdapterError(f"brand colour {value!r} is not of the form #RRGGBB", permanent=True)
    text = value.strip()[1:]
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _brand_set(colors: tuple[str, ...], size: tuple[int, int]) -> Image.Image:
    """A seamless sweep in the brand's primary colour, lighter at the top: the palette SDXL starts from."""
    ground = _parse_hex(colors[0]) if colors else NEUTRAL_GROUND
    top, bottom = _mix(ground, (255, 255, 255), 0.35), _mix(ground, (0, 0, 0), 0.2)
    column = Image.linear_gradient("L").resize((1, size[1]))
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top),
                           column.resize(size, Image.Resampling.BILINEAR))


def _contact_shadow(image: Image.Image, box: Box) -> None:
    """A soft dark ellipse under the product's base, so the scene is painted with something to stand on."""
    width = box[2] - box[0]
    rx, ry = width * 0.45, max(2.0, width * 0.06)
    blur = max(1.0, ry * 0.8)
    cx, base = (box[0] + box[2]) / 2, box[3]
    spot = Image.new("L", image.size)
    ImageDraw.Draw(spot).ellipse((cx - rx, base - ry, cx + rx, base + ry), fill=110)
    image.paste((0, 0, 0), (0, 0), spot.filter(ImageFilter.GaussianBlur(blur)))


# ---- 2. The prompt and the generation size ------------------------------------------------------------


def scene_prompt(request: SceneImageRequest) -> str:
    """The shot's photographic look first, then what the scene says, then the quality words."""
    scene = request.scene
    parts = [SHOT_STYLES[scene.shot], f"advertising photo for: {scene.headline.strip()}"]
    if scene.narration.strip():
        parts.append(scene.narration.strip())
    return ", ".join([*parts, QUALITY])


def generation_size(size: tuple[int, int], native: int) -> tuple[int, int]:
    """The model's own pixel count (native x native: 1024 x 1024 for SDXL) in the request's shape,
    in multiples of 8 (the VAE's scale).

    SDXL composes well only near the resolution it was trained at: a 270x480 draft would come out
    mush and a 1080x1920 poster with the subject repeated. The product itself is pasted back at the
    request's full size, so it is never resampled through the model.
    """
    width, height = size
    aspect = width / height
    return max(8, round(native * math.sqrt(aspect) / 8) * 8), max(8, round(native / math.sqrt(aspect) / 8) * 8)


# ---- 3. The provider -----------------------------------------------------------------------------------


class SdxlImage(ImageProvider):
    """Scene stills from SDXL inpainting around the real product, from local diffusers weights."""

    name = "models.sdxl"

    def __init__(self) -> None:
        self._pipeline: Any = None
        # One lock for loading and for generating: the scheduler keeps per-call state, so two
        # threads must not share the pipeline at once.
        self._lock = threading.Lock()

    def check(self) -> Readiness:
        return folder_readiness("ADFAME_SDXL_PATH", REQUIRED_FILES)

    def render_scene(self, request: SceneImageRequest) -> ImageResult:
        import torch

        canvas = scene_canvas(request)
        strength = _lerp(*STRENGTH, request.product_emphasis)
        with self._lock:
            pipeline = self._loaded()
            native = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
            gen_width, gen_height = generation_size(request.size, native)
            try:
                painted = pipeline(
                    prompt=scene_prompt(request),
                    negative_prompt=NEGATIVE_PROMPT,
                    image=canvas.image.resize((gen_width, gen_height), Image.Resampling.LANCZOS),
                    mask_image=canvas.mask.resize((gen_width, gen_height), Image.Resampling.BILINEAR),
                    width=gen_width,
                    height=gen_height,
                    strength=strength,
                    # The pipeline runs strength x steps of the schedule: ask for enough that
                    # ADFAME_SDXL_STEPS denoising steps actually run.
                    num_inference_steps=math.ceil(settings.ADFAME_SDXL_STEPS / strength),
                    guidance_scale=settings.ADFAME_SDXL_GUIDANCE,
                    # Seeded on the CPU: the same seed gives the same noise on any device.
                    generator=torch.Generator("cpu").manual_seed(request.seed),
                ).images[0]
            except torch.cuda.OutOfMemoryError as exc:
                free_memory()
                raise AdapterError(f"SDXL ran out of GPU memory at {gen_width}x{gen_height}: {exc}") from None
            finally:
                if settings.ADFAME_MODEL_OFFLOAD:
                    free_memory()

        image = painted.convert("RGB").resize(request.size, Image.Resampling.LANCZOS)
        image.paste(canvas.product, canvas.box[:2], canvas.product)
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        image.save(request.out_path, "PNG", compress_level=2)
        return ImageResult(path=request.out_path, width=image.width, height=image.height, seed=request.seed)

    def _loaded(self) -> Any:
        """The inpainting pipeline, loaded on first use and kept; the caller holds the lock."""
        if self._pipeline is None:
            self._pipeline = self._load()
        return self._pipeline

    def _load(self) -> Any:
        from diffusers import StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline

        folder = weights_folder("ADFAME_SDXL_PATH")
        device = torch_device()
        try:
            base = StableDiffusionXLPipeline.from_pretrained(folder, dtype=torch_dtype(device))
        except Exception as exc:  # any failure to read the folder is a configuration fault: a retry cannot fix it
            raise AdapterError(f"cannot load SDXL from {folder}: {exc}", permanent=True) from None
        # The inpainting pipeline is built from the base's modules: one copy of the weights serves both.
        pipeline = StableDiffusionXLInpaintPipeline(**base.components)
        if settings.ADFAME_MODEL_OFFLOAD and device == "cuda":
            # Each module visits the GPU only while it runs, leaving room for the video model.
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline
