"""The OpenAI-compatible copywriter against a real chat-completions server on 127.0.0.1, scripted by each test."""
from __future__ import annotations

import email.utils
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import replace as replaced
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from adapters.base import MOTIONS, SHOTS, AdapterError, Brief
from adapters.models.text import InvalidStoryboard, OpenAICompatibleText, _retry_after_s, parse_storyboard

MODEL = "tiny-llm"
KEY = "sk-test-do-not-log"

AURORA = Brief(
    mode="script_to_video",
    product_name="Aurora water bottle",
    product_description="Insulated steel bottle, 750 ml, keeps drinks cold for 24 hours.",
    prompt="Launch the Aurora water bottle for summer hikers.",
    call_to_action="Shop now",
    scene_count=4,
    duration_s=30,
    language="en",
)


def board(brief: Brief = AURORA, **changes: Any) -> dict[str, Any]:
    """A storyboard the provider accepts for `brief`, with each scene 5 s long whatever the brief's duration."""
    spoken = brief.mode in ("script_to_video", "ugc")
    scenes = [
        {"shot": "hero", "motion": "zoom_in", "headline": f"Cold for 24 hours {number}",
         "narration": "Your drinks stay cold for twenty four hours." if spoken else "", "duration_s": 5}
        for number in range(1, brief.scene_count)
    ]
    scenes.append({"shot": "cta", "motion": "zoom_out", "headline": "Aurora water bottle",
                   "narration": "Shop now." if spoken else "", "duration_s": 5})
    style = "none" if brief.mode == "image_bundle" else "explainer"
    return {"title": "Aurora: summer explainer", "voice_style": style, "scenes": scenes, **changes}


# ---- the scripted server -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion(content: Any) -> Reply:
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(200, {"id": "chatcmpl-1", "object": "chat.completion",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}]})


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float


@dataclass
class ChatServer:
    """Answers POST /v1/chat/completions from `replies` in order, and GET /v1/models with `models`."""

    replies: list[Reply] = field(default_factory=list)
    models: Reply = field(default_factory=lambda: Reply(200, {"object": "list", "data": [{"id": MODEL}]}))
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def chats(self) -> list[Received]:
        return [request for request in self.received if request.path == "/v1/chat/completions"]

    def start(self) -> None:
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer(chat.models if self._record(None) == "/v1/models" else Reply(404))

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                self._record(body)
                self._answer(chat.replies.pop(0) if chat.replies else Reply(418, {"error": "no reply scripted"}))

            def _record(self, body: dict[str, Any] | None) -> str:
                headers = {name.lower(): value for name, value in self.headers.items()}
                chat.received.append(Received(self.command, self.path, headers, body, time.monotonic()))
                return self.path

            def _answer(self, reply: Reply) -> None:
                time.sleep(reply.delay_s)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in {"content-type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up on a slow answer closed the socket; that is the point

        self.server = Server(("127.0.0.1", 0), Handler)
        # A short poll keeps shutdown (once per test) quick.
        threading.Thread(target=self.server.serve_forever, args=(0.02,), name="chat-server", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm() -> Iterator[ChatServer]:
    chat = ChatServer()
    chat.start()
    with override_settings(ADFAME_LLM_BASE_URL=chat.base_url, ADFAME_LLM_MODEL=MODEL, ADFAME_LLM_API_KEY="",
                           ADFAME_LLM_TIMEOUT_S=5, ADFAME_LLM_MAX_RETRIES=2):
        yield chat
    chat.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- a storyboard --------------------------------------------------------------------------------


def test_it_asks_for_json_with_the_seed_and_returns_the_models_storyboard(llm):
    llm.replies = [completion(board())]

    storyboard = OpenAICompatibleText().storyboard(AURORA, seed=7)

    (request,) = llm.chats
    assert request.body["model"] == MODEL
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["seed"] == 7 and 0 <= request.body["temperature"] <= 2
    system, user = request.body["messages"]
    assert system["role"] == "system" and "Exactly 4 scenes" in system["content"] and '"cta"' in system["content"]
    assert user["role"] == "user" and "Aurora water bottle" in user["content"] and "Shop now" in user["content"]
    assert storyboard.title == "Aurora: summer explainer" and storyboard.voice_style == "explainer"
    assert [scene.number for scene in storyboard.scenes] == [1, 2, 3, 4]
    assert storyboard.scenes[-1].shot == "cta" and storyboard.scenes[-1].narration == "Shop now."
    assert all(scene.shot in SHOTS and scene.motion in MOTIONS for scene in storyboard.scenes)


def test_the_models_durations_are_rescaled_to_add_up_to_the_brief(llm):
    answer = board()
    for scene, seconds in zip(answer["scenes"], (2, 4, 4, 2)):
        scene["duration_s"] = seconds
    llm.replies = [completion(answer)]

    storyboard = OpenAICompatibleText().storyboard(AURORA, seed=1)

    durations = [scene.duration_s for scene in storyboard.scenes]
    assert sum(durations) == pytest.approx(30)
    assert durations[0] == durations[3] < durations[1] == durations[2]


def test_a_silent_mode_gets_a_storyboard_without_narration(llm):
    cuts = replaced(AURORA, mode="fast_paced", scene_count=3, duration_s=9)
    llm.replies = [completion(board(cuts, voice_style="energetic"))]

    storyboard = OpenAICompatibleText().storyboard(cuts, seed=1)

    assert [scene.narration for scene in storyboard.scenes] == ["", "", ""]
    assert "No voice" in llm.chats[0].body["messages"][0]["content"]


def test_a_markdown_fence_around_the_json_is_tolerated(llm):
    llm.replies = [completion(f"```json\n{json.dumps(board())}\n```")]

    assert len(OpenAICompatibleText().storyboard(AURORA, seed=1).scenes) == 4


# ---- validation and the one correction -----------------------------------------------------------


def scene_changed(number: int, **changes: Any) -> dict[str, Any]:
    answer = board()
    answer["scenes"][number - 1].update(changes)
    return answer


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({**board(), "scenes": board()["scenes"][:3]}, "exactly 4 scenes, not 3"),
        ({**board(), "voice_style": "whisper"}, '"voice_style" must be one of'),
        ({**board(), "title": ""}, '"title" must be a non-empty string'),
        (scene_changed(2, shot="drone"), 'scene 2: "shot" must be one of'),
        (scene_changed(2, motion="spin"), 'scene 2: "motion" must be one of'),
        (scene_changed(1, headline=" "), 'scene 1: "headline" must be a non-empty string'),
        (scene_changed(1, headline="A headline far too long to fit on any frame at all"), "longer than 7 words"),
        (scene_changed(3, narration=""), 'scene 3: "narration" must say something'),
        (scene_changed(3, duration_s=0), 'scene 3: "duration_s" must be a number of seconds above zero'),
        (scene_changed(3, duration_s="5"), 'scene 3: "duration_s" must be a number'),
        (scene_changed(4, shot="hero"), 'its "shot" must be "cta"'),
        (scene_changed(2, narration="word " * 200), "the narration runs to"),
    ],
)
def test_a_storyboard_breaking_a_rule_is_invalid_with_the_reason(answer, complaint):
    with pytest.raises(InvalidStoryboard, match=complaint):
        parse_storyboard(json.dumps(answer), AURORA)


