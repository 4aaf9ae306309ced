"""The regeneration loop: render a scene, score it against the product, render again until it is faithful.

Each attempt renders with a new seed and stronger product conditioning; every attempt is recorded
(seed, provider, emphasis, score, threshold, passed, and each scorer's score when a stack decides) so a
step shows how its scene was chosen. When
the attempts run out the policy decides: keep the best one flagged for review, or fail for good.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from adapters.base import AdapterError
from fidelity.policy import FidelityPolicy
from fidelity.scorers import FidelityScorer


class Rendered(Protocol):
    """Anything a render returns per output file (an ImageResult, an OutputFile): it has a path."""

    @property
    def path(self) -> Path: ...


R = TypeVar("R", bound=Rendered)


@dataclass(frozen=True)
class Attempt:
    """One render of a scene and its verdict."""

    attempt: int  # from 1
    seed: int
    provider: str
    product_emphasis: float
    score: float  # the lowest over the attempt's outputs (one per aspect ratio)
    threshold: float
    passed: bool
    scores: dict[str, float] = field(default_factory=dict)  # that output's score by scorer, a stack's parts too


@dataclass(frozen=True)
class FaithfulRender(Generic[R]):
    """The chosen attempt's outputs and the story of how it was chosen."""

    outputs: tuple[R, ...]
    chosen: Attempt
    attempts: tuple[Attempt, ...]
    review: bool  # no attempt passed: a person should look at the chosen one
    scorer: str
    scene_type: str

    def record(self) -> dict[str, Any]:
        """What a step stores under outputs["fidelity"]."""
        return {
            "scorer": self.scorer,
            "scene_type": self.scene_type,
            "threshold": self.chosen.threshold,
            "attempts": [asdict(attempt) for attempt in self.attempts],
            "chosen": self.chosen.attempt,
            "review": self.review,
        }


def render_faithfully(
    render: Callable[[int, float], Sequence[R]],
    *,
    references: tuple[Path, ...],
    scene_type: str,
    base_seed: int,
    provider: str,
    scorer: FidelityScorer,
    policy: FidelityPolicy,
) -> FaithfulRender[R]:
    """Call `render(seed, product_emphasis)` until its outputs score at least the scene type's threshold.

    Raises a permanent AdapterError, with every attempt's score, when no attempt passes and the
    policy says fail.
    """
    threshold = policy.threshold(scene_type)
    tried: list[tuple[Attempt, tuple[R, ...]]] = []
    for number in range(1, policy.max_attempts + 1):
        seed, emphasis = policy.seed(base_seed, number), policy.emphasis(number)
        outputs = tuple(render(seed, emphasis))
        if not outputs:
            raise AdapterError(f"{provider} rendered no image to score", permanent=True)
        # Every aspect ratio reaches someone: a scene is as faithful as its least faithful ratio.
        scored = min((scorer.breakdown(references, output.path) for output in outputs), key=lambda s: s[scorer.name])
        score = round(scored[scorer.name], 4)
        attempt = Attempt(number, seed, provider, emphasis, score, threshold, score >= threshold, scored)
        tried.append((attempt, outputs))
        if attempt.passed:
            return FaithfulRender(outputs, attempt, tuple(a for a, _ in tried), False, scorer.name, scene_type)

    attempts = tuple(attempt for attempt, _ in tried)
    if policy.on_exhausted == "fail":
        scores = ", ".join(f"{a.score:.3f} (seed {a.seed}, emphasis {a.product_emphasis:.2f})" for a in attempts)
        raise AdapterError(
            f"fidelity: no attempt reached {threshold:.2f} for a {scene_type} scene with {provider} "
            f"({scorer.name} scorer): {scores}",
            permanent=True,
        )
    chosen, outputs = max(tried, key=lambda item: item[0].score)  # the earliest of equals
    return FaithfulRender(outputs, chosen, attempts, True, scorer.name, scene_type)
