"""Storyboards from any OpenAI-compatible chat endpoint (Ollama, vLLM, OpenAI), checked against the storyboard rules.

The model is asked for one JSON object in the shape of a Storyboard, under the same rules the
template copywriter follows for each mode (no voice in image bundles and fast cuts, a CTA card to
close, headlines that fit a frame). Its answer is validated; a broken one is sent back once with
what is wrong, and a second broken answer fails the step for good. Scene lengths are the model's
proportions, rescaled to add up exactly to the brief's duration.

The base URL, model and key are operator configuration (ADFAME_LLM_*), never client input. The key
travels only in the Authorization header: it is never logged nor put in an error message.
"""
from __future__ import annotations

import email.utils
import json
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
from django.conf import settings

from adapters.base import MOTIONS, SHOTS, AdapterError, Brief, Readiness, Scene, Storyboard, TextProvider
from adapters.local.copywriter import (
    BUNDLE_HEADLINE_MAX_WORDS,
    CUT_HEADLINE_MAX_WORDS,
    HEADLINE_MAX_CHARS,
    MODES,
    WORDS_PER_SECOND,
    scene_durations,
)

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0
TEMPERATURE = 0.7  # varied copy from one seed to the next, still on brief
SILENT_MODES = ("image_bundle", "fast_paced")
VOICE_STYLES = ("energetic", "explainer", "casual")
# Headlines as short as the template copywriter's: fast cuts and a creator's captions are read in a second.
HEADLINE_MAX_WORDS = {
    "image_bundle": BUNDLE_HEADLINE_MAX_WORDS,
    "fast_paced": CUT_HEADLINE_MAX_WORDS,
    "script_to_video": BUNDLE_HEADLINE_MAX_WORDS,
    "ugc": CUT_HEADLINE_MAX_WORDS,
}
# The speech providers speed up to about 1.5 times their natural pace; more narration than that cannot fit.
MAX_NARRATION_SQUEEZE = 1.5
ERROR_BODY_CHARS = 300

MODE_RULES = {
    "image_bundle": (
        "Each scene is the concept of one still image for a product ad. No voice: narration is \"\" in every "
        "scene, and voice_style is \"none\". Give every still a punchy headline. With more than one scene, the "
        "last is the call-to-action card."
    ),
    "fast_paced": (
        "A fast-cut, music-driven video: quick scenes with 2 to 5 word headlines. No voice: narration is \"\" in "
        "every scene. voice_style is \"energetic\". Never use the same motion twice in a row. The last scene "
        "is the call-to-action card."
    ),
    "script_to_video": (
        "An explainer video with a voiceover: a hook, the product's benefits, then the call to action. Every "
        f"scene has narration, sized to its scene at about {WORDS_PER_SECOND} spoken words a second. Calm "
        "camera motions. The last scene is the call-to-action card and its narration ends with the call to action."
    ),
    "ugc": (
        "A creator talking to camera about the product, first person and casual, like a social media video. "
        "Shots are \"testimonial\", with now and then a \"closeup\" of the product in hand; the motion is "
        f"\"handheld\". Every scene has narration, sized to its scene at about {WORDS_PER_SECOND} spoken words a "
        "second. The last scene is the call-to-action card and its narration ends with the call to action."
    ),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How a request is retried on 429, 5xx, a timeout or a dropped connection."""

    max_retries: int
    initial_s: float = 1.0
    backoff: float = 2.0
    cap_s: float = 30.0  # also caps a server's Retry-After: a step must not sleep for minutes

    def wait_s(self, retry: int, retry_after_s: float | None) -> float:
        wait = retry_after_s if retry_after_s is not None else self.initial_s * self.backoff ** (retry - 1)
        return min(max(wait, 0.0), self.cap_s)


class InvalidStoryboard(Exception):
    """The model's answer is not a storyboard for the brief; `problems` say why, for the model to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class OpenAICompatibleText(TextProvider):
    name = "models.openai_compatible"

    def check(self) -> Readiness:
        base, model = _base_url(), settings.ADFAME_LLM_MODEL
        if not base:
            return Readiness(False, "ADFAME_LLM_BASE_URL is not set: name an OpenAI-compatible API")
        if not model:
            return Readiness(False, "ADFAME_LLM_MODEL is not set: name the model to ask")
        try:
            response = httpx.get(f"{base}/models", headers=_headers(), timeout=CHECK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return Readiness(False, f"{base} is unreachable: {type(exc).__name__}: {exc}")
        if not response.is_success:
            return Readiness(False, f"GET {base}/models answered {response.status_code}")
        listed = _listed_models(response)
        if listed and model not in listed and f"{model}:latest" not in listed:
            return Readiness(False, f"{base} does not list the model {model!r}")
        return Readiness(True, f"{model} at {base}")

    def storyboard(self, brief: Brief, *, seed: int) -> Storyboard:
        # 1. check the brief
        if brief.mode not in MODES:
            raise AdapterError(f"unknown mode {brief.mode!r}; expected one of {', '.join(MODES)}", permanent=True)
        if brief.scene_count < 1 or brief.duration_s <= 0:
            raise AdapterError(
                f"a storyboard needs scenes and time, got {brief.scene_count} scenes in {brief.duration_s} s",
                permanent=True,
            )
        # 2. ask
        messages = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": user_prompt(brief)},
        ]
        answer = self._complete(messages, seed=seed)
        try:
            return parse_storyboard(answer, brief)
        except InvalidStoryboard as invalid:
            problems = invalid.problems
        # 3. one correction: the model sees its answer and what is wrong with it
        logger.warning("the model's storyboard is invalid, asking once more: %s", "; ".join(problems))
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": repair_prompt(problems)},
        ]
        answer = self._complete(messages, seed=seed)
        try:
            return parse_storyboard(answer, brief)
        except InvalidStoryboard as invalid:
            raise AdapterError(
                f"the model's storyboard was invalid twice; last time: {'; '.join(invalid.problems)}", permanent=True
            ) from None

    def _complete(self, messages: list[dict[str, str]], *, seed: int) -> str:
        """The assistant's reply to `messages`, retrying 429, 5xx, timeouts and dropped connections."""
        base, model = _base_url(), settings.ADFAME_LLM_MODEL
        if not base or not model:
            raise AdapterError("ADFAME_LLM_BASE_URL and ADFAME_LLM_MODEL must both be set", permanent=True)
        payload = {
            "model": model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "seed": seed,
            "temperature": TEMPERATURE,
        }
        response = _post(f"{base}/chat/completions", payload)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise AdapterError(
                f"{base}/chat/completions answered {response.status_code} without a chat completion: "
                f"{response.text[:ERROR_BODY_CHARS]!r}",
                permanent=True,
            ) from None
        return content or ""  # a refusal has no content; validation then says what is missing


