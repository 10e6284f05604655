"""The adapter over real HTTP against a local OpenAI-compatible server: streaming, errors, retries, timeouts."""

import time
from collections.abc import Iterator

import pytest

from characters.drafting.jobs import PostAnswer, collect, generate_job, run_job
from characters.llm.adapter import (
    CallOptions,
    ChatMessage,
    Completion,
    LlmAuthError,
    LlmMalformedJson,
    LlmRateLimited,
    LlmSchemaMismatch,
    LlmServerError,
    LlmTimeout,
    OpenAIChatModel,
    TextDelta,
)
from tests.factories import make_card
from tests.services.llm.fake_openai import FakeOpenAI, Reply, fake_openai_server

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Write a post."}]
POST = PostAnswer


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


def model_for(fake: FakeOpenAI, **options: float) -> OpenAIChatModel:
    return OpenAIChatModel(base_url=fake.url, model="fake", api_key="sk-local", **options)  # type: ignore[arg-type]


def test_complete_over_http(fake):
    result = model_for(fake).complete(MESSAGES, POST, CallOptions(seed=1))
    assert result.value.text == "Make them want it."
    assert result.usage.prompt_tokens == 42
    assert fake.requests[0]["response_format"]["type"] == "json_schema"
    assert fake.authorization == ["Bearer sk-local"]


def test_streaming_over_http(fake):
    fake.default = Reply(content='{"text": "Coffee first. Then the pitch."}', pieces=6)
    items = list(model_for(fake).stream(MESSAGES, POST))
    assert sum(isinstance(item, TextDelta) for item in items) >= 5
    final = items[-1]
    assert isinstance(final, Completion)
    assert final.value.text == "Coffee first. Then the pitch."
    assert final.usage.completion_tokens == 7


def test_a_server_that_rejects_json_schema(fake):
    fake.reject_json_schema = True
    model = model_for(fake)
    assert model.complete(MESSAGES, POST).mode == "json_object"
    list(model.stream(MESSAGES, POST))
    kinds = [request["response_format"]["type"] for request in fake.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # asked once, remembered after


def test_401_is_not_retried(fake):
    fake.default = Reply(status=401, content="Incorrect API key")
    with pytest.raises(LlmAuthError, match="API key"):
        model_for(fake).complete(MESSAGES, POST)
    assert len(fake.requests) == 1


def test_429_is_retried_twice_then_reported(fake):
    fake.default = Reply(status=429, content="slow down")
    with pytest.raises(LlmRateLimited):
        model_for(fake).complete(MESSAGES, POST)
    assert len(fake.requests) == 3


def test_500_is_retried_and_a_later_success_is_transparent(fake):
    fake.then(Reply(status=500, content="boom"))
    assert model_for(fake).complete(MESSAGES, POST).value.text == "Make them want it."
    assert len(fake.requests) == 2
    fake.default = Reply(status=503, content="overloaded")
    with pytest.raises(LlmServerError, match="503"):
        model_for(fake).stream(MESSAGES, POST).__next__()


def test_a_slow_server_times_out_with_a_clear_message(fake):
    fake.default = Reply(delay=2.0)
    started = time.monotonic()
    with pytest.raises(LlmTimeout, match="did not answer within 0.3 seconds"):
        model_for(fake, timeout_seconds=0.3, max_retries=0).complete(MESSAGES, POST)
    assert time.monotonic() - started < 1.5


def test_a_stream_that_stalls_times_out(fake):
    fake.default = Reply(pieces=3, piece_delay=1.0)
    stream = model_for(fake, timeout_seconds=0.3, max_retries=0).stream(MESSAGES, POST)
    with pytest.raises(LlmTimeout):
        list(stream)


@pytest.mark.parametrize(
    ("content", "error"), [("Sure! Make them want it.", LlmMalformedJson), ('{"post": "x"}', LlmSchemaMismatch)]
)
def test_malformed_answers_over_http(fake, content, error):
    fake.default = Reply(content=content)
    with pytest.raises(error):
        model_for(fake).complete(MESSAGES, POST)
    with pytest.raises(error):
        list(model_for(fake).stream(MESSAGES, POST))


def test_closing_a_stream_hangs_up_on_the_server(fake):
    fake.default = Reply(content='{"text": "' + "word " * 200 + '"}', pieces=200, piece_delay=0.01)
    stream = model_for(fake).stream(MESSAGES, POST)
    assert isinstance(next(stream), TextDelta)
    stream.close()
    deadline = time.monotonic() + 5
    while fake.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.disconnects == 1


def test_a_drafting_job_end_to_end_over_http(fake):
    card = make_card("Walt Test", voice={"emoji": "never"})
    fake.then(Reply(content='{"text": "Pitch day 😀"}'))
    fake.default = Reply(content='{"text": "Pitch day. Coffee first."}')
    answer = collect(run_job(model_for(fake), generate_job(card, "pitch day", n=2, platform="bluesky")))
    assert [(v["text"], v["repair"]) for v in answer["variants"]] == [
        ("Pitch day", "rules"),
        ("Pitch day. Coffee first.", None),
    ]
    assert len(fake.requests) == 2  # the emoji was deleted by rule, without another model call
    assert fake.requests[0]["max_tokens"] == generate_job(card, "x", platform="bluesky").answer_tokens


def test_one_call_for_all_variants_over_http(fake):
    card = make_card("Walt Test", voice={"emoji": "never"})
    # The server answered one post where two were asked for: the second is asked for on its own.
    fake.then(Reply(content='{"text": "Pitch day 😀"}'))
    fake.default = Reply(content='{"text": "Pitch day. Coffee first."}')
    job = generate_job(card, "pitch day", n=2, platform="bluesky", one_call=True)
    answer = collect(run_job(model_for(fake), job))
    assert [(v["text"], v["repair"]) for v in answer["variants"]] == [
        ("Pitch day", "rules"),
        ("Pitch day. Coffee first.", None),
    ]
    assert [r["max_tokens"] for r in fake.requests] == [2 * job.answer_tokens, job.answer_tokens]
    posts = fake.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["posts"]
    assert (posts["minItems"], posts["maxItems"]) == (2, 2)
