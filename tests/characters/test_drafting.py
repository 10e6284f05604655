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


def test_what_rules_cannot_fix_goes_back_to_the_model_with_the_findings_and_the_better_post_is_kept():
    model = ScriptedModel([json.dumps({"text": COPIED}), GOOD])
    events = list(run_job(model, generate_job(COPYCAT, "pitch", n=1)))
    variant = [e.data for e in events if e.name == "variant"][0]
    assert (variant["text"], variant["repair"]) == ("I pitch at nine. #MadMen", "model")
    assert variant["before_repair"]["text"] == COPIED
    assert "originality.canon" in [f["check"] for f in variant["before_repair"]["check"]["findings"]]
    repair = model.calls[1].messages
    assert repair[-2] == {"role": "assistant", "content": json.dumps({"text": COPIED})}
    assert json.dumps({"text": COPIED}) in [m["content"] for m in model.calls[0].messages]
    assert json.dumps({"text": COPIED}) not in [m["content"] for m in repair[:-2]]  # the copied example is gone
    assert "canon post 1" in repair[-1]["content"]
    assert "The words concerned: 'I make them want it" in repair[-1]["content"]
    assert len(model.calls) == 2
    assert variant["prompt_tokens"] > 0
    assert len(variant["calls"]) == 2


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
