"""The provider registry: capability (and optionally output mode) -> one provider per process.

Providers are named by dotted path in settings (ADFAME_PROVIDERS, from ADFAME_PROVIDER_<CAP>
and ADFAME_PROVIDER_<CAP>__<MODE>), imported lazily and kept for the life of the worker
process, so a model provider loads its weights once, never per step.
"""
from __future__ import annotations

import threading
from importlib import import_module

from django.conf import settings

from adapters.base import AdapterError, Provider

CAPABILITIES = ("text", "image", "video", "speech", "lip_sync", "stitch")

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def provider_path(capability: str, mode: str | None = None) -> str:
    """The dotted path configured for a capability ("" when none is), a mode's own first."""
    configured = settings.ADFAME_PROVIDERS
    if mode and configured.get(f"{capability}:{mode}"):
        return configured[f"{capability}:{mode}"]
    return configured.get(capability, "")


def provider(capability: str, mode: str | None = None) -> Provider:
    path = provider_path(capability, mode)
    if not path:
        raise AdapterError(f"No {capability} provider is configured (ADFAME_PROVIDER_{capability.upper()}).", permanent=True)
    with _lock:
        if path not in _instances:
            module_name, _, class_name = path.rpartition(".")
            try:
                cls = getattr(import_module(module_name), class_name)
            except (ImportError, AttributeError) as exc:
                raise AdapterError(f"Cannot load provider {path}: {exc}", permanent=True) from exc
            _instances[path] = cls()
        return _instances[path]


def is_configured(capability: str, mode: str | None = None) -> bool:
    return bool(provider_path(capability, mode))
