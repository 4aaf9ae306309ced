"""Where and how model providers run: the torch device, its precision, freeing memory between stages.

Adapters know no Django models, but they read their configuration from Django settings, like the
CPU family's registry does.
"""
from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from django.conf import settings

from adapters.base import AdapterError, Readiness


def torch_device() -> str:
    """"cuda" when asked for or available (ADFAME_MODEL_DEVICE=auto), else "cpu"."""
    import torch

    wanted = settings.ADFAME_MODEL_DEVICE
    if wanted == "cuda" and not torch.cuda.is_available():
        raise AdapterError("ADFAME_MODEL_DEVICE=cuda but no CUDA device is visible.", permanent=True)
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def torch_dtype(device: str) -> Any:
    """Half precision on the GPU; float32 on the CPU, where fp16 kernels are missing or slow."""
    import torch

    return torch.float16 if device == "cuda" else torch.float32


def free_memory() -> None:
    """Give cached GPU memory back between large stages (ADFAME_MODEL_OFFLOAD)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def weights_folder(setting: str) -> Path:
    """The folder a setting names; a permanent error when it is unset or missing."""
    value = getattr(settings, setting)
    if not value:
        raise AdapterError(f"{setting} is not set: name the local folder holding the weights.", permanent=True)
    folder = Path(value)
    if not folder.is_dir():
        raise AdapterError(f"{setting}={value} is not a folder.", permanent=True)
    return folder


def folder_readiness(setting: str, required: tuple[str, ...]) -> Readiness:
    """Ready when the setting names a folder holding every required file or sub-folder."""
    try:
        folder = weights_folder(setting)
    except AdapterError as error:
        return Readiness(False, error.message)
    missing = [name for name in required if not (folder / name).exists()]
    if missing:
        return Readiness(False, f"{folder} lacks {', '.join(missing)}")
    return Readiness(True, f"weights in {folder}")