def test_narration_in_a_silent_mode_is_invalid():
    cuts = replaced(AURORA, mode="fast_paced")
    answer = board(cuts, voice_style="energetic")
    answer["scenes"][0]["narration"] = "Cold all day."

    with pytest.raises(InvalidStoryboard, match='scene 1: "narration" must be ""'):
        parse_storyboard(json.dumps(answer), cuts)


def test_a_malformed_answer_is_sent_back_once_with_what_is_wrong_and_the_repair_is_used(llm):
    broken = '{"title": "Aurora", "scenes": ['
    llm.replies = [completion(broken), completion(board())]

    storyboard = OpenAICompatibleText().storyboard(AURORA, seed=3)

    assert len(storyboard.scenes) == 4
    first, second = llm.chats
    assert second.body["messages"][:2] == first.body["messages"]
    assistant, correction = second.body["messages"][2:]
    assert assistant == {"role": "assistant", "content": broken}
    assert correction["role"] == "user" and "not JSON" in correction["content"]
    assert second.body["seed"] == 3


def test_a_schema_violation_is_sent_back_with_the_problems(llm):
    llm.replies = [completion(scene_changed(2, shot="drone")), completion(board())]

    OpenAICompatibleText().storyboard(AURORA, seed=3)

    correction = llm.chats[1].body["messages"][-1]["content"]
    assert 'scene 2: "shot" must be one of' in correction


def test_a_second_malformed_answer_fails_for_good(llm):
    llm.replies = [completion("not json"), completion({"title": "Still wrong"})]

    with pytest.raises(AdapterError, match="invalid twice") as failure:
        OpenAICompatibleText().storyboard(AURORA, seed=3)

    assert failure.value.permanent
    assert len(llm.chats) == 2


# ---- retries and failures ------------------------------------------------------------------------


def test_a_429_is_retried_after_the_servers_retry_after(llm):
    llm.replies = [Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "1"}), completion(board())]

    OpenAICompatibleText().storyboard(AURORA, seed=1)

    first, second = llm.chats
    assert second.at - first.at >= 0.95


def test_a_retry_after_may_be_an_http_date():
    in_two_seconds = email.utils.formatdate(time.time() + 2, usegmt=True)

    assert 0.5 <= _retry_after_s(in_two_seconds) <= 2.01
    assert _retry_after_s("3") == 3
    assert _retry_after_s("soon") is None


