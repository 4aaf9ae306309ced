"""The fidelity policy: how faithful each kind of scene must be, and how hard to try before giving up."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.conf import settings

PRODUCT_ONLY = "product_only"  # the product alone: it must be the product, exactly
WITH_MODEL = "with_model"  # a person holds, wears or talks about it: they cover and compete with it
MIXED = "mixed"  # the product in a designed set: props and shapes share the frame

# Storyboard shots (adapters.base.SHOTS) by the kind of scene they make.
SCENE_TYPES = MappingProxyType({
    "hero": PRODUCT_ONLY,
    "closeup": PRODUCT_ONLY,
    "feature": PRODUCT_ONLY,
    "cta": PRODUCT_ONLY,
    "testimonial": WITH_MODEL,
    "lifestyle": MIXED,
})

ON_EXHAUSTED = ("keep_best", "fail")
FIRST_EMPHASIS = 0.5  # a first render's product conditioning: SceneImageRequest's default


def scene_type(shot: str) -> str:
    """product_only, with_model or mixed for a storyboard shot."""
    try:
        return SCENE_TYPES[shot]
    except KeyError:
        raise ValueError(f"unknown shot {shot!r}; expected one of {', '.join(SCENE_TYPES)}") from None


@dataclass(frozen=True)
class FidelityPolicy:
    """Thresholds per scene type, the attempt budget, and what happens when it runs out.

    Attempt n renders with product_emphasis first_emphasis + (n - 1) * emphasis_step (at most 1)
    and, from the second attempt on, a new seed derived from the step's seed.
    """

    thresholds: Mapping[str, float]
    max_attempts: int
    on_exhausted: str  # keep_best: the best attempt, flagged for review; fail: a permanent error
    first_emphasis: float = FIRST_EMPHASIS
    emphasis_step: float = 0.2

    def __post_init__(self) -> None:
        missing = {PRODUCT_ONLY, WITH_MODEL, MIXED} - set(self.thresholds)
        if missing:
            raise ValueError(f"fidelity thresholds missing for {', '.join(sorted(missing))}")
        if any(not 0 <= value <= 1 for value in self.thresholds.values()):
            raise ValueError(f"fidelity thresholds must lie in 0..1, got {dict(self.thresholds)}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.on_exhausted not in ON_EXHAUSTED:
            raise ValueError(f"on_exhausted must be one of {', '.join(ON_EXHAUSTED)}, got {self.on_exhausted!r}")

    @classmethod
    def from_settings(cls, scorer: str = "weight_free") -> FidelityPolicy:
        """The policy for a scorer (by name): each scorer's scores spread differently, so each has its thresholds.

        The model stack has its own (ADFAME_FIDELITY_STACK_THRESHOLD_*); every other scorer reads
        ADFAME_FIDELITY_THRESHOLD_*, measured for the weight-free one (see fidelity/calibrate.py).
        """
        prefix = "ADFAME_FIDELITY_STACK_THRESHOLD" if scorer == "model_stack" else "ADFAME_FIDELITY_THRESHOLD"
        return cls(
            thresholds=MappingProxyType({
                PRODUCT_ONLY: getattr(settings, f"{prefix}_PRODUCT"),
                WITH_MODEL: getattr(settings, f"{prefix}_MODEL"),
                MIXED: getattr(settings, f"{prefix}_MIXED"),
            }),
            max_attempts=settings.ADFAME_FIDELITY_MAX_ATTEMPTS,
            on_exhausted=settings.ADFAME_FIDELITY_ON_EXHAUSTED,
        )

    def threshold(self, scene_type: str) -> float:
        return self.thresholds[scene_type]

    def emphasis(self, attempt: int) -> float:
        """Product conditioning for attempt n (from 1): 0.5, 0.7, 0.9, then 1.0 with the defaults."""
        return round(min(1.0, self.first_emphasis + (attempt - 1) * self.emphasis_step), 3)

    def seed(self, base_seed: int, attempt: int) -> int:
        """The step's own seed first, then a new one per attempt, the same on every run of the step."""
        # A stride of its own (the engine steps a retried step's seed by 104729): regenerations and
        # retries of a step do not walk through the same seeds.
        return (base_seed + 15485863 * (attempt - 1)) % (2**31)