def _post(url: str, payload: dict[str, Any]) -> httpx.Response:
    timeout_s = float(settings.ADFAME_LLM_TIMEOUT_S)
    policy = RetryPolicy(max_retries=settings.ADFAME_LLM_MAX_RETRIES)
    retry = 0
    while True:
        retry_after_s = None
        try:
            response = httpx.post(url, json=payload, headers=_headers(), timeout=timeout_s)
        except httpx.TimeoutException:
            failure = f"{url} gave no answer within {timeout_s:g} s"
        except httpx.TransportError as exc:
            failure = f"cannot reach {url}: {type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return response
            failure = f"{url} answered {response.status_code}: {_error_text(response)}"
            if response.status_code != 429 and response.status_code < 500:
                raise AdapterError(failure, permanent=True)
            retry_after_s = _retry_after_s(response.headers.get("retry-after"))
        if retry >= policy.max_retries:
            raise AdapterError(failure if not retry else f"{failure} (gave up after {retry + 1} attempts)")
        retry += 1
        wait_s = policy.wait_s(retry, retry_after_s)
        logger.warning("LLM request failed, retry %d in %.1f s: %s", retry, wait_s, failure)
        time.sleep(wait_s)


def _retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - datetime.now(timezone.utc)).total_seconds()


def _error_text(response: httpx.Response) -> str:
    """The endpoint's own error message where it gives one (OpenAI's {"error": {"message": ...}}), else the body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or response.text)[:ERROR_BODY_CHARS]


def _listed_models(response: httpx.Response) -> set[str]:
    try:
        return {str(entry["id"]) for entry in response.json()["data"]}
    except (ValueError, KeyError, TypeError):
        return set()  # an endpoint that does not list its models is trusted to serve the configured one


def _base_url() -> str:
    return settings.ADFAME_LLM_BASE_URL.rstrip("/")


def _headers() -> dict[str, str]:
    key = settings.ADFAME_LLM_API_KEY
    return {"Authorization": f"Bearer {key}"} if key else {}


# ---- the prompts -----------------------------------------------------------------------------------


def system_prompt(brief: Brief) -> str:
    voice_styles = '"none"' if brief.mode == "image_bundle" else " | ".join(f'"{style}"' for style in VOICE_STYLES)
    cta_card = brief.mode != "image_bundle" or brief.scene_count > 1
    return "\n".join([
        "You are the copywriter and director of short product ads. Answer with one JSON object and nothing else:",
        "{",
        '  "title": string,',
        f'  "voice_style": {voice_styles},',
        '  "scenes": [',
        f'    {{"shot": {" | ".join(SHOTS)}, "motion": {" | ".join(MOTIONS)}, '
        '"headline": string, "narration": string, "duration_s": number}',
        "  ]",
        "}",
        "Rules:",
        f"- Exactly {brief.scene_count} scenes, in the order they play.",
        f"- Durations are seconds, each above zero, adding up to {brief.duration_s:g}.",
        f"- A headline is the on-screen text: at most {HEADLINE_MAX_WORDS[brief.mode]} words and "
        f"{HEADLINE_MAX_CHARS} characters.",
        *(
            ['- The call-to-action card has shot "cta"; its headline is the product\'s name, not the call to '
             "action, which is drawn as its button."]
            if cta_card else []
        ),
        "- State no fact about the product that the brief does not give.",
        f"- Write the title, headlines and narration in the language {brief.language!r}.",
        f"- {MODE_RULES[brief.mode]}",
    ])


def user_prompt(brief: Brief) -> str:
    lines = [
        f"Product: {brief.product_name or '(unnamed)'}",
        f"Description: {brief.product_description or '(none)'}",
        f"Campaign instructions: {brief.prompt or '(none)'}",
        f"Call to action: {brief.call_to_action or 'Learn more'}",
    ]
    if brief.product_facts:
        lines.append(f"Product facts: {json.dumps(brief.product_facts, ensure_ascii=False, default=str)}")
    if brief.brand_colors:
        lines.append(f"Brand colours: {', '.join(brief.brand_colors)}")
    lines.append(f"Write the storyboard: {brief.scene_count} scenes, {brief.duration_s:g} seconds in all.")
    return "\n".join(lines)


def repair_prompt(problems: list[str]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems)
    return f"That answer is not a valid storyboard:\n{listed}\nAnswer with the corrected JSON object only."


# ---- reading the answer ----------------------------------------------------------------------------


def parse_storyboard(answer: str, brief: Brief) -> Storyboard:
    """The storyboard in the model's answer, durations rescaled to the brief; InvalidStoryboard if it breaks a rule."""
    # Some servers wrap JSON in a Markdown fence even in JSON mode.
    text = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", answer)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidStoryboard([f"the answer is not JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise InvalidStoryboard(["the answer is not a JSON object"])

    problems = []
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append('"title" must be a non-empty string')
    styles = ("none",) if brief.mode == "image_bundle" else VOICE_STYLES
    if data.get("voice_style") not in styles:
        problems.append(f'"voice_style" must be one of {", ".join(styles)}, not {data.get("voice_style")!r}')
    scenes = data.get("scenes")
    if not isinstance(scenes, list) or len(scenes) != brief.scene_count:
        count = len(scenes) if isinstance(scenes, list) else "no"
        problems.append(f'"scenes" must be a list of exactly {brief.scene_count} scenes, not {count}')
        raise InvalidStoryboard(problems)
    for number, scene in enumerate(scenes, start=1):
        problems += _scene_problems(number, scene, brief)
    if problems:
        raise InvalidStoryboard(problems)

    spoken_words = sum(len(scene["narration"].split()) for scene in scenes)
    can_fit = math.floor(brief.duration_s * WORDS_PER_SECOND * MAX_NARRATION_SQUEEZE)
    if spoken_words > can_fit:
        raise InvalidStoryboard(
            [f"the narration runs to {spoken_words} words; {brief.duration_s:g} s holds at most {can_fit}"]
        )
    durations = scene_durations(brief.duration_s, [float(scene["duration_s"]) for scene in scenes])
    return Storyboard(
        title=title.strip(),
        voice_style=data["voice_style"],
        scenes=tuple(
            Scene(
                number=number,
                shot=scene["shot"],
                headline=scene["headline"].strip(),
                narration=" ".join(scene["narration"].split()),
                duration_s=duration,
                motion=scene["motion"],
            )
            for number, (scene, duration) in enumerate(zip(scenes, durations), start=1)
        ),
    )


