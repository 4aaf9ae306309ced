"""Pure logic of the engine: plans, what a retry re-runs, the retry policy, voice-timed scenes."""
from __future__ import annotations

from adapters.base import AdapterError, Segment
from pipelines.engine import Pipeline, RetryPolicy, StageSpec, plan_steps, rerun_closure
from pipelines.stages import ratio_size, scene_durations


def _noop(ctx):
    raise AssertionError("not run in these tests")


FAST = Pipeline("fast", (
    StageSpec("storyboard", _noop, "text"),
    StageSpec("scene_image", _noop, "image", per_scene=True),
    StageSpec("scene_video", _noop, "video", per_scene=True),
    StageSpec("stitch", _noop, "media"),
))


def test_a_plan_has_a_row_per_scene_for_per_scene_stages_and_one_for_the_rest():
    planned = plan_steps(FAST.plan({}), scene_count=3)
    assert [(p.stage, p.scene) for p in planned] == [
        ("storyboard", None),
        ("scene_image", 1), ("scene_image", 2), ("scene_image", 3),
        ("scene_video", 1), ("scene_video", 2), ("scene_video", 3),
        ("stitch", None),
    ]
    assert {p.segment for p in planned if p.scene} == {1}  # consecutive per-scene stages share a segment


def test_a_scene_depends_only_on_its_own_earlier_scene_steps_and_job_level_steps():
    planned = {(p.stage, p.scene): p for p in plan_steps(FAST.plan({}), scene_count=3)}
    video_2 = planned[("scene_video", 2)]
    assert video_2.depends_on(planned[("scene_image", 2)])
    assert not video_2.depends_on(planned[("scene_image", 1)])
    assert video_2.depends_on(planned[("storyboard", None)])
    assert planned[("stitch", None)].depends_on(video_2)


def test_retrying_scene_4s_image_reruns_its_clip_and_the_stitch_only():
    planned = plan_steps(FAST.plan({}), scene_count=6)
    rerun = rerun_closure(planned, {("scene_image", 4)})
    assert [(p.stage, p.scene) for p in rerun] == [("scene_image", 4), ("scene_video", 4), ("stitch", None)]


def test_retrying_a_job_level_stage_reruns_everything_after_it():
    planned = plan_steps(FAST.plan({}), scene_count=2)
    assert len(rerun_closure(planned, {("storyboard", None)})) == len(planned)


def test_a_stage_with_a_false_condition_is_not_planned():
    pipeline = Pipeline("p", (StageSpec("a", _noop, "q"), StageSpec("b", _noop, "q", when=lambda s: s.get("b", False))))
    assert [spec.stage for spec in pipeline.plan({})] == ["a"]
    assert [spec.stage for spec in pipeline.plan({"b": True})] == ["a", "b"]


def test_the_retry_policy_backs_off_from_one_second_doubling_to_a_cap():
    policy = RetryPolicy(initial_s=1, backoff=2, cap_s=10, max_attempts=5)
    assert [policy.delay_s(attempt) for attempt in range(1, 6)] == [1, 2, 4, 8, 10]
    assert policy.is_retryable(AdapterError("timeout"))
    assert not policy.is_retryable(AdapterError("bad prompt", permanent=True))
    assert policy.is_retryable(OSError("disk hiccup"))


def test_scenes_are_cut_where_each_narration_segment_starts():
    segments = [Segment("a", 0.1, 2.0), Segment("b", 2.3, 5.0), Segment("c", 5.3, 8.0)]
    assert scene_durations(segments, 10.0) == [2.3, 3.0, 4.7]
    assert sum(scene_durations(segments, 10.0)) == 10.0


def test_no_scene_is_shorter_than_a_second_and_the_total_is_kept():
    segments = [Segment("a", 0.0, 0.2), Segment("b", 0.3, 0.5), Segment("c", 0.6, 9.0)]
    durations = scene_durations(segments, 10.0)
    assert min(durations) >= 1.0 and abs(sum(durations) - 10.0) < 1e-6


def test_sizes_follow_the_aspect_ratio_with_even_sides():
    assert ratio_size("9:16", 1080) == (1080, 1920)
    assert ratio_size("16:9", 1080) == (1920, 1080)
    assert ratio_size("1:1", 270) == (270, 270)
    assert all(side % 2 == 0 for side in ratio_size("9:16", 270))
