"""Tiny, randomly initialised SDXL and Stable Video Diffusion pipelines saved as diffusers folders.

Nothing can be downloaded in CI, so the model providers are tested against pipelines built here
from configs: the same classes and folder layout as the real weights, with a few thousand
parameters each, so that the providers' real loading and inference code runs on the CPU in seconds.
Both native resolutions (unet sample_size x the VAE's scale factor) are 64 px.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

SEED = 0
CONTEXT_LENGTH = 77  # the CLIP tokenizers' padding length, as in SDXL
SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, which byte-level BPE tokenizes."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, characters)))


def write_tokenizer_files(folder: Path) -> Path:
    """vocab.json and merges.txt of a byte-level BPE without merges: every byte is a token, within
    a word or ending it ("</w>"), so any prompt tokenizes."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(bytes_to_unicode().values())
    tokens = [*SPECIAL_TOKENS, *symbols, *(f"{symbol}</w>" for symbol in symbols)]
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(tokens)}), "utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", "utf-8")
    return folder


def tiny_clip_tokenizer():
    """A CLIP tokenizer read from the files above; saving the pipeline writes it into its own folders."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as scratch:
        return CLIPTokenizer.from_pretrained(write_tokenizer_files(Path(scratch)), model_max_length=CONTEXT_LENGTH)


def tiny_text_config(vocab_size: int):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=CONTEXT_LENGTH, projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        hidden_act="gelu",
    )


def build_tiny_sdxl(folder: Path) -> Path:
    """A tiny SDXL base pipeline (two CLIP text encoders, text_time micro-conditioning) saved to `folder`."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    folder = Path(folder)
    tokenizer = tiny_clip_tokenizer()
    text_config = tiny_text_config(len(tokenizer))
    torch.manual_seed(SEED)
    addition_time_embed_dim = 8
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 1),
        # SDXL's conditioning: both encoders' hidden states side by side, and the pooled text
        # embedding next to six size/crop numbers (original size, crop corner, target size).
        cross_attention_dim=text_config.hidden_size * 2,
        addition_embed_type="text_time",
        addition_time_embed_dim=addition_time_embed_dim,
        projection_class_embeddings_input_dim=text_config.projection_dim + 6 * addition_time_embed_dim,
    )
    vae = AutoencoderKL(
        block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading",
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text_config),
        text_encoder_2=CLIPTextModelWithProjection(text_config),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
    )
    pipeline.save_pretrained(folder)
    return folder


def build_tiny_svd(folder: Path) -> Path:
    """A tiny Stable Video Diffusion (image to video) pipeline saved to `folder`."""
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    folder = Path(folder)
    torch.manual_seed(SEED)
    addition_time_embed_dim = 8
    unet = UNetSpatioTemporalConditionModel(
        sample_size=32,
        in_channels=8,  # the noisy latents and the conditioning image's latents, stacked
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=32,
        num_attention_heads=(2, 4),
        # fps, motion bucket and noise augmentation: three numbers, each embedded this wide.
        addition_time_embed_dim=addition_time_embed_dim,
        projection_class_embeddings_input_dim=3 * addition_time_embed_dim,
        num_frames=4,
    )
    # The temporal decoder's group norms are fixed at 32 groups: 32 channels is its floor.
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )
    # The pipeline resizes the conditioning image to 224 px before CLIP: large patches keep it tiny.
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=2, num_attention_heads=4,
            image_size=224, patch_size=32,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
        prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1, timestep_spacing="leading",
        timestep_type="continuous", use_karras_sigmas=True,
    )
    pipeline = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )
    pipeline.save_pretrained(folder)
    return folder