def _scene_problems(number: int, scene: Any, brief: Brief) -> list[str]:
    where = f"scene {number}"
    if not isinstance(scene, dict):
        return [f"{where} must be a JSON object"]
    problems = []
    if scene.get("shot") not in SHOTS:
        problems.append(f'{where}: "shot" must be one of {", ".join(SHOTS)}, not {scene.get("shot")!r}')
    if scene.get("motion") not in MOTIONS:
        problems.append(f'{where}: "motion" must be one of {", ".join(MOTIONS)}, not {scene.get("motion")!r}')
    headline, max_words = scene.get("headline"), HEADLINE_MAX_WORDS[brief.mode]
    if not isinstance(headline, str) or not headline.strip():
        problems.append(f'{where}: "headline" must be a non-empty string')
    elif len(headline.strip()) > HEADLINE_MAX_CHARS or len(headline.split()) > max_words:
        problems.append(
            f'{where}: "headline" {headline!r} is longer than {max_words} words or {HEADLINE_MAX_CHARS} characters'
        )
    narration = scene.get("narration")
    if not isinstance(narration, str):
        problems.append(f'{where}: "narration" must be a string')
    elif brief.mode in SILENT_MODES and narration.strip():
        problems.append(f'{where}: "narration" must be "" (this ad has no voice)')
    elif brief.mode not in SILENT_MODES and not narration.strip():
        problems.append(f'{where}: "narration" must say something (every scene is spoken)')
    duration = scene.get("duration_s")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 < duration < math.inf:
        problems.append(f'{where}: "duration_s" must be a number of seconds above zero, not {duration!r}')
    is_last = number == brief.scene_count
    if is_last and (brief.mode != "image_bundle" or brief.scene_count > 1) and scene.get("shot") != "cta":
        problems.append(f'{where}: the last scene is the call-to-action card, its "shot" must be "cta"')
    return problems
