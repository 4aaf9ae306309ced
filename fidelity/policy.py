"""The fidelity policy: how faithful each kind of scene must be, and how hard to try before giving up.

Thresholds (settings ADFAME_FIDELITY_THRESHOLD_* for the weight-free scorer, *_STACK_THRESHOLD_* for
the model stack) sit between scores measured on 480 stills at 270 px short side, all three ratios
(`DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python -m tests.fidelity.calibrate`), each still
scored against the uploaded photo alone. Faithful: the compositor's stills of every shot of
scikit-image's coffee, astronaut, chelsea, rocket and the test bottle (cut-outs and photo layouts,
n=90) and photos cropped around the product (n=12; the rocket's, see below, left out). Unfaithful:
the same shots from a cut-out with the right half of the mask removed, recoloured, another product
(90 each), and crops slid off the product (15). Close-ups left out of the unfaithful figures.

                      faithful min / p5   unfaithful p95 / max   threshold
    weight-free
      product_only    0.909 / 0.926       0.653 / 0.958          0.80
      with_model      0.926 / 0.926       0.494 / 0.610          0.78
      mixed           0.926 / 0.926       0.494 / 0.541          0.73
    model stack (mean of the two, the embedding times the share of the product in view)
      product_only    0.859 / 0.893       0.624 / 0.907          0.75
      with_model      0.893 / 0.893       0.555 / 0.565          0.73
      mixed           0.888 / 0.888       0.559 / 0.577          0.73
    EfficientNet-Lite0 alone: not used alone, it barely sees colour (recoloured stills: median 0.79)
      all             0.737 / 0.837       0.885 / 0.949

The three highest unfaithful product_only scores are 9:16 crops slid along a product wider than
the frame (see below); next come the rocket's slid 9:16 crop (0.79 weight-free, 0.74 stack: below
both thresholds, narrowly) and the astronaut's half-removed CTA (0.69 / 0.71).
What still passes: a close-up of the half that is left (it shows a faithful part, as a close-up
should; 6 of 15 half-removed close-ups), and in 9:16 a crop slid along a product wider than the
frame (cup, astronaut, cat: it fills the frame as a close-up does). What fails though faithful:
the rocket drawn from product setup's neutral view (a crop of the thin rocket alone, which the
compositor blows up to a blurred nose; 0.22-0.76) and a crude 10 %-margin crop around the
rocket's towers (0.52-0.76); the compositor's own rocket layouts pass (0.94+).
"""
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
