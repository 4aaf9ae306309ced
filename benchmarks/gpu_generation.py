"""GPU generation benchmark: SDXL 1024x1024 (30 steps) and SVD-XT (25 frames, 576x1024) latency and
peak memory, built from the published architectures with random weights, fp16, with and without
torch.compile.

    .venv/bin/python benchmarks/gpu_generation.py [--only sdxl|svd] [--no-compile]
    .venv/bin/python benchmarks/gpu_generation.py --tiny     # a seconds-long check of the code path on a CPU

The time of a forward pass does not depend on the weight values, so random weights stand in for
the checkpoints, which cannot be downloaded here. Prints one line per model and mode:
`model=sdxl compile=0 latency_s=.. peak_gib=.. compile_s=..`; the reference figure it is read
against (diffusers: SDXL 2.50 s in plain PyTorch on an H100) is printed beside it. Goals on an
H100: SDXL <= 1.5 s, SVD-XT <= 20 s.

The SDXL VAE is configured as the fp16-safe variant (no upcast to float32 for the decode), as a
production deployment with `madebyollin/sdxl-vae-fp16-fix` runs it.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import torch

REFERENCE = {"sdxl": "diffusers plain PyTorch H100: 2.50 s", "svd": "goal on an H100: <= 20 s"}

# stabilityai/stable-diffusion-xl-base-1.0: unet/config.json, vae/config.json, text encoders.
SDXL_UNET: dict[str, Any] = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280), attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=2048, use_linear_projection=True, addition_embed_type="text_time",
    addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816, norm_num_groups=32,
)
SDXL_VAE: dict[str, Any] = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=1024,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.13025, force_upcast=False,
)
CLIP_L: dict[str, Any] = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                              max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu", projection_dim=768)
CLIP_BIGG: dict[str, Any] = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
                                 max_position_embeddings=77, vocab_size=49408, hidden_act="gelu", projection_dim=1280)
SDXL_SCHEDULER: dict[str, Any] = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                      num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading")

# stabilityai/stable-video-diffusion-img2vid-xt: unet, vae (temporal decoder), image encoder (ViT-H/14).
SVD_UNET: dict[str, Any] = dict(
    sample_size=96, in_channels=8, out_channels=4, layers_per_block=2,
    down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 3 + ("DownBlockSpatioTemporal",),
    up_block_types=("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * 3,
    block_out_channels=(320, 640, 1280, 1280), addition_time_embed_dim=256, projection_class_embeddings_input_dim=768,
    cross_attention_dim=1024, transformer_layers_per_block=1, num_attention_heads=(5, 10, 20, 20), num_frames=25,
)
SVD_VAE: dict[str, Any] = dict(block_out_channels=(128, 256, 512, 512), latent_channels=4, layers_per_block=2)
CLIP_VISION_H: dict[str, Any] = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                                     num_attention_heads=16, patch_size=14, image_size=224, projection_dim=1024,
                                     hidden_act="gelu")
SVD_SCHEDULER: dict[str, Any] = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
    prediction_type="v_prediction", interpolation_type="linear", use_karras_sigmas=True, sigma_min=0.002,
    sigma_max=700.0, steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
)


@dataclass(frozen=True)
class Shape:
    """What one run generates; `--tiny` shrinks models and outputs to check the code path on a CPU."""

    sdxl_size: int = 1024
    sdxl_steps: int = 30
    svd_size: tuple[int, int] = (576, 1024)  # height, width
    svd_frames: int = 25
    svd_steps: int = 25
    svd_decode_chunk: int = 8


def tiny(config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {**config, **overrides}


def sdxl_pipeline(device: str, dtype: torch.dtype, small: bool) -> Any:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    unet_config, vae_config, clip_l, clip_g = SDXL_UNET, SDXL_VAE, CLIP_L, CLIP_BIGG
    if small:
        clip_l = tiny(CLIP_L, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4, projection_dim=32)
        clip_g = tiny(CLIP_BIGG, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4, projection_dim=32)
        unet_config = tiny(SDXL_UNET, block_out_channels=(32, 64), attention_head_dim=(2, 4), transformer_layers_per_block=(1, 1),
                           down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                           cross_attention_dim=64, addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 6 * 8,
                           layers_per_block=1, sample_size=8)
        vae_config = tiny(SDXL_VAE, block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                          up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, sample_size=32)
    pipe = StableDiffusionXLPipeline(
        vae=AutoencoderKL(**vae_config),
        text_encoder=CLIPTextModel(CLIPTextConfig(**clip_l)),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**clip_g)),
        tokenizer=None,
        tokenizer_2=None,
        unet=UNet2DConditionModel(**unet_config),
        scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER),
    )
    return pipe.to(device, dtype)


def sdxl_generate(pipe: Any, shape: Shape, device: str) -> None:
    """One 1024x1024 image: both text encoders (prompt and negative prompt), the denoising, the decode."""
    ids = torch.randint(0, 49408, (2, 77), device=device)
    with torch.inference_mode():
        first = pipe.text_encoder(ids, output_hidden_states=True)
        second = pipe.text_encoder_2(ids, output_hidden_states=True)
        embeds = torch.cat([first.hidden_states[-2], second.hidden_states[-2]], dim=-1)
        pooled = second.text_embeds
        pipe(
            prompt_embeds=embeds[:1], negative_prompt_embeds=embeds[1:], pooled_prompt_embeds=pooled[:1],
            negative_pooled_prompt_embeds=pooled[1:], height=shape.sdxl_size, width=shape.sdxl_size,
            num_inference_steps=shape.sdxl_steps, guidance_scale=5.0, output_type="pil",
        )


def svd_pipeline(device: str, dtype: torch.dtype, small: bool) -> Any:
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    unet_config, vae_config, vision = SVD_UNET, SVD_VAE, CLIP_VISION_H
    if small:
        unet_config = tiny(SVD_UNET, block_out_channels=(32, 64), num_attention_heads=(2, 4), layers_per_block=1,
                           down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                           up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                           cross_attention_dim=32, addition_time_embed_dim=8, projection_class_embeddings_input_dim=24,
                           sample_size=8, num_frames=4)
        vae_config = tiny(SVD_VAE, block_out_channels=(32, 64), layers_per_block=1)
        vision = tiny(CLIP_VISION_H, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                      image_size=224, patch_size=32, projection_dim=32)
    vae_blocks = len(vae_config["block_out_channels"])
    pipe = StableVideoDiffusionPipeline(
        vae=AutoencoderKLTemporalDecoder(
            down_block_types=("DownEncoderBlock2D",) * vae_blocks, **vae_config
        ),
        image_encoder=CLIPVisionModelWithProjection(CLIPVisionConfig(**vision)),
        unet=UNetSpatioTemporalConditionModel(**unet_config),
        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
        feature_extractor=CLIPImageProcessor(crop_size=vision["image_size"], size=vision["image_size"]),
    )
    return pipe.to(device, dtype)


def svd_generate(pipe: Any, shape: Shape, device: str) -> None:
    """One clip of 25 frames at 576x1024 from a still: image encoding, denoising, the chunked decode."""
    from PIL import Image

    height, width = shape.svd_size
    still = Image.new("RGB", (width, height), (120, 140, 170))
    with torch.inference_mode():
        pipe(
            still, height=height, width=width, num_frames=shape.svd_frames, num_inference_steps=shape.svd_steps,
            decode_chunk_size=shape.svd_decode_chunk, motion_bucket_id=127, noise_aug_strength=0.02,
            output_type="pt", generator=torch.Generator(device).manual_seed(0),
        )


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(model: str, use_compile: bool, device: str, shape: Shape, small: bool, repeats: int) -> str:
    dtype = torch.float16 if device == "cuda" else torch.float32
    build, generate = (sdxl_pipeline, sdxl_generate) if model == "sdxl" else (svd_pipeline, svd_generate)
    pipe = build(device, dtype, small)
    pipe.set_progress_bar_config(disable=True)
    if device == "cuda":
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    compile_s = 0.0
    if use_compile:
        pipe.unet = torch.compile(pipe.unet, mode="max-autotune-no-cudagraphs" if model == "svd" else "max-autotune")
    started = time.perf_counter()
    generate(pipe, shape, device)  # warm-up: kernels chosen, and the compile when asked
    synchronize(device)
    compile_s = time.perf_counter() - started if use_compile else 0.0
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timings = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        generate(pipe, shape, device)
        synchronize(device)
        timings.append(time.perf_counter() - started)
    peak_gib = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
    del pipe
    if device == "cuda":
        torch.cuda.empty_cache()
    return (
        f"model={model} device={device} compile={int(use_compile)} latency_s={min(timings):.2f} "
        f"median_s={sorted(timings)[len(timings) // 2]:.2f} peak_gib={peak_gib:.1f} compile_s={compile_s:.0f} "
        f"reference=\"{REFERENCE[model]}\""
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sdxl", "svd"])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile runs")
    parser.add_argument("--tiny", action="store_true", help="tiny models and outputs: check the code path on a CPU")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.tiny:
        raise SystemExit("no CUDA device: run on a GPU, or pass --tiny to check the code path on the CPU")
    shape = Shape(sdxl_size=64, sdxl_steps=2, svd_size=(64, 64), svd_frames=4, svd_steps=2, svd_decode_chunk=2) if args.tiny else Shape()
    if device == "cuda":
        print(f"gpu={torch.cuda.get_device_name(0)} torch={torch.__version__}", flush=True)
    for model in ([args.only] if args.only else ["sdxl", "svd"]):
        for use_compile in ([False] if args.no_compile or args.tiny else [False, True]):
            print(measure(model, use_compile, device, shape, args.tiny, 1 if args.tiny else args.repeats), flush=True)


if __name__ == "__main__":
    main()
