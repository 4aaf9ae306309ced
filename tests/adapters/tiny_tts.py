"""Builds a tiny, randomly initialised Coqui VITS model on disk, so tests run the real loading and inference code.

Its voice is noise, but it is noise of a length that grows with the text, at a real sample rate,
loaded through Coqui's own `load_config`, `setup_model` and `load_checkpoint`. It spells with
characters (no phonemizer, no espeak), and once Coqui is imported it builds in a fraction of a second.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from TTS.config.shared_configs import BaseAudioConfig
from TTS.tts.configs.shared_configs import CharactersConfig
from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
from TTS.tts.models.vits import Vits

SAMPLE_RATE = 22050
# The decoder upsamples one latent frame to hop_length samples: the rates must multiply to it.
HOP_LENGTH = 256
UPSAMPLE_RATES = [8, 8, 4]
# A trained voice holds a character for a few frames; a random one for about one, where rounding
# each up to whole frames would swallow any change of pace.
FRAMES_PER_CHARACTER = 5


def build_tiny_vits(
    folder: Path, *, speakers: tuple[str, ...] = (), languages: tuple[str, ...] = ("en",), seed: int = 0
) -> Path:
    """Write config.json and model.pth for a tiny VITS into `folder` and return the folder.

    Several speakers give it a speaker embedding, several languages a language embedding, as in
    Coqui's multi-speaker and multilingual VITS releases.
    """
    folder.mkdir(parents=True, exist_ok=True)
    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_heads_text_encoder=2,
        num_layers_text_encoder=1,
        num_layers_posterior_encoder=1,
        kernel_size_posterior_encoder=3,
        num_layers_flow=1,
        kernel_size_flow=3,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=UPSAMPLE_RATES,
        upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        spec_segment_size=8,
        out_channels=257,  # fft_size // 2 + 1
        use_sdp=False,  # the deterministic duration predictor: lengths depend on the text alone
        init_discriminator=False,  # only training needs it
        use_speaker_embedding=len(speakers) > 1,
        speaker_embedding_channels=8,
        use_language_embedding=len(languages) > 1,
        embedded_language_dim=4,
    )
    config = VitsConfig(
        model_args=args,
        audio=BaseAudioConfig(
            sample_rate=SAMPLE_RATE, hop_length=HOP_LENGTH, win_length=512, fft_size=512, num_mels=20
        ),
        use_phonemes=False,
        text_cleaner="basic_cleaners",  # lower case, collapsed whitespace
        add_blank=False,
        characters=CharactersConfig(
            characters_class="TTS.tts.models.vits.VitsCharacters",
            pad="_",
            eos="",
            bos="",
            blank="",
            characters="abcdefghijklmnopqrstuvwxyz0123456789",
            punctuations=" !,.?'-:;",
            phonemes="",
        ),
        speakers=list(speakers) if len(speakers) > 1 else [],
        languages=list(languages),
    )
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # the same weights for a seed, the caller's RNG untouched
        torch.manual_seed(seed)
        model = Vits(config)
        model.duration_predictor.proj.bias.fill_(math.log(FRAMES_PER_CHARACTER))  # it predicts log durations
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    return folder
