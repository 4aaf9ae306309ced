"""The template copywriter: storyboards of the right shape for every mode, copy drawn from the brief."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from adapters.base import MOTIONS, SHOTS, AdapterError, Brief, Storyboard
from adapters.local.copywriter import WORDS_PER_SECOND, TemplateCopywriter

MODES = ("image_bundle", "fast_paced", "script_to_video", "ugc")
VIDEO_MODES = ("fast_paced", "script_to_video", "ugc")
SPOKEN_MODES = ("script_to_video", "ugc")

AURORA = Brief(
    mode="script_to_video",
    product_name="Aurora water bottle",
    product_description="Insulated steel bottle, 750 ml, keeps drinks cold for 24 hours.",
    prompt="Launch the Aurora water bottle for summer hikers: light, cold for 24 hours, made to last.",
    call_to_action="Shop now",
    scene_count=6,
    duration_s=30,
    language="en",
)
# Briefs unlike Aurora's: a long marketplace title, facts written as sentences, instructions in the
# prompt that must never reach the copy, a CTA with an exclamation mark, and nothing at all.
OTHER_BRIEFS = (
    replace(
        AURORA,
        product_name="Pulse ANC Wireless Headphones - Black, Over-Ear, 40h Battery",
        product_description="Active noise cancelling. Up to 40 hours of battery. It charges in 10 minutes for 5 hours.",
        prompt="Make it fun and energetic for students on TikTok, back to school season",
        call_to_action="Buy now!",
    ),
    replace(
        AURORA,
        product_name="Trailblazer backpack",
        product_description="The Trailblazer keeps your gear dry in any storm. It has 12 pockets. Your laptop fits.",
        prompt="Create an Instagram ad for commuters who cycle. Highlight the waterproof shell. Keep the tone upbeat.",
        call_to_action="Get 20% off with code RIDE",
        product_facts={"category": "bags", "colors": ["sage", "midnight", "#1C6096"]},
    ),
    replace(AURORA, product_name="", product_description="", prompt="", call_to_action=""),
)
# Long words a careless splitter would cut at 40 characters, leaving a stub like "Zephyrcal".
LONG_WORDED = replace(
    AURORA,
    product_name="Zephyrcalibrated Quartzwalled Xylothermic Flask",
    product_description="Quartzwalled zephyrcalibrated insulation, xylothermically leakproof, 1000 ml capacity.",
    prompt="",
)


def write(brief: Brief, *, seed: int = 7, **changes) -> Storyboard:
    return TemplateCopywriter().storyboard(replace(brief, **changes), seed=seed)


def words(text: str) -> int:
    return len(text.split())


def all_copy(storyboard: Storyboard) -> list[str]:
    return [storyboard.title, *(s.headline for s in storyboard.scenes), *(s.narration for s in storyboard.scenes)]


# ---- shape: every mode, every scene count, every length ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_it_writes_exactly_the_scenes_asked_for_and_their_durations_add_up(mode):
    for scene_count in range(1, 13):
        for duration_s in (6, 7, 10, 15, 30, 45, 60, 90, 120, 7.25):
            storyboard = write(AURORA, mode=mode, scene_count=scene_count, duration_s=duration_s)
            scenes = storyboard.scenes
            assert [s.number for s in scenes] == list(range(1, scene_count + 1))
            assert abs(sum(s.duration_s for s in scenes) - duration_s) <= 0.01, (scene_count, duration_s)
            # At least a second a scene where the time allows; else an even split, to the tenth.
            shortest = 1.0 if duration_s >= scene_count else duration_s / scene_count - 0.1
            assert all(s.duration_s >= shortest - 0.01 for s in scenes), (scene_count, duration_s)
            assert all(s.shot in SHOTS and s.motion in MOTIONS for s in scenes)
            assert all(s.headline.strip() and len(s.headline) <= 40 for s in scenes)


def test_the_storyboard_survives_a_round_trip_through_json_shaped_data():
    storyboard = write(AURORA)
    assert Storyboard.from_dict(storyboard.to_dict()) == storyboard


# ---- seeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_same_seed_writes_the_same_storyboard(mode):
    assert write(AURORA, mode=mode, seed=11) == write(AURORA, mode=mode, seed=11)


@pytest.mark.parametrize("mode", MODES)
def test_other_seeds_write_other_storyboards(mode):
    storyboards = {write(AURORA, mode=mode, seed=seed) for seed in range(6)}
    assert len(storyboards) >= 3


# ---- what each mode is like ----------------------------------------------------------------------


def test_image_bundle_concepts_are_silent_stills_with_varied_shots():
    storyboard = write(AURORA, mode="image_bundle")
    shots = [s.shot for s in storyboard.scenes]
    assert storyboard.voice_style == "none"
    assert all(s.narration == "" for s in storyboard.scenes)
    assert shots[0] == "hero" and shots[-1] == "cta" and len(set(shots)) >= 4
    assert all(a != b for a, b in zip(shots, shots[1:]))


def test_a_single_image_concept_is_the_hero_shot():
    assert write(AURORA, mode="image_bundle", scene_count=1).scenes[0].shot == "hero"


def test_fast_paced_cuts_are_music_driven_with_short_cards_and_restless_motion():
    storyboard = write(AURORA, mode="fast_paced", scene_count=8)
    scenes = storyboard.scenes
    assert storyboard.voice_style == "energetic"
    assert all(s.narration == "" for s in scenes)
    assert all(2 <= words(s.headline) <= 5 for s in scenes[:-1])
    assert len({s.motion for s in scenes}) >= 3 and all(a.motion != b.motion for a, b in zip(scenes, scenes[1:]))
    assert max(s.duration_s for s in scenes[1:-1]) < scenes[-1].duration_s


def test_script_to_video_narrates_a_hook_the_benefits_and_the_call_to_action():
    storyboard = write(AURORA, mode="script_to_video")
    narration = " ".join(s.narration for s in storyboard.scenes)
    assert storyboard.voice_style == "explainer"
    assert 65 <= words(narration) <= 80  # 30 s at 2.6 words a second
    assert "Aurora water bottle" in storyboard.scenes[0].narration
    assert "24 hours" in narration and "750 milliliters" in narration and "summer hikers" in narration
    assert storyboard.scenes[-1].narration.endswith("Shop now.")


def test_script_to_video_headlines_sum_up_their_scenes():
    for scene in write(AURORA, mode="script_to_video").scenes[1:-1]:
        shown = set(re.findall(r"[a-z0-9]+", scene.headline.lower()))
        said = set(re.findall(r"[a-z0-9]+", scene.narration.lower()))
        assert len(shown & said) >= len(shown) / 2, scene


def test_ugc_is_a_creator_talking_to_camera_in_the_first_person():
    storyboard = write(AURORA, mode="ugc")
    scenes = storyboard.scenes
    narration = " ".join(s.narration for s in scenes)
    assert storyboard.voice_style == "casual"
    assert re.search(r"\b(I|I'm|I've|my|me)\b", narration)
    assert all(s.motion == "handheld" for s in scenes)
    assert sum(s.shot == "testimonial" for s in scenes[:-1]) > len(scenes[:-1]) / 2
    assert "shop now" in scenes[-1].narration.lower()
    assert all(words(s.headline) <= 5 for s in scenes[:-1])


@pytest.mark.parametrize("mode", VIDEO_MODES)
def test_every_video_ends_on_the_call_to_action_card(mode):
    for scene_count in (1, 2, 3, 6, 12):
        last = write(AURORA, mode=mode, scene_count=scene_count).scenes[-1]
        # The image provider draws the call to action as the card's button; the headline names the product.
        assert last.shot == "cta" and last.headline == "Aurora water bottle"
        assert mode == "fast_paced" or "shop now" in last.narration.lower()


@pytest.mark.parametrize("mode", SPOKEN_MODES)
def test_narration_fits_each_scene_at_the_speaking_rate(mode):
    for scene_count in range(1, 13):
        for duration_s in (6, 10, 20, 30, 45, 60, 120):
            storyboard = write(AURORA, mode=mode, scene_count=scene_count, duration_s=duration_s)
            for scene in storyboard.scenes:
                room = max(3, int(scene.duration_s * WORDS_PER_SECOND))
                # Scenes too short for a phrase get one anyway; a word or two over is squeezed.
                assert 1 <= words(scene.narration) <= room + 2, (scene_count, duration_s, scene)
            if 2.5 <= duration_s / scene_count <= 8:
                said = sum(words(s.narration) for s in storyboard.scenes)
                room = sum(int(s.duration_s * WORDS_PER_SECOND) for s in storyboard.scenes)
                assert 0.6 * room <= said <= room, (scene_count, duration_s)


# ---- drawing on the brief ------------------------------------------------------------------------


def test_facts_and_the_audience_from_the_brief_make_the_copy():
    headlines = [s.headline for s in write(AURORA, mode="image_bundle").scenes]
    assert "Keeps drinks cold for 24 hours" in headlines
    assert "Insulated steel bottle, 750 ml" in headlines
    assert any("summer hikers" in h for h in headlines)


def test_a_fact_the_prompt_asks_to_highlight_comes_first():
    storyboard = write(OTHER_BRIEFS[1], mode="script_to_video")
    assert "waterproof shell" in storyboard.scenes[1].narration


@pytest.mark.parametrize("mode", MODES)
def test_instructions_in_the_prompt_never_reach_the_copy(mode):
    for brief in OTHER_BRIEFS[:2]:
        text = " ".join(all_copy(write(brief, mode=mode))).lower()
        assert not re.search(r"tiktok|instagram|\bad\b|tone|upbeat|make it|create", text), text


@pytest.mark.parametrize("mode", MODES)
def test_headlines_are_short_and_never_cut_a_word_in_half(mode):
    source = " ".join([LONG_WORDED.product_name, LONG_WORDED.product_description]).lower()
    source_words = set(re.findall(r"[a-z0-9'-]+", source))
    for scene_count in (1, 4, 8):
        for scene in write(LONG_WORDED, mode=mode, scene_count=scene_count).scenes:
            assert 0 < len(scene.headline) <= 40
            for word in re.findall(r"[a-z0-9'-]{4,}", scene.headline.lower()):
                stub = word not in source_words and any(w.startswith(word) for w in source_words)
                assert not stub, scene.headline


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_brief_still_gets_sensible_generic_copy(mode):
    storyboard = write(OTHER_BRIEFS[2], mode=mode)
    assert storyboard.title and all(s.headline for s in storyboard.scenes)
    if mode in SPOKEN_MODES:
        assert all(words(s.narration) >= 3 for s in storyboard.scenes)
        assert "learn more" in storyboard.scenes[-1].narration.lower()


@pytest.mark.parametrize("mode", MODES)
def test_no_template_placeholder_or_filler_text_ever_leaks(mode):
    for brief in (AURORA, LONG_WORDED, *OTHER_BRIEFS):
        for scene_count in (1, 2, 5, 12):
            for text in all_copy(write(brief, mode=mode, scene_count=scene_count)):
                assert not re.search(r"[{}]|lorem|\bNone\b|\s[.,]|\.\.\.\.|  ", text, re.IGNORECASE), text


@pytest.mark.parametrize("mode", SPOKEN_MODES)
def test_the_customers_call_to_action_is_said_as_written(mode):
    for scene_count in (1, 6, 12):
        last = write(OTHER_BRIEFS[1], mode=mode, scene_count=scene_count).scenes[-1]
        assert "et 20% off with code RIDE" in last.narration


def test_names_keep_their_own_casing_and_determiners():
    for mode in MODES:
        text = " ".join(all_copy(write(AURORA, mode=mode, product_name="iPhone case")))
        assert "iPhone case" in text and "IPhone" not in text
        # The pipeline names a nameless product "our product".
        assert "the our product" not in " ".join(all_copy(write(AURORA, mode=mode, product_name="our product"))).lower()


def test_a_brief_in_another_language_still_gets_english_copy():
    storyboard = write(AURORA, language="fr")
    assert storyboard.title == "Aurora water bottle: summer explainer"
    assert "Shop now" in storyboard.scenes[-1].narration


# ---- the provider --------------------------------------------------------------------------------


def test_it_is_always_ready():
    readiness = TemplateCopywriter().check()
    assert readiness.ready and readiness.detail
    assert TemplateCopywriter.name == "local.copywriter" and TemplateCopywriter.capability == "text"


def test_an_unknown_mode_is_a_permanent_error():
    with pytest.raises(AdapterError) as error:
        write(AURORA, mode="hologram")
    assert error.value.permanent


# ---- copy that reads whole: real product briefs (the photos in scikit-image's data module) --------

PHOTO_BRIEFS = {
    "coffee": replace(
        AURORA,
        product_name="Ceramic espresso cup",
        product_description="A ceramic cup of dark roast coffee with a detailed 1 cm crema, served on a matching "
        "saucer with a silver spoon.",
        prompt="Make a warm ad for coffee lovers",
    ),
    "astronaut": replace(
        AURORA,
        product_name="Astronaut portrait print",
        product_description="Shown worn by an astronaut in a white spacesuit with the American flag behind. "
        "A museum-quality print on heavy matte paper.",
        prompt="Launch it for the holidays",
    ),
    "chelsea": replace(
        AURORA,
        product_name="Chelsea the tabby cat plush",
        product_description="A soft tabby cat plush with amber eyes and long whiskers. Shown worn on a lap. "
        "Machine washable.",
        prompt="Launch it for the holidays",
    ),
    "rocket": replace(
        AURORA,
        product_name="Saturn V rocket model",
        product_description="A detailed 1:144 scale model of the Saturn V rocket on its launch pad, with service "
        "towers and gantry.",
        prompt="Launch it for the holidays",
    ),
}
# Words a headline cut mid-phrase ends on: "A ceramic cup of dark", "A detailed 1", "Shown worn".
HANGING = {"a", "an", "the", "of", "with", "on", "for", "to", "and", "by", "from", "dark", "heavy", "matte",
           "amber", "worn", "shown"}


def last_word(text: str) -> str:
    return re.sub(r"[^\w:'-]", "", text.split()[-1].lower())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("photo", PHOTO_BRIEFS)
def test_headlines_from_real_descriptions_are_whole_phrases(photo, mode):
    for seed in range(4):
        for scene_count in (3, 4, 6):
            for scene in write(PHOTO_BRIEFS[photo], mode=mode, seed=seed, scene_count=scene_count).scenes:
                for text in filter(None, (scene.headline, scene.headline_short)):
                    end = last_word(text)
                    assert end not in HANGING and not re.fullmatch(r"[\d:.,]+", end), (text, scene)
                    # A caption of the photo is no headline, and the holidays are no audience.
                    assert not re.match(r"(shown|pictured)\b", text, re.IGNORECASE), text
                    assert "for holidays" not in text.lower(), text


@pytest.mark.parametrize("mode", SPOKEN_MODES)
def test_narration_never_stops_mid_phrase_either(mode):
    for photo, brief in PHOTO_BRIEFS.items():
        for scene in write(brief, mode=mode, scene_count=6).scenes:
            for sentence in re.split(r"(?<=[.!?])\s+", scene.narration):
                assert last_word(sentence) not in HANGING, (photo, sentence)
                assert not re.search(r"\b\d+\.$", sentence), (photo, sentence)  # "a detailed 1."


def test_a_ratio_in_a_description_stays_one_fact():
    headlines = [s.headline for s in write(PHOTO_BRIEFS["rocket"], mode="image_bundle", scene_count=4).scenes]
    assert "A detailed 1:144 scale model" in headlines
    narrations = [" ".join(s.narration for s in write(PHOTO_BRIEFS["rocket"], mode=mode, seed=seed).scenes)
                  for mode in SPOKEN_MODES for seed in range(3)]
    said = [text for text in narrations if "144" in text]
    assert said and all("1 to 144 scale" in text for text in said)  # spoken as a ratio, not "1 colon 144"
    assert not any("a detailed 1." in text.lower() for text in narrations)


def test_long_description_phrases_are_shortened_to_a_whole_phrase():
    from adapters.local.copywriter import _compact, _shorten

    assert _shorten("A museum-quality print on heavy matte paper", 5) == "A museum-quality print"
    assert _shorten("A soft tabby cat plush with amber eyes and long whiskers", 6) == "A soft tabby cat plush"
    assert _shorten("Made from recycled ocean plastic", 2) == ""  # "Made" alone is no phrase
    assert _compact("dark roast coffee with a detailed 1 cm crema", 5) == "a detailed 1 cm crema"
    assert _compact("keeps drinks cold for 24 hours", 5) == "drinks cold for 24 hours"


def test_names_that_carry_their_own_article_get_no_second_one():
    text = " ".join(all_copy(write(PHOTO_BRIEFS["chelsea"], mode="script_to_video")))
    assert "the Chelsea the" not in text


def test_long_headlines_come_with_a_shorter_whole_alternative():
    scenes = [s for mode in MODES for s in write(PHOTO_BRIEFS["rocket"], mode=mode, scene_count=6).scenes]
    shorts = [s for s in scenes if s.headline_short]
    assert shorts, "some headline should have a shorter form"
    for scene in shorts:
        assert words(scene.headline_short) < words(scene.headline)
        assert words(scene.headline_short) >= 2
    hook = write(PHOTO_BRIEFS["rocket"], mode="script_to_video").scenes[0]
    assert hook.headline.endswith("the Saturn V rocket model") and hook.headline_short == "Saturn V rocket model"


def test_a_storyboard_saved_before_short_headlines_existed_still_loads():
    data = write(AURORA).to_dict()
    assert all("headline_short" in scene for scene in data["scenes"])
    for scene in data["scenes"]:
        del scene["headline_short"]
    loaded = Storyboard.from_dict(data)
    assert all(scene.headline_short == "" for scene in loaded.scenes)
