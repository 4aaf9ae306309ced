"""`manage.py adapters_check`: is every configured provider usable here? One line each, non-zero exit if not.

It checks each capability's provider, each per-mode override, and the fidelity scorer, through their
own `check()` (weights present, binary present, endpoint reachable): run it on a worker before
sending it work, and in a container's health check.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from adapters.base import Provider, Readiness
from adapters.registry import CAPABILITIES, provider, provider_path

OPTIONAL = ("lip_sync",)  # a pipeline skips these when none is configured


@dataclass(frozen=True)
class Row:
    label: str  # "image", or "image:ugc" for a per-mode override
    path: str  # the provider's dotted path, "" when none is configured
    state: str  # ready | NOT READY | skipped
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == "NOT READY"


def readiness_of(instance: Provider) -> Readiness:
    try:
        return instance.check()
    except Exception as exc:  # a check that crashes says as much about the provider as one that fails
        return Readiness(False, f"check() raised {type(exc).__name__}: {exc}")


def provider_row(capability: str, mode: str | None = None) -> Row:
    label = f"{capability}:{mode}" if mode else capability
    path = provider_path(capability, mode)
    if not path:
        if capability in OPTIONAL:
            return Row(label, "", "skipped", "not configured (skipped)")
        return Row(label, "", "NOT READY", f"not configured (ADFAME_PROVIDER_{capability.upper()})")
    try:
        instance = provider(capability, mode)
    except Exception as exc:  # an import error, a missing class, a constructor that raises
        return Row(label, path, "NOT READY", f"cannot load: {exc}")
    readiness = readiness_of(instance)
    return Row(label, path, "ready" if readiness.ready else "NOT READY", readiness.detail)


def fidelity_row() -> Row:
    if not settings.ADFAME_FIDELITY_ENABLED:
        return Row("fidelity", "", "skipped", "ADFAME_FIDELITY_ENABLED is off (skipped)")
    # Imported here: adapters know nothing of the apps that use them, this command excepted.
    from fidelity.scorers import scorer_for_settings

    try:
        scorer = scorer_for_settings()
    except Exception as exc:
        return Row("fidelity", "", "NOT READY", f"cannot load the scorer: {exc}")
    path = f"{type(scorer).__module__}.{type(scorer).__qualname__}"
    readiness = readiness_of(scorer)
    return Row("fidelity", path, "ready" if readiness.ready else "NOT READY", readiness.detail)


def cutout_row() -> Row:
    """Which segmentation finds the product in its photo: U²-Net, or the GrabCut fallback (and why)."""
    from imaging.cutout import segmenter

    chosen = segmenter()
    return Row("cutout", "imaging.cutout", "ready", chosen.describe())


def overrides() -> list[tuple[str, str]]:
    """(capability, mode) of every per-mode provider in settings, in a stable order."""
    keys = (key.partition(":") for key in settings.ADFAME_PROVIDERS if ":" in key)
    return sorted((capability, mode) for capability, _, mode in keys)


class Command(BaseCommand):
    help = "Check that every configured provider (and the fidelity scorer) is ready to work on this machine."

    def handle(self, *args: object, **options: object) -> None:
        rows = [provider_row(capability) for capability in CAPABILITIES]
        rows += [provider_row(capability, mode) for capability, mode in overrides()]
        rows.append(fidelity_row())
        rows.append(cutout_row())
        label_width = max(len(row.label) for row in rows)
        path_width = max(len(row.path or "-") for row in rows)
        for row in rows:
            line = f"{row.label:<{label_width}}  {row.path or '-':<{path_width}}  {row.state:<9}  {row.detail}"
            self.stdout.write(self.style.ERROR(line) if row.failed else line)
        failed = [row.label for row in rows if row.failed]
        if failed:
            raise CommandError(f"{len(failed)} provider(s) not ready: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("all configured providers are ready"))