def test_a_server_error_is_retried_with_backoff(llm):
    llm.replies = [Reply(500, {"error": {"message": "overloaded"}}), completion(board())]

    storyboard = OpenAICompatibleText().storyboard(AURORA, seed=1)

    assert len(storyboard.scenes) == 4
    first, second = llm.chats
    assert second.at - first.at >= 0.95


def test_server_errors_that_outlast_the_retries_fail_for_now(llm):
    llm.replies = [Reply(503, {"error": {"message": "down for maintenance"}})] * 2

    with override_settings(ADFAME_LLM_MAX_RETRIES=1):
        with pytest.raises(AdapterError, match="503: down for maintenance") as failure:
            OpenAICompatibleText().storyboard(AURORA, seed=1)

    assert not failure.value.permanent
    assert len(llm.chats) == 2


def test_a_server_slower_than_the_timeout_fails_for_now(llm):
    llm.replies = [Reply(200, {}, delay_s=2.5)]

    started = time.monotonic()
    with override_settings(ADFAME_LLM_TIMEOUT_S=1, ADFAME_LLM_MAX_RETRIES=0):
        with pytest.raises(AdapterError, match="no answer within 1 s") as failure:
            OpenAICompatibleText().storyboard(AURORA, seed=1)

    assert not failure.value.permanent
    assert time.monotonic() - started < 2.4


def test_an_unreachable_endpoint_fails_for_now_after_the_retries():
    with override_settings(ADFAME_LLM_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1", ADFAME_LLM_MODEL=MODEL,
                           ADFAME_LLM_MAX_RETRIES=1):
        with pytest.raises(AdapterError, match="cannot reach") as failure:
            OpenAICompatibleText().storyboard(AURORA, seed=1)

    assert not failure.value.permanent and "gave up after 2 attempts" in failure.value.message


def test_a_rejected_key_fails_for_good_without_repeating_the_key(llm):
    llm.replies = [Reply(401, {"error": {"message": "Incorrect API key provided"}})]

    with override_settings(ADFAME_LLM_API_KEY=KEY):
        with pytest.raises(AdapterError, match="401: Incorrect API key provided") as failure:
            OpenAICompatibleText().storyboard(AURORA, seed=1)

    assert failure.value.permanent
    assert KEY not in failure.value.message
    assert len(llm.chats) == 1


def test_the_key_is_sent_as_a_bearer_token_when_set(llm):
    llm.replies = [completion(board()), completion(board())]

    with override_settings(ADFAME_LLM_API_KEY=KEY):
        OpenAICompatibleText().storyboard(AURORA, seed=1)
    OpenAICompatibleText().storyboard(AURORA, seed=1)

    with_key, without_key = llm.chats
    assert with_key.headers["authorization"] == f"Bearer {KEY}"
    assert "authorization" not in without_key.headers


def test_an_unknown_mode_fails_for_good_without_asking(llm):
    with pytest.raises(AdapterError, match="unknown mode") as failure:
        OpenAICompatibleText().storyboard(replaced(AURORA, mode="radio"), seed=1)

    assert failure.value.permanent and not llm.received


# ---- readiness -----------------------------------------------------------------------------------


def test_it_is_ready_when_the_endpoint_lists_the_model(llm):
    with override_settings(ADFAME_LLM_API_KEY=KEY):
        readiness = OpenAICompatibleText().check()

    assert readiness.ready, readiness.detail
    (request,) = llm.received
    assert request.path == "/v1/models" and request.headers["authorization"] == f"Bearer {KEY}"


def test_it_is_not_ready_when_the_endpoint_lacks_the_model(llm):
    llm.models = Reply(200, {"object": "list", "data": [{"id": "another-model"}]})

    readiness = OpenAICompatibleText().check()

    assert not readiness.ready and "does not list the model 'tiny-llm'" in readiness.detail


def test_it_is_not_ready_when_the_endpoint_refuses_the_listing(llm):
    llm.models = Reply(401, {"error": {"message": "no key"}})

    readiness = OpenAICompatibleText().check()

    assert not readiness.ready and "answered 401" in readiness.detail


def test_it_is_not_ready_when_the_endpoint_is_unreachable():
    with override_settings(ADFAME_LLM_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1", ADFAME_LLM_MODEL=MODEL):
        readiness = OpenAICompatibleText().check()

    assert not readiness.ready and "unreachable" in readiness.detail


@pytest.mark.parametrize(
    ("base_url", "model", "missing"),
    [("", MODEL, "ADFAME_LLM_BASE_URL is not set"), ("http://127.0.0.1:9/v1", "", "ADFAME_LLM_MODEL is not set")],
)
def test_it_is_not_ready_when_unconfigured(base_url, model, missing):
    with override_settings(ADFAME_LLM_BASE_URL=base_url, ADFAME_LLM_MODEL=model):
        readiness = OpenAICompatibleText().check()

    assert not readiness.ready and missing in readiness.detail
