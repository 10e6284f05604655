"""Drafting jobs with a scripted model: events, checking, repair, errors, cancellation, hashtags, streaming JSON."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from characters.drafting.jobs import (
    DraftInputError,
    PostAnswer,
    TextFieldStream,
    collect,
    generate_job,
    hard_failures,
    needs_repair,
    reply_job,
    rewrite_job,
    run_job,
    suggest_hashtags,
    trim_to,
)
from characters.llm.adapter import (
    CallOptions,
    ChatMessage,
    LlmMalformedJson,
    LlmServerError,
    ScriptedModel,
    StreamItem,
    T,
    TextDelta,
)
from tests.factories import make_card

CARD = make_card(
    "Walt Test",
    voice={
        "emoji": "never",
        "pov": "first_singular",
        "max_chars": 200,
        "hashtags": {"max": 2, "required": ["#MadMen"], "allowed": ["#BakeOff", "#Ads"]},
    },
    canon_posts=["I make them want it. #MadMen", "Coffee first. Then I pitch. #MadMen"],
)
GOOD = '{"text": "I pitch at nine. #MadMen"}'
GOOD2 = '{"text": "Coffee, then the client. #MadMen"}'
# A character whose one canon post is long enough that a model could copy a stretch of it.
COPIED = "I make them want it, every single morning, before the coffee is even cold. #MadMen"
COPYCAT = make_card(
    "Walt Test", voice={"emoji": "never", "hashtags": {"max": 2, "required": ["#MadMen"]}}, canon_posts=[COPIED]
)


def names(events: Iterator[Any]) -> list[str]:
    return [event.name for event in events]


def test_generate_streams_checks_and_finishes():
    model = ScriptedModel([GOOD, GOOD2])
    events = list(run_job(model, generate_job(CARD, "the morning pitch", n=2, platform="x", seed=5)))
    assert names(events)[0] == "prompt"
    assert names(events)[-1] == "done"
    variants = [e.data for e in events if e.name == "variant"]
    assert [v["variant"] for v in variants] == [0, 1]
    assert variants[0]["check"]["verdict"] != "fail"
    assert variants[0]["text"] == "I pitch at nine. #MadMen"
    assert [call.options.seed for call in model.calls] == [5, 6]
    deltas = "".join(e.data["text"] for e in events if e.name == "delta" and e.data["variant"] == 1)
    assert deltas == "Coffee, then the client. #MadMen"


def test_the_non_streaming_path_gives_the_same_variants_without_deltas():
    answer = collect(run_job(ScriptedModel([GOOD, GOOD2]), generate_job(CARD, "pitch", n=2), stream=False))
    assert len(answer["variants"]) == 2
    assert answer["prompt"]["messages"][0]["role"] == "system"


def test_rule_failures_are_fixed_without_asking_the_model_again():
    card = make_card(
        "Walt Test",
        voice={"emoji": "never", "max_chars": 60, "hashtags": {"max": 1, "required": ["#MadMen"]}},
        vocabulary={"banned": [{"term": "awesome", "suggest": ["grand"]}]},
    )
    model = ScriptedModel(['{"text": "The awesome pitch 😀 today. The client loved it. We sold the whole campaign."}'])
    variant = collect(run_job(model, generate_job(card, "pitch", n=1)))["variants"][0]
    assert variant["text"] == "The grand pitch today. The client loved it. #MadMen"
    assert variant["check"]["verdict"] != "fail"
    assert (variant["repaired"], variant["repair"]) == (True, "rules")
    assert variant["before_repair"]["check"]["verdict"] == "fail"
    assert len(model.calls) == 1


def test_a_copy_gets_a_fresh_sample_of_the_same_prompt_and_the_better_post_is_kept():
    model = ScriptedModel([json.dumps({"text": COPIED}), GOOD])
    events = list(run_job(model, generate_job(COPYCAT, "pitch", n=1, seed=5)))
    variant = [e.data for e in events if e.name == "variant"][0]
    assert (variant["text"], variant["repair"]) == ("I pitch at nine. #MadMen", "model")
    assert variant["before_repair"]["text"] == COPIED
    assert "originality.canon" in [f["check"] for f in variant["before_repair"]["check"]["findings"]]
    # The same messages (the server's cache reads none of them again), another seed.
    assert model.calls[1].messages == model.calls[0].messages
    assert [call.options.seed for call in model.calls] == [5, 2005]
    assert [e.data["messages"] for e in events if e.name == "prompt"][1] == model.calls[1].messages
    assert len(model.calls) == 2
    assert variant["prompt_tokens"] > 0
    assert len(variant["calls"]) == 2


def test_a_repair_prompt_quotes_the_findings_and_leaves_out_a_copied_example():
    from characters.consistency import check_text
    from characters.drafting.jobs import repair_messages, task_text
    from characters.drafting.prompting import build_prompt

    job = generate_job(COPYCAT, "pitch", n=1)
    prompt = build_prompt(COPYCAT, task_text(job), scan=job.scan)
    text = COPIED
    findings = check_text(COPYCAT, text).findings
    repair = repair_messages(prompt, json.dumps({"text": text}), findings, text)
    assert json.dumps({"text": COPIED}) in [m["content"] for m in prompt.messages]
    assert json.dumps({"text": COPIED}) not in [m["content"] for m in repair[:-2]]  # the copied example is gone
    assert repair[-2] == {"role": "assistant", "content": json.dumps({"text": text})}
    assert "canon post 1" in repair[-1]["content"]
    assert "The words concerned: 'I make them want it" in repair[-1]["content"]


def test_a_repair_that_is_no_better_is_not_shown_and_not_retried_again():
    model = ScriptedModel([json.dumps({"text": COPIED})])
    variant = collect(run_job(model, generate_job(COPYCAT, "pitch", n=1)))["variants"][0]
    assert not variant["repaired"]
    assert variant["text"] == COPIED
    assert len(model.calls) == 2


def test_a_malformed_repair_keeps_the_first_answer():
    model = ScriptedModel([json.dumps({"text": COPIED}), "{oops"])
    answer = collect(run_job(model, generate_job(COPYCAT, "pitch", n=1)))
    assert [v["text"] for v in answer["variants"]] == [COPIED]
    assert not answer["errors"]


def test_framing_around_the_post_is_removed_before_anyone_sees_it():
    model = ScriptedModel(['{"text": "Sure! Here is a post in Walt\'s voice: \\"I pitch at nine. #MadMen\\""}'])
    variant = collect(run_job(model, generate_job(CARD, "pitch", n=1)))["variants"][0]
    assert variant["text"] == "I pitch at nine. #MadMen"
    assert variant["framing_removed"]
    assert not variant["repaired"]


def test_an_answer_cut_off_by_the_token_limit_ends_at_its_last_sentence():
    model = ScriptedModel(['{"text": "I pitch at nine. The client will want it, because I make them'])
    job = generate_job(CARD, "pitch", n=1)
    variant = collect(run_job(model, job))["variants"][0]
    assert variant["text"] == "I pitch at nine. #MadMen"  # the required tag is added by rule
    assert model.calls[0].options.max_tokens == job.answer_tokens == 200 // 3 + 40


def test_the_same_post_twice_is_asked_for_again_and_never_shown_twice():
    model = ScriptedModel([GOOD, GOOD, GOOD2])
    answer = collect(run_job(model, generate_job(CARD, "pitch", n=2, seed=5)))
    assert [v["text"] for v in answer["variants"]] == ["I pitch at nine. #MadMen", "Coffee, then the client. #MadMen"]
    assert [call.options.seed for call in model.calls] == [5, 6, 1006]
    stubborn = collect(run_job(ScriptedModel([GOOD]), generate_job(CARD, "pitch", n=2)))
    assert len(stubborn["variants"]) == 1
    assert stubborn["errors"][0]["kind"] == "duplicate"


@pytest.mark.parametrize(
    ("text", "cut", "trimmed"),
    [
        ("One. Two is longer. Three.", 21, "One. Two is longer."),
        ("One. Two is longer. Three. #Tag", 22, "One. #Tag"),
        ("no sentence ends here at all", 15, "no sentence…"),
        ("Short.", 100, "Short."),
    ],
)
def test_trimming_cuts_at_a_sentence_end_and_keeps_closing_hashtags(text, cut, trimmed):
    assert trim_to(text, cut) == trimmed


def test_voice_only_findings_are_not_hard_failures_but_voice_fails_and_copies_are_repaired_too():
    from characters.consistency import CheckResult, Finding

    result = CheckResult(
        30,
        "fail",
        (
            Finding("voice.consistency", "fail", "off"),
            Finding("voice.pov", "fail", "we"),
            Finding("originality.canon", "warn", "copied"),
            Finding("format.emoji", "warn", "meh"),
        ),
    )
    assert [f.check for f in hard_failures(result)] == ["voice.pov"]
    assert [f.check for f in needs_repair(result)] == ["voice.consistency", "voice.pov", "originality.canon"]


def test_a_malformed_answer_is_asked_for_again_twice_costs_one_variant_fatal_errors_stop_the_job():
    model = ScriptedModel(["{oops", GOOD])
    events = list(run_job(model, generate_job(CARD, "pitch", n=1, seed=5)))
    assert [e.data["text"] for e in events if e.name == "variant"] == ["I pitch at nine. #MadMen"]
    assert "retrying" in names(iter(events))
    assert [call.options.seed for call in model.calls] == [5, 1005]
    answer = collect(run_job(ScriptedModel(["{oops", "{oops", GOOD, GOOD2]), generate_job(CARD, "pitch", n=3)))
    assert len(answer["variants"]) == 2
    assert answer["errors"][0]["kind"] == "malformed_json"
    model = ScriptedModel([GOOD, LlmServerError("The model server failed (500).")])
    answer = collect(run_job(model, generate_job(CARD, "pitch", n=3)))
    assert len(answer["variants"]) == 1
    assert answer["error"]["kind"] == "server"
    assert len(model.calls) == 2


def test_a_prompt_over_budget_is_an_error_event():
    events = list(run_job(ScriptedModel([GOOD]), generate_job(CARD, "pitch " * 500, budget=100)))
    assert names(events) == ["error"]
    assert events[0].data["kind"] == "prompt_too_long"


class EndlessModel:
    """Streams forever until closed; records that it was closed."""

    model_name = "endless"

    def __init__(self) -> None:
        self.closed = False

    def complete(self, messages: list[ChatMessage], schema: type[T], options: CallOptions | None = None) -> Any:
        raise NotImplementedError  # this fake only streams

    def stream(
        self, messages: list[ChatMessage], schema: type[T], options: CallOptions | None = None
    ) -> Iterator[StreamItem]:
        try:
            yield TextDelta('{"text": "')
            while True:
                yield TextDelta("more ")
        finally:
            self.closed = True


def test_closing_the_job_closes_the_models_stream():
    model = EndlessModel()
    events = run_job(model, generate_job(CARD, "pitch", n=3))
    seen = [next(events) for _ in range(5)]
    assert [e.name for e in seen] == ["prompt", "delta", "delta", "delta", "delta"]
    events.close()
    assert model.closed


def test_a_stream_that_ends_without_an_answer_is_malformed():
    class Truncated(EndlessModel):
        def stream(self, messages, schema, options=None):  # type: ignore[no-untyped-def]
            yield TextDelta('{"text": "cut')

    answer = collect(run_job(Truncated(), generate_job(CARD, "pitch", n=1)))
    assert answer["errors"][0]["kind"] == "malformed_json"
    assert issubclass(LlmMalformedJson, Exception)


def test_rewrite_modes_and_inputs():
    job = rewrite_job(CARD, "We love it 😀", "fix", platform="x")
    assert "emoji" in job.task
    assert "We love it" in job.task
    assert job.n == 1
    assert "shorter" in rewrite_job(CARD, "A draft.", "shorter").task
    assert "Adapt it for bluesky" in rewrite_job(CARD, "A draft.", "platform", platform="bluesky").task
    with pytest.raises(DraftInputError, match="platform"):
        rewrite_job(CARD, "A draft.", "platform")
    with pytest.raises(DraftInputError, match="Unknown rewrite"):
        rewrite_job(CARD, "A draft.", "louder")


def test_fixing_the_findings_gives_the_model_each_concrete_fix_and_checks_the_rewrite():
    card = make_card(
        "Walt Test",
        voice={"emoji": "never", "pov": "first_singular"},
        vocabulary={"banned": [{"term": "awesome", "suggest": ["grand"]}]},
    )
    job = rewrite_job(card, "An awesome pitch 😀. Walt Test is ready.", "fix")
    assert "Fix: Replace 'awesome' with 'grand'." in job.task
    assert "Fix: Delete '😀'." in job.task
    assert "Fix: Replace 'Walt Test is' with 'I am'." in job.task
    assert job.task.count("'awesome' is banned") == 1  # each problem once, its hint once
    model = ScriptedModel(['{"text": "A grand pitch. I am ready."}'])
    [variant] = collect(run_job(model, job, stream=False))["variants"]
    assert variant["text"] == "A grand pitch. I am ready."
    assert not [f for f in variant["check"]["findings"] if f["severity"] == "fail"]  # the rewrite was checked
    assert len(model.calls) == 1  # it passed, so no repair round


def test_reply_puts_the_other_post_and_the_note_in_the_task():
    job = reply_job(CARD, "Tea is better.", brief="be polite")
    assert "Tea is better." in job.task
    assert "be polite" in job.task
    assert job.scan[0] == "Tea is better."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"brief": ""}, "brief"),
        ({"brief": "x" * 5000}, "brief"),
        ({"brief": "x", "n": 0}, "n"),
        ({"brief": "x", "platform": "aol"}, "platform"),
    ],
)
def test_generate_job_input_errors(kwargs, field):
    with pytest.raises(DraftInputError) as caught:
        generate_job(CARD, **kwargs)
    assert caught.value.field == field


def test_the_answer_schema_is_one_text_and_leaves_length_to_the_checker():
    schema = PostAnswer.model_json_schema()
    assert list(schema["properties"]) == ["text"]
    assert schema["additionalProperties"] is False
    assert "maxLength" not in schema["properties"]["text"]
    assert generate_job(CARD, "x", platform="mastodon").limit == 200  # the card's max_chars is tighter
    assert generate_job(make_card(), "x").limit == 500


def test_hashtags_come_from_the_characters_list_required_first():
    assert suggest_hashtags(CARD, "The bake off final") == ["#MadMen", "#BakeOff"]
    assert suggest_hashtags(CARD, "Nice ads. #MadMen") == ["#Ads"]
    assert suggest_hashtags(CARD, "#MadMen #Ads") == []  # at the character's maximum already
    assert suggest_hashtags(make_card(voice={"hashtags": {"max": 0, "allowed": ["#x"]}}), "x") == []
    assert suggest_hashtags(CARD, "anything", limit=1) == ["#MadMen"]


@given(st.text(max_size=80), st.integers(min_value=1, max_value=7))
def test_the_text_field_decodes_any_chunking_of_any_text(text, size):
    raw = json.dumps({"text": text})
    fields = TextFieldStream()
    out = "".join(fields.feed(raw[i : i + size]) for i in range(0, len(raw), size))
    assert out == text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def batch(*posts: object) -> str:
    return json.dumps({"posts": [p if not isinstance(p, str) else {"text": p} for p in posts]})


A, B, C = "I pitch at nine. #MadMen", "Coffee, then the client. #MadMen", "The client signs by noon. #MadMen"


def one(text: str) -> str:
    return json.dumps({"text": text})


def test_several_variants_come_from_one_call_that_reads_the_prompt_once():
    model = ScriptedModel([batch(A, B, C)])
    job = generate_job(CARD, "the morning pitch", n=3, seed=5, one_call=True)
    events = list(run_job(model, job))
    variants = [e.data for e in events if e.name == "variant"]
    assert [v["text"] for v in variants] == [A, B, C]
    assert len(model.calls) == 1
    call = model.calls[0]
    assert call.options.max_tokens == 3 * job.answer_tokens
    assert call.options.seed == 5
    assert '"posts"' in call.messages[-1]["content"]
    assert "3 such posts" in call.messages[-1]["content"]
    prompt = next(e.data for e in events if e.name == "prompt")
    assert prompt["messages"] == [dict(m) for m in call.messages]  # "Show prompt" shows what was sent
    for index, text in enumerate([A, B, C]):
        assert "".join(e.data["text"] for e in events if e.name == "delta" and e.data["variant"] == index) == text
    assert all(v["calls"] == [call.messages] for v in variants)
    whole = sum(len(m["content"]) for m in call.messages) // 4  # what the scripted model reports for the call
    assert [v["prompt_tokens"] for v in variants] == [whole // 3] * 3  # the call's cost is split, not counted thrice


def test_the_batch_schema_asks_for_exactly_n_posts_but_reads_any_number():
    from characters.drafting.jobs import batch_schema

    schema = batch_schema(3).model_json_schema()
    posts = schema["properties"]["posts"]
    assert (posts["minItems"], posts["maxItems"]) == (3, 3)
    assert posts["items"] == PostAnswer.model_json_schema()
    assert schema["additionalProperties"] is False
    assert batch_schema(3).model_validate({"posts": [{"text": "x"}, 7]})  # elements are judged one by one


def test_a_batch_with_fewer_posts_than_asked_is_completed_one_call_per_missing_variant():
    model = ScriptedModel([one(A), one(B), one(C)])  # a server without a grammar answered one post
    answer = collect(run_job(model, generate_job(CARD, "pitch", n=3, seed=5, one_call=True)))
    assert [v["text"] for v in answer["variants"]] == [A, B, C]
    assert [call.options.seed for call in model.calls] == [5, 6, 7]
    batch_call, single = model.calls[0].messages, model.calls[1].messages
    assert single[:-1] == batch_call[:-1]  # the same prefix: only the task's answer format differs
    assert '"text"' in single[-1]["content"]
    assert '"posts"' not in single[-1]["content"]
    assert model.calls[1].options.max_tokens == generate_job(CARD, "pitch").answer_tokens


def test_a_repeated_post_in_the_batch_is_asked_for_again_on_its_own():
    model = ScriptedModel([batch(A, A, B), one(C)])
    answer = collect(run_job(model, generate_job(CARD, "pitch", n=3, seed=5, one_call=True)))
    assert [v["text"] for v in answer["variants"]] == [A, C, B]
    assert [call.options.seed for call in model.calls] == [5, 6]
    assert not answer["errors"]


def test_a_malformed_element_or_a_cut_off_batch_costs_only_those_variants():
    model = ScriptedModel([batch(A, {"txt": "wrong key"}, C), one(B)])
    events = list(run_job(model, generate_job(CARD, "pitch", n=3, one_call=True)))
    assert [e.data["text"] for e in events if e.name == "variant"] == [A, B, C]
    assert len(model.calls) == 2
    cut = '{"posts": [{"text": "' + A + '"}, {"text": "Coffee first. Then I pitch to the client who'
    model = ScriptedModel([cut, one(C)])
    events = list(run_job(model, generate_job(CARD, "pitch", n=3, one_call=True)))
    assert [e.data["text"] for e in events if e.name == "variant"] == [A, "Coffee first. #MadMen", C]
    assert len(model.calls) == 2
    assert not [e for e in events if e.name == "retrying"]  # nothing of the missing post had been shown
    broken = ScriptedModel([batch(A, {"text": ""}, C), one(B)])
    events = list(run_job(broken, generate_job(CARD, "pitch", n=3, one_call=True)))
    assert [e.data["variant"] for e in events if e.name == "retrying"] == [1]
    assert [e.data["text"] for e in events if e.name == "variant"] == [A, B, C]


def test_repairs_come_after_every_first_answer_and_a_fatal_error_keeps_what_arrived():
    model = ScriptedModel([batch(COPIED, A, B), one(C)])
    events = list(run_job(model, generate_job(COPYCAT, "pitch", n=3, one_call=True)))
    assert [e.data["text"] for e in events if e.name == "variant"] == [C, A, B]
    assert len(model.calls) == 2  # the batch, then a fresh sample for the copy, after all first answers
    assert model.calls[1].messages[:-1] == model.calls[0].messages[:-1]
    assert '"posts"' not in model.calls[1].messages[-1]["content"]
    model = ScriptedModel([batch(COPIED, A), LlmServerError("The model server failed (500).")])
    answer = collect(run_job(model, generate_job(COPYCAT, "pitch", n=3, one_call=True)))
    assert [v["text"] for v in answer["variants"]] == [COPIED, A]  # shown unrepaired rather than lost
    assert answer["error"]["kind"] == "server"
    assert len(model.calls) == 2  # variant 2's own call failed; no repair was tried after that


@given(st.lists(st.text(max_size=30), min_size=1, max_size=4), st.integers(min_value=1, max_value=7))
def test_every_text_field_of_a_batch_decodes_from_any_chunking(texts, size):
    from characters.drafting.jobs import TextFieldsStream

    raw = json.dumps({"posts": [{"text": text} for text in texts]})
    fields = TextFieldsStream()
    pieces = [piece for i in range(0, len(raw), size) for piece in fields.feed(raw[i : i + size])]
    expected = [t.encode("utf-16", "surrogatepass").decode("utf-16", "replace") for t in texts]
    assert fields.texts == expected
    assert fields.closed == len(texts)
    for index, text in enumerate(expected):
        assert "".join(piece for at, piece in pieces if at == index) == text


def test_one_call_per_variant_by_default():
    model = ScriptedModel([one(A), one(B)])
    answer = collect(run_job(model, generate_job(CARD, "pitch", n=2, seed=5)))
    assert [v["text"] for v in answer["variants"]] == [A, B]
    assert [call.options.seed for call in model.calls] == [5, 6]
    assert all('"posts"' not in call.messages[-1]["content"] for call in model.calls)
    assert answer["prompt"]["messages"] == [dict(m) for m in model.calls[0].messages]
