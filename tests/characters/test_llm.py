"""The LLM adapter against an httpx2 mock transport: formats, validation, fallback, streaming, typed errors."""

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel, ConfigDict

from characters.llm.adapter import (
    CallOptions,
    ChatMessage,
    Completion,
    LlmAuthError,
    LlmConnectionError,
    LlmError,
    LlmMalformedJson,
    LlmRateLimited,
    LlmSchemaMismatch,
    LlmServerError,
    LlmTimeout,
    OpenAIChatModel,
    ScriptedModel,
    TextDelta,
    parse_answer,
)

MESSAGES: list[ChatMessage] = [{"role": "system", "content": "You are Walt."}, {"role": "user", "content": "Go."}]


class Post(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


def completion_body(content: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }


def sse_body(pieces: list[str], usage: bool = True) -> bytes:
    events = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        for piece in pieces
    ]
    if usage:
        events.append(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
            }
        )
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


class Recorder:
    """A mock transport handler that records requests and answers from a list of responders."""

    def __init__(self, *responders: Callable[[dict[str, Any]], httpx2.Response]) -> None:
        self.responders = list(responders)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx2.Headers] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        index = min(len(self.requests), len(self.responders)) - 1
        return self.responders[index](body)


def adapter(recorder: Recorder, **options: Any) -> OpenAIChatModel:
    client = httpx2.Client(transport=httpx2.MockTransport(recorder))
    return OpenAIChatModel(base_url="http://llm.test/v1", model="m", api_key="sk-test", http_client=client, **options)


def ok(content: str) -> Callable[[dict[str, Any]], httpx2.Response]:
    return lambda body: httpx2.Response(200, json=completion_body(content))


def status(code: int, message: str = "nope") -> Callable[[dict[str, Any]], httpx2.Response]:
    return lambda body: httpx2.Response(code, json={"error": {"message": message, "type": "x"}})


def test_complete_sends_json_schema_and_validates_the_answer():
    recorder = Recorder(ok('{"text": "Make them want it."}'))
    model = adapter(recorder)
    result = model.complete(MESSAGES, Post, CallOptions(temperature=0.2, seed=7, max_tokens=50))
    assert isinstance(result, Completion)
    assert result.value == Post(text="Make them want it.")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 5)
    assert result.mode == "json_schema"
    assert result.model == "m"
    assert result.latency_ms >= 0
    sent = recorder.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["text"]["type"] == "string"
    assert sent["messages"] == MESSAGES
    assert (sent["temperature"], sent["seed"], sent["max_tokens"]) == (0.2, 7, 50)
    assert recorder.headers[0]["authorization"] == "Bearer sk-test"


