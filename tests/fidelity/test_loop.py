"""The regeneration loop and its policy, with scripted renderers and scorers: pure logic, no images."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.base import SHOTS, AdapterError, Readiness
from fidelity.loop import render_faithfully
from fidelity.policy import MIXED, PRODUCT_ONLY, WITH_MODEL, FidelityPolicy, scene_type
from fidelity.scorers import FidelityScorer

REFERENCES = (Path("bottle.png"),)
THRESHOLDS = {PRODUCT_ONLY: 0.8, WITH_MODEL: 0.65, MIXED: 0.72}


@dataclass(frozen=True)
class Output:
    path: Path


@dataclass
class ScriptedRenderer:
    """Renders attempt n as files named a<n>-<ratio>.png and remembers how it was called."""

    ratios: tuple[str, ...] = ("9x16",)
    calls: list[tuple[int, float]] = field(default_factory=list)

    def __call__(self, seed: int, product_emphasis: float) -> list[Output]:
        self.calls.append((seed, product_emphasis))
        return [Output(Path(f"a{len(self.calls)}-{ratio}.png")) for ratio in self.ratios]


class ScriptedScorer(FidelityScorer):
    """Scores a file by its name: scores[attempt][ratio], or the attempt's one score for every ratio."""

    name = "scripted"

    def __init__(self, scores: list[float | dict[str, float]]) -> None:
        self.scores = scores

    def check(self) -> Readiness:
        return Readiness(True, "scripted")

    def score(self, product_images: tuple[Path, ...], candidate: Path) -> float:
        assert product_images == REFERENCES
        attempt, ratio = candidate.stem.split("-")
        scored = self.scores[int(attempt[1:]) - 1]
        return scored[ratio] if isinstance(scored, dict) else scored


def policy(max_attempts: int = 3, on_exhausted: str = "keep_best") -> FidelityPolicy:
    return FidelityPolicy(thresholds=THRESHOLDS, max_attempts=max_attempts, on_exhausted=on_exhausted)


def run(renderer: ScriptedRenderer, scores: list, *, kind: str = PRODUCT_ONLY, **policy_args):
    return render_faithfully(renderer, references=REFERENCES, scene_type=kind, base_seed=1234, provider="test.image",
                             scorer=ScriptedScorer(scores), policy=policy(**policy_args))


def test_a_faithful_first_attempt_is_kept_without_regenerating():
    renderer = ScriptedRenderer()
    result = run(renderer, [0.91])
    assert renderer.calls == [(1234, 0.5)]
    assert result.chosen.attempt == 1 and result.chosen.seed == 1234 and not result.review
    assert [output.path.name for output in result.outputs] == ["a1-9x16.png"]
    assert result.record() == {
        "scorer": "scripted", "scene_type": PRODUCT_ONLY, "threshold": 0.8, "chosen": 1, "review": False,
        "attempts": [{"attempt": 1, "seed": 1234, "provider": "test.image", "product_emphasis": 0.5, "score": 0.91,
                      "threshold": 0.8, "passed": True, "scores": {"scripted": 0.91}}],
    }


def test_a_drifting_scene_is_regenerated_with_new_seeds_and_stronger_conditioning_until_it_passes():
    renderer = ScriptedRenderer()
    result = run(renderer, [0.31, 0.62, 0.88])
    seeds = [seed for seed, _ in renderer.calls]
    assert [emphasis for _, emphasis in renderer.calls] == [0.5, 0.7, 0.9]
    assert seeds[0] == 1234 and len(set(seeds)) == 3
    attempts = result.record()["attempts"]
    assert [(a["attempt"], a["score"], a["passed"]) for a in attempts] == [
        (1, 0.31, False), (2, 0.62, False), (3, 0.88, True)
    ]
    assert [a["seed"] for a in attempts] == seeds
    assert result.chosen.attempt == 3 and not result.review
    assert [output.path.name for output in result.outputs] == ["a3-9x16.png"]  # only the chosen attempt's files


def test_the_least_faithful_aspect_ratio_decides_an_attempt():
    renderer = ScriptedRenderer(ratios=("9x16", "1x1", "16x9"))
    result = run(renderer, [{"9x16": 0.9, "1x1": 0.7, "16x9": 0.95}, {"9x16": 0.86, "1x1": 0.83, "16x9": 0.9}])
    assert [a.score for a in result.attempts] == [0.7, 0.83]
    assert result.chosen.attempt == 2 and len(result.outputs) == 3


def test_an_attempt_keeps_each_scorers_score_of_its_least_faithful_ratio():
    class Stack(ScriptedScorer):
        name = "stack"

        def breakdown(self, product_images, candidate):
            score = self.score(product_images, candidate)
            return {"stack": score, "part": round(1 - score, 4)}

    result = render_faithfully(ScriptedRenderer(ratios=("9x16", "1x1")), references=REFERENCES, scene_type=MIXED,
                               base_seed=1, provider="test.image", scorer=Stack([{"9x16": 0.9, "1x1": 0.75}]),
                               policy=policy())
    assert result.chosen.score == 0.75 and result.chosen.scores == {"stack": 0.75, "part": 0.25}
    assert result.record()["attempts"][0]["scores"] == {"stack": 0.75, "part": 0.25}


def test_the_threshold_is_the_scene_types():
    assert run(ScriptedRenderer(), [0.7], kind=WITH_MODEL).chosen.passed
    assert not run(ScriptedRenderer(), [0.7, 0.7, 0.7], kind=PRODUCT_ONLY).chosen.passed


def test_when_attempts_run_out_keep_best_keeps_the_best_attempt_flagged_for_review():
    renderer = ScriptedRenderer()
    result = run(renderer, [0.41, 0.66, 0.52], on_exhausted="keep_best")
    assert len(renderer.calls) == 3
    assert result.review and result.chosen.attempt == 2 and result.chosen.score == 0.66
    assert [output.path.name for output in result.outputs] == ["a2-9x16.png"]
    assert result.record()["chosen"] == 2 and result.record()["review"] is True


def test_when_attempts_run_out_fail_raises_a_permanent_error_naming_every_score():
    with pytest.raises(AdapterError) as error:
        run(ScriptedRenderer(), [0.41, 0.66, 0.52], on_exhausted="fail")
    assert error.value.permanent
    assert all(score in error.value.message for score in ("0.410", "0.660", "0.520"))
    assert "0.80" in error.value.message and "product_only" in error.value.message


def test_a_render_without_outputs_is_a_permanent_error():
    with pytest.raises(AdapterError) as error:
        render_faithfully(lambda seed, emphasis: [], references=REFERENCES, scene_type=MIXED, base_seed=1,
                          provider="test.image", scorer=ScriptedScorer([1.0]), policy=policy())
    assert error.value.permanent


# ---- the policy -------------------------------------------------------------------------------------


def test_every_storyboard_shot_has_a_scene_type():
    assert {shot: scene_type(shot) for shot in SHOTS} == {
        "hero": PRODUCT_ONLY, "closeup": PRODUCT_ONLY, "feature": PRODUCT_ONLY, "cta": PRODUCT_ONLY,
        "testimonial": WITH_MODEL, "lifestyle": MIXED,
    }
    with pytest.raises(ValueError):
        scene_type("panorama")


def test_the_policy_reads_its_thresholds_and_budget_from_settings(settings):
    settings.ADFAME_FIDELITY_THRESHOLD_PRODUCT, settings.ADFAME_FIDELITY_THRESHOLD_MODEL = 0.85, 0.6
    settings.ADFAME_FIDELITY_THRESHOLD_MIXED, settings.ADFAME_FIDELITY_MAX_ATTEMPTS = 0.7, 4
    settings.ADFAME_FIDELITY_ON_EXHAUSTED = "fail"
    loaded = FidelityPolicy.from_settings()
    assert [loaded.threshold(kind) for kind in (PRODUCT_ONLY, WITH_MODEL, MIXED)] == [0.85, 0.6, 0.7]
    assert loaded.max_attempts == 4 and loaded.on_exhausted == "fail"
    # The model stack's scores spread differently: it has thresholds of its own.
    settings.ADFAME_FIDELITY_STACK_THRESHOLD_PRODUCT, settings.ADFAME_FIDELITY_STACK_THRESHOLD_MODEL = 0.77, 0.66
    settings.ADFAME_FIDELITY_STACK_THRESHOLD_MIXED = 0.55
    stack = FidelityPolicy.from_settings("model_stack")
    assert [stack.threshold(kind) for kind in (PRODUCT_ONLY, WITH_MODEL, MIXED)] == [0.77, 0.66, 0.55]
    assert FidelityPolicy.from_settings("weight_free").threshold(PRODUCT_ONLY) == 0.85


def test_emphasis_rises_by_steps_up_to_one_and_seeds_are_the_same_on_every_run():
    rules = policy(max_attempts=5)
    assert [rules.emphasis(n) for n in range(1, 6)] == [0.5, 0.7, 0.9, 1.0, 1.0]
    assert [rules.seed(99, n) for n in range(1, 4)] == [rules.seed(99, n) for n in range(1, 4)]
    assert rules.seed(99, 1) == 99 and all(0 <= rules.seed(2**31 - 1, n) < 2**31 for n in range(1, 6))


@pytest.mark.parametrize("bad", [
    {"max_attempts": 0},
    {"on_exhausted": "retry_forever"},
    {"thresholds": {PRODUCT_ONLY: 0.8, WITH_MODEL: 0.65}},
    {"thresholds": {PRODUCT_ONLY: 1.2, WITH_MODEL: 0.65, MIXED: 0.7}},
])
def test_a_policy_that_cannot_work_is_refused(bad):
    arguments = {"thresholds": THRESHOLDS, "max_attempts": 3, "on_exhausted": "keep_best", **bad}
    with pytest.raises(ValueError):
        FidelityPolicy(**arguments)