def test_a_server_that_rejects_json_schema_gets_json_object_from_then_on():
    recorder = Recorder(
        status(400, "response_format json_schema is not supported"), ok('{"text": "a"}'), ok('{"text": "b"}')
    )
    model = adapter(recorder)
    assert model.complete(MESSAGES, Post).value.text == "a"
    assert model.complete(MESSAGES, Post).value.text == "b"
    kinds = [body["response_format"]["type"] for body in recorder.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert model.output_mode == "json_object"


def test_a_422_about_response_format_also_falls_back():
    refusal = status(422, "Input should be 'text' or 'json_object' (response_format.type)")
    recorder = Recorder(refusal, ok('{"text": "a"}'))
    assert adapter(recorder).complete(MESSAGES, Post).mode == "json_object"


def test_llama_cpp_pythons_500_refusal_costs_one_request_not_three():
    refusal = status(500, "Input should be 'text' or 'json_object' ('body', 'response_format', 'type')")
    recorder = Recorder(refusal, ok('{"text": "a"}'))
    assert adapter(recorder).complete(MESSAGES, Post).value.text == "a"
    assert [body["response_format"]["type"] for body in recorder.requests] == ["json_schema", "json_object"]


def test_a_server_without_structured_output_gets_plain_text_parsed_strictly():
    recorder = Recorder(
        status(400, "response_format json_schema is not supported"),
        status(400, "unknown response_format type json_object"),
        ok("Lantern's lit."),
        ok('{"text": "JSON still counts"}'),
    )
    model = adapter(recorder)
    first = model.complete(MESSAGES, Post)
    assert (first.value.text, first.mode) == ("Lantern's lit.", "text")
    assert model.complete(MESSAGES, Post).value.text == "JSON still counts"
    assert "response_format" not in recorder.requests[2]
    assert len(recorder.requests) == 4  # found once, remembered


def test_a_passing_failure_of_the_first_request_is_retried_as_before(monkeypatch):
    monkeypatch.setattr("openai._base_client.BaseClient._calculate_retry_timeout", lambda *args, **kwargs: 0)
    recorder = Recorder(status(503, "overloaded"), status(503, "overloaded"), ok('{"text": "a"}'))
    model = adapter(recorder)
    assert model.complete(MESSAGES, Post).mode == "json_schema"
    assert len(recorder.requests) == 3


def test_an_unrelated_400_is_not_mistaken_for_a_schema_refusal():
    recorder = Recorder(status(400, "messages: too long"))
    with pytest.raises(LlmError, match="refused the request \\(400\\)") as caught:
        adapter(recorder).complete(MESSAGES, Post)
    assert caught.value.kind == "request"
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (401, LlmAuthError, "API key"),
        (403, LlmAuthError, "API key"),
        (429, LlmRateLimited, "rate-limiting"),
        (500, LlmServerError, r"failed \(500\)"),
        (503, LlmServerError, r"failed \(503\)"),
    ],
)
def test_http_errors_become_typed_errors_with_clear_messages(code, error, words):
    recorder = Recorder(status(code))
    model = adapter(recorder, max_retries=0)
    with pytest.raises(error, match=words):
        model.complete(MESSAGES, Post)


def test_retries_are_capped_at_two(monkeypatch):
    monkeypatch.setattr("openai._base_client.BaseClient._calculate_retry_timeout", lambda *args, **kwargs: 0)
    recorder = Recorder(status(500))
    with pytest.raises(LlmServerError):
        adapter(recorder, max_retries=10).complete(MESSAGES, Post)
    assert len(recorder.requests) == 3  # one try and two retries


def test_a_retried_429_that_then_succeeds_is_transparent(monkeypatch):
    monkeypatch.setattr("openai._base_client.BaseClient._calculate_retry_timeout", lambda *args, **kwargs: 0)
    recorder = Recorder(status(429), ok('{"text": "fine"}'))
    assert adapter(recorder).complete(MESSAGES, Post).value.text == "fine"


def test_timeouts_become_llm_timeout():
    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("slow", request=request)

    client = httpx2.Client(transport=httpx2.MockTransport(slow))
    model = OpenAIChatModel(
        base_url="http://llm.test/v1", model="m", http_client=client, max_retries=0, timeout_seconds=3
    )
    with pytest.raises(LlmTimeout, match="within 3 seconds"):
        model.complete(MESSAGES, Post)


def test_unreachable_servers_become_connection_errors():
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client = httpx2.Client(transport=httpx2.MockTransport(refuse))
    model = OpenAIChatModel(base_url="http://llm.test/v1", model="m", http_client=client, max_retries=0)
    with pytest.raises(LlmConnectionError, match="LLM_BASE_URL"):
        model.complete(MESSAGES, Post)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("Sure! Here is a post: Make them want it.", LlmMalformedJson),
        ('{"text": "', LlmMalformedJson),
        ('{"text": "bad \\x escape', LlmMalformedJson),
        ('{"post": "wrong key"}', LlmSchemaMismatch),
        ('{"text": 42}', LlmSchemaMismatch),
        ('["text"]', LlmSchemaMismatch),
    ],
)
def test_bad_answers_become_typed_errors_carrying_the_raw_text(content, error):
    with pytest.raises(error) as caught:
        adapter(Recorder(ok(content))).complete(MESSAGES, Post)
    assert caught.value.raw == content
    assert "Try again" in caught.value.message


def test_a_fenced_json_answer_is_accepted():
    assert parse_answer('```json\n{"text": "ok"}\n```', Post).text == "ok"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ('{"text": "Cut off by max_tokens', "Cut off by max_tokens"),
        ('{"text": "Half an escape \\u00', "Half an escape "),
        ('{"text": "Half an emoji \\ud83d', "Half an emoji "),
        ('{"text": "Done."} and then some chatter', "Done."),
    ],
)
def test_a_truncated_answer_keeps_the_part_of_the_post_that_arrived(raw, text):
    assert parse_answer(raw, Post).text == text


def test_plain_text_is_the_post_only_in_text_mode_and_only_for_one_string_field():
    assert parse_answer("Lantern's lit.", Post, plain=True).text == "Lantern's lit."
    with pytest.raises(LlmMalformedJson):
        parse_answer("Lantern's lit.", Post)

    class Two(BaseModel):
        text: str
        mood: str

    with pytest.raises(LlmMalformedJson):
        parse_answer("Lantern's lit.", Two, plain=True)


def test_stream_yields_deltas_then_a_validated_completion():
    recorder = Recorder(
        lambda body: httpx2.Response(
            200, content=sse_body(['{"te', 'xt": "Hi', ' there"}']), headers={"content-type": "text/event-stream"}
        )
    )
    items = list(adapter(recorder).stream(MESSAGES, Post, CallOptions(seed=3)))
    deltas = [item.text for item in items if isinstance(item, TextDelta)]
    assert "".join(deltas) == '{"text": "Hi there"}'
    final = items[-1]
    assert isinstance(final, Completion)
    assert final.value.text == "Hi there"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (7, 3)
    sent = recorder.requests[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


def test_a_stream_without_usage_reports_none():
    recorder = Recorder(
        lambda body: httpx2.Response(
            200, content=sse_body(['{"text": "x"}'], usage=False), headers={"content-type": "text/event-stream"}
        )
    )
    final = list(adapter(recorder).stream(MESSAGES, Post))[-1]
    assert isinstance(final, Completion)
    assert final.usage.prompt_tokens is None


def test_closing_a_stream_early_closes_the_response():
    closed: list[bool] = []

    class Body(httpx2.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield sse_body(['{"text": "a'])[: -len(b"data: [DONE]\n\n")]
            yield sse_body(['b"}'])

        def close(self) -> None:
            closed.append(True)

    recorder = Recorder(lambda body: httpx2.Response(200, stream=Body(), headers={"content-type": "text/event-stream"}))
    stream = adapter(recorder).stream(MESSAGES, Post)
    assert isinstance(next(stream), TextDelta)
    stream.close()
    assert closed == [True]


def test_a_malformed_streamed_answer_raises_after_the_deltas():
    recorder = Recorder(
        lambda body: httpx2.Response(200, content=sse_body(["not json"]), headers={"content-type": "text/event-stream"})
    )
    stream = adapter(recorder).stream(MESSAGES, Post)
    assert isinstance(next(stream), TextDelta)
    with pytest.raises(LlmMalformedJson):
        next(stream)


def test_from_settings_uses_the_llm_settings():
    from characters.core.config import Settings

    model = OpenAIChatModel.from_settings(
        Settings(llm_base_url="http://x/v1", llm_model="smollm2", llm_timeout_seconds=5)
    )
    assert model.model_name == "smollm2"


def test_scripted_model_replays_answers_and_errors():
    model = ScriptedModel(['{"text": "one"}', LlmRateLimited("slow down")])
    assert model.complete(MESSAGES, Post).value.text == "one"
    with pytest.raises(LlmRateLimited):
        list(model.stream(MESSAGES, Post))
    assert len(model.calls) == 2
    assert model.calls[0].messages == MESSAGES
