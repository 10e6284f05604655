"""Drafting with a model, in character: variants from a brief, rewrites and replies, each checked and repaired.

A job is run as a stream of events (`prompt`, `delta`, `repairing`, `variant`, `variant_error`, `error`,
`done`) that the web layer sends as server-sent events or folds into one JSON answer. Every variant goes through
the consistency checker; when it breaks a hard rule the model gets the findings back once and tries again.
Splitting into a thread and hashtag suggestions need no model at all.
"""

import json
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Annotated, Any, Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.bibles.card_data import CardData
from characters.consistency import CheckResult, Finding, check_text
from characters.consistency.guards import find_copy, strip_framing
from characters.consistency.rules import apply_replacement
from characters.consistency.text import hashtag_spans, words
from characters.core.errors import DomainError
from characters.core.models import Character, Generation, Post, PostPart, require_id
from characters.core.platforms import PLATFORMS
from characters.drafting.prompting import (
    DEFAULT_BUDGET,
    EXAMPLE_REQUEST,
    Prompt,
    PromptTooLong,
    build_prompt,
    count_tokens,
    example_answer,
)
from characters.llm.adapter import (
    CallOptions,
    ChatMessage,
    Completion,
    LanguageModel,
    LlmError,
    LlmMalformedJson,
    LlmSchemaMismatch,
    OutputMode,
    TextDelta,
    Usage,
)
from characters.posting.threads import limit_for

JobKind = Literal["generate", "rewrite", "reply"]
RewriteMode = Literal["in_character", "shorter", "platform", "fix"]
REWRITE_MODES: tuple[RewriteMode, ...] = ("in_character", "shorter", "platform", "fix")
MAX_VARIANTS = 5
MAX_INPUT_CHARS = 4_000  # briefs, drafts and pasted posts: enough for any post, small enough for any context
DEFAULT_POST_CHARS = 500  # the length asked for when neither a platform nor the card sets one
RECENT_POSTS = 10
# Findings from these checks are hard rules a model can fix when told; voice-model findings are not.
HARD_RULES = ("format.", "vocabulary.banned", "era.", "character.", "voice.pov", "text.")
# A copied canon or published post is only a warning for a typed post, but a drafted one is asked for again.
COPY_CHECKS = ("originality.",)
DETERMINISTIC_ROUNDS = 3  # each round applies the fixes the last check found; fixes rarely need more
MAX_ANSWER_TOKENS = 400  # the most a post's answer may take; shorter limits ask for proportionally less
ANSWER_TOKEN_ROOM = 40  # JSON framing and a little slack beyond the post itself
MAX_QUOTE = 120  # characters of a finding's span quoted back to the model
DUPLICATE_SEED_STEP = 1_000  # another seed for a variant that came out the same as an earlier one
RESAMPLE_SEED_STEP = 2_000  # another seed for a fresh sample in place of a copied post
_SENTENCE_END = regex.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
_TRAILING_TAGS = regex.compile(r"(?:\s*[#＃][\p{L}\p{N}_]+)+\s*$")
# Errors after which further calls are pointless (the server or the key is the problem, not this answer).
FATAL_KINDS = frozenset({"auth", "connection", "rate_limit", "server", "timeout", "request"})


class DraftInputError(DomainError):
    """A drafting request the domain refuses (empty brief, unknown mode, too many variants)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a drafting job, as the panel receives it."""

    name: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DraftJob:
    """Everything needed to ask for `n` checked variants of one task."""

    kind: JobKind
    card: CardData
    task: str
    scan: list[str]
    n: int = 3
    platform: str | None = None
    cache_key: str | None = None
    others: Sequence[CardData] = ()
    temperature: float = 0.8
    seed: int | None = None
    budget: int = DEFAULT_BUDGET
    max_tokens: int | None = None  # None: enough for a post of `limit` characters, no more
    published: Sequence[str] = ()  # the character's recent published posts, which a variant must not copy
    # True: all `n` variants from one call (a JSON list). Off by default: with llama.cpp's prompt cache single calls
    # re-read nothing either, and SmolLM2 under the list grammar wrote worse posts (docs/drafting.md).
    one_call: bool = False

    @property
    def limit(self) -> int:
        """Return the length to ask for: the platform's or the card's limit, else a default."""
        try:
            return limit_for(self.platform, self.card.greenroom.voice.max_chars)
        except ValueError:
            return DEFAULT_POST_CHARS

    @property
    def answer_tokens(self) -> int:
        """Return the completion budget: about a token per three characters of the limit, plus JSON framing."""
        return self.max_tokens or min(MAX_ANSWER_TOKENS, self.limit // 3 + ANSWER_TOKEN_ROOM)


class PostAnswer(BaseModel):
    """The JSON object the model answers with: one post.

    No maxLength: llama.cpp turns it into a grammar of nested optional characters that is slow to sample and
    refused outright past a few thousand; the checker judges length and a too-long post goes to repair.
    """

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)


@lru_cache(maxsize=MAX_VARIANTS)
def batch_schema(n: int) -> type[BaseModel]:
    """Return the answer schema for `n` posts in one call: {"posts": [{"text": ...}, ...]} with exactly `n` items.

    The server is sent the strict schema (a grammar forces all `n` posts); the answer is validated leniently, so a
    server without a grammar that returns fewer posts, or one broken element, costs only those variants.
    """
    items = {"type": "array", "items": PostAnswer.model_json_schema(), "minItems": n, "maxItems": n}
    posts: Any = (Annotated[list[Any], WithJsonSchema(items)], ...)
    model: type[BaseModel] = create_model(f"Posts{n}", __config__=ConfigDict(extra="forbid"), posts=posts)
    return model


def _clean(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise DraftInputError(f"Write a {what} first.", field=what)
    if len(text) > MAX_INPUT_CHARS:
        raise DraftInputError(f"The {what} is longer than {MAX_INPUT_CHARS:,} characters.", field=what)
    return text


def _checked_count(n: int) -> int:
    if not 1 <= n <= MAX_VARIANTS:
        raise DraftInputError(f"Ask for 1 to {MAX_VARIANTS} variants.", field="n")
    return n


def _checked_platform(platform: str | None) -> str | None:
    if platform and platform not in PLATFORMS:
        raise DraftInputError(f"Unknown platform {platform!r}.", field="platform")
    return platform or None


def _where(platform: str | None, limit: int) -> str:
    target = f"a {platform} post" if platform else "a social media post"
    return f"{target} of at most {limit} characters"


def _answer_format() -> str:
    return 'Answer with only a JSON object whose one key, "text", holds the post.'


def _batch_format(n: int) -> str:
    return (
        f"Write {n} such posts, each different. Answer with only a JSON object whose one key, "
        f'"posts", holds a list of {n} objects, each with one key, "text", holding one post.'
    )


def task_text(job: "DraftJob", n: int = 1) -> str:
    """Return the job's task as the model reads it: with the answer format for one post or for `n` at once."""
    return f"{job.task} {_batch_format(n) if n > 1 else _answer_format()}"


def generate_job(
    card: CardData,
    brief: str,
    *,
    n: int = 3,
    platform: str | None = None,
    recent_posts: Sequence[str] = (),
    **options: Any,
) -> DraftJob:
    """Return a job for `n` new posts from the writer's brief."""
    brief = _clean(brief, "brief")
    job = DraftJob(
        "generate", card, "", [brief, *recent_posts], _checked_count(n), _checked_platform(platform), **options
    )
    task = (
        f"The writer's brief: {brief}\n\nWrite {_where(job.platform, job.limit)} as {card.name}, "
        "following the brief, in new words."
    )
    return replace(job, task=task)


def rewrite_job(
    card: CardData,
    draft: str,
    mode: str,
    *,
    n: int = 1,
    platform: str | None = None,
    recent_posts: Sequence[str] = (),
    cache_key: str | None = None,
    **options: Any,
) -> DraftJob:
    """Return a job that rewrites a draft: more in character, shorter, for a platform, or fixing its findings."""
    draft = _clean(draft, "draft")
    if mode not in REWRITE_MODES:
        raise DraftInputError(f"Unknown rewrite {mode!r}; use one of {', '.join(REWRITE_MODES)}.", field="mode")
    platform = _checked_platform(platform)
    if mode == "platform" and not platform:
        raise DraftInputError("Pick the platform to rewrite for.", field="platform")
    job = DraftJob("rewrite", card, "", [draft, *recent_posts], _checked_count(n), platform, cache_key, **options)
    if mode == "fix":
        result = check_text(card, draft, platform, cache_key=cache_key)
        problems = _findings_list(hard_failures(result) or [f for f in result.findings if f.severity != "info"], draft)
    instruction = {
        "in_character": f"Rewrite it so it sounds unmistakably like {card.name}; keep what it says.",
        "shorter": f"Rewrite it shorter (at most about {max(20, len(draft) * 6 // 10)} characters); "
        "keep the point and the voice.",
        "platform": f"Adapt it for {platform}: {_where(platform, job.limit)}, in {card.name}'s voice.",
        "fix": "Rewrite it to fix these problems, changing as little else as possible:\n" + problems
        if mode == "fix"
        else "",
    }[mode]
    task = f"The writer's draft:\n<<<\n{draft}\n>>>\n\n{instruction}\nWrite {_where(platform, job.limit)}."
    return replace(job, task=task)


def reply_job(
    card: CardData,
    post: str,
    *,
    n: int = 3,
    platform: str | None = None,
    brief: str = "",
    recent_posts: Sequence[str] = (),
    **options: Any,
) -> DraftJob:
    """Return a job for in-character replies to someone else's post."""
    post = _clean(post, "post")
    note = f"\nThe writer's note on how to reply: {brief.strip()}" if brief.strip() else ""
    job = DraftJob(
        "reply", card, "", [post, brief, *recent_posts], _checked_count(n), _checked_platform(platform), **options
    )
    task = (
        f"Someone else posted this:\n<<<\n{post}\n>>>{note}\n\nWrite {card.name}'s reply: "
        f"{_where(job.platform, job.limit)}."
    )
    return replace(job, task=task)


def hard_failures(result: CheckResult) -> list[Finding]:
    """Return the failed hard rules of a check (what a repair round can be asked to fix)."""
    return [f for f in result.findings if f.severity == "fail" and f.check.startswith(HARD_RULES)]


def needs_repair(result: CheckResult) -> list[Finding]:
    """Return what a drafted variant is repaired for: every failed finding (voice ones too) and copied posts."""
    return [f for f in result.findings if f.severity == "fail" or f.check.startswith(COPY_CHECKS)]


def deterministic_fix(text: str, result: CheckResult) -> str:
    """Apply the fixes that need no model: each failed finding's first replacement (banned and era terms,
    surplus hashtags, emoji and links, leaked framing), then a missing required hashtag."""
    fails = [f for f in result.findings if f.severity == "fail" and f.replacements]
    spanned = sorted((f for f in fails if f.start is not None and f.end is not None), key=lambda f: f.start or 0)
    limit = len(text)
    for finding in reversed(spanned):  # from the end, so earlier spans stay valid; overlapping ones wait a round
        if finding.end is not None and finding.end <= limit:
            text, _ = apply_replacement(text, finding.start, finding.end, finding.replacements[0])
            limit = finding.start or 0
    for finding in fails:
        if finding.start is None:
            text, _ = apply_replacement(text, None, None, finding.replacements[0])
    return text


def trim_to(text: str, cut: int) -> str:
    """Return the text cut at its last sentence end before index `cut`, keeping its closing hashtags."""
    tags = _TRAILING_TAGS.search(text)
    body, tail = (text[: tags.start()], tags.group().strip()) if tags else (text, "")
    head = body[: max(0, cut - (len(tail) + 1 if tail else 0))]
    ends = [match.end() for match in _SENTENCE_END.finditer(head)]
    if ends:
        head = head[: ends[-1]]
    elif head.strip():
        head = head[: max(0, head.rfind(" "))].rstrip(" ,;:-–—") + "…"  # no sentence ends in time: at a word
    return f"{head.rstrip()} {tail}".strip()


def _how_to_fix(finding: Finding, text: str) -> str:
    """Return how to fix a finding in words a model (or a person) can act on, using its one-click replacements."""
    words = [f"'{r}'" for r in finding.replacements if r]
    if not finding.replacements:
        marked = text[finding.start : finding.end].strip() if finding.start is not None else ""
        where = f" The words concerned: '{marked[:MAX_QUOTE]}'." if marked else ""
        return (finding.suggestion or "") + where
    if finding.start is None or finding.end is None:
        return f"Add {' or '.join(words)}."
    old = text[finding.start : finding.end].strip()
    if not words:
        return f"Delete '{old}'."
    return f"Replace '{old}' with {' or '.join(words)}."


def _findings_list(findings: Sequence[Finding], text: str) -> str:
    if not findings:
        return "- (no specific problems found; make it sound more like the character)"
    lines = []
    for finding in findings:
        fix = _how_to_fix(finding, text)
        lines.append(f"- {finding.message}" + (f" Fix: {fix}" if fix else ""))
    return "\n".join(dict.fromkeys(lines))  # one line per distinct problem, however many networks repeat it


def repair_messages(prompt: Prompt, raw: str, findings: Sequence[Finding], text: str = "") -> list[ChatMessage]:
    """Return the prompt plus the failed answer (whose post is `text`) and the findings, asking for a corrected post."""
    feedback = (
        "That post breaks these rules:\n"
        + _findings_list(findings, text)
        + "\nWrite the post again, fixing every problem and staying in character. "
        + _answer_format()
    )
    messages = prompt.messages
    if any(f.check.startswith(COPY_CHECKS) for f in findings):
        messages = _without_copied_examples(messages, text)  # or a small model copies the same example again
    return [*messages, {"role": "assistant", "content": raw}, {"role": "user", "content": feedback}]


def _without_copied_examples(messages: Sequence[ChatMessage], text: str) -> list[ChatMessage]:
    """Return the messages without the few-shot example pairs that `text` copies."""
    kept: list[ChatMessage] = []
    for message in messages:
        if message["role"] == "assistant" and kept and kept[-1]["content"] == EXAMPLE_REQUEST:
            example = _example_text(message["content"])
            if find_copy(text, example) is not None:
                kept.pop()  # the request that asked for it goes too
                continue
        kept.append(message)
    return kept


def _example_text(content: str) -> str:
    try:
        return str(json.loads(content).get("text", ""))
    except (ValueError, AttributeError):
        return content


class TextFieldsStream:
    """Extract the growing values of the answer's "text" fields from raw JSON as it streams in, in order.

    One post's answer has one such field; a batch's {"posts": [{"text": ...}, ...]} has one per post.
    """

    _START = regex.compile(r'"text"\s*:\s*"')
    _ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

    def __init__(self, limit: int | None = None) -> None:
        self._raw = ""
        self._position = 0
        self._inside = False
        self._limit = limit
        self.texts: list[str] = []  # each field's value as decoded so far
        self.closed = 0  # how many of them have ended (the rest, at most one, was cut off)

    @property
    def raw(self) -> str:
        """Return all raw text fed so far."""
        return self._raw

    def feed(self, chunk: str) -> list[tuple[int, str]]:
        """Add raw text; return the newly decoded pieces as (field index, text), possibly none."""
        self._raw += chunk
        pieces: list[tuple[int, str]] = []
        while True:
            if not self._inside:
                if self._limit is not None and len(self.texts) >= self._limit:
                    break
                match = self._START.search(self._raw, self._position)
                if match is None:
                    break
                self._position, self._inside = match.end(), True
                self.texts.append("")
            text, ended = self._decode()
            if text:
                self.texts[-1] += text
                pieces.append((len(self.texts) - 1, text))
            if not ended:
                break
            self._inside = False
            self.closed += 1
        return pieces

    def _decode(self) -> tuple[str, bool]:
        """Decode the current field from the position on; return the text and whether the field ended."""
        out: list[str] = []
        raw, i = self._raw, self._position
        ended = False
        while i < len(raw):
            char = raw[i]
            if char == '"':
                ended = True
                i += 1
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escaped = self._escape(raw, i)
            if escaped is None:
                break  # wait for the rest of the escape
            decoded, i = escaped
            out.append(decoded)
        self._position = i
        return "".join(out), ended

    def _escape(self, raw: str, i: int) -> tuple[str, int] | None:
        """Return the character escaped at `i` and the index after it, or None until all of it has arrived."""
        if i + 1 >= len(raw):
            return None
        code = raw[i + 1]
        if code != "u":
            return self._ESCAPES.get(code, code), i + 2
        unit = self._unit(raw, i)
        if unit is None:
            return None
        if 0xD800 <= unit < 0xDC00:
            # A high surrogate: decode it together with the low one that follows, never half an emoji.
            low = self._unit(raw, i + 6)
            if low is None and len(raw) < i + 12:
                return None
            if low is not None and 0xDC00 <= low < 0xE000:
                return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), i + 12
            unit = 0xFFFD
        return chr(0xFFFD if 0xDC00 <= unit < 0xE000 else unit), i + 6

    @staticmethod
    def _unit(raw: str, i: int) -> int | None:
        """Return the UTF-16 unit of the \\uXXXX escape at `i`, or None when it has not fully arrived."""
        digits = raw[i + 2 : i + 6]
        if raw[i : i + 2] != "\\u" or len(digits) < 4:
            return None
        return int(digits, 16) if regex.fullmatch(r"[0-9a-fA-F]{4}", digits) else 0xFFFD


class TextFieldStream:
    """Extract the growing value of one post's "text" field from raw JSON as it streams in."""

    def __init__(self) -> None:
        self._fields = TextFieldsStream(limit=1)

    def feed(self, chunk: str) -> str:
        """Add raw text; return the newly decoded part of the field (possibly empty)."""
        return "".join(text for _, text in self._fields.feed(chunk))


@dataclass(frozen=True)
class _Attempt:
    text: str
    raw: str
    check: CheckResult
    completion: Completion[Any]
    messages: list[ChatMessage]
    how: str | None = None  # None for the model's own answer; "rules" or "model" for a repair
    framing: tuple[str, ...] = ()


@dataclass
class _Totals:
    latency_ms: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    calls: list[list[ChatMessage]] = field(default_factory=list)

    def add(self, completion: Completion[Any], messages: list[ChatMessage], share: int = 1) -> None:
        """Count one call; a call that produced `share` variants (a batch) is split evenly between them."""
        self.latency_ms += completion.latency_ms // share
        usage = completion.usage
        if usage.prompt_tokens is None or usage.completion_tokens is None:
            # The server reported nothing (some stream without usage): count with the prompt's own estimator.
            self.estimated = True
            self.prompt_tokens += sum(count_tokens(m["content"]) for m in messages) // share
            self.completion_tokens += count_tokens(completion.raw) // share
        else:
            self.prompt_tokens += usage.prompt_tokens // share
            self.completion_tokens += usage.completion_tokens // share
        self.calls.append(messages)


def _call(
    model: LanguageModel,
    messages: list[ChatMessage],
    schema: type[BaseModel],
    options: CallOptions,
    stream: bool,
    variants: Sequence[int],
) -> Generator[Event, None, Completion[Any]]:
    """Run one model call, yielding delta events while it streams (the k-th post to `variants[k]`); return it."""
    if not stream:
        yield from ()
        return model.complete(messages, schema, options)
    fields = TextFieldsStream(limit=len(variants))
    upstream = model.stream(messages, schema, options)
    try:
        for item in upstream:
            if not isinstance(item, TextDelta):
                return item
            for index, text in fields.feed(item.text):
                yield Event("delta", {"variant": variants[index], "text": text})
    finally:
        close = getattr(upstream, "close", None)
        if close is not None:
            close()  # the caller may stop early (the writer cancelled): stop the model too
    raise LlmMalformedJson("The model's answer ended before it was complete. Try again.", raw=fields.raw)


def _check(job: DraftJob, text: str) -> CheckResult:
    return check_text(job.card, text, job.platform, others=job.others, cache_key=job.cache_key, published=job.published)


def _cut_off(raw: str) -> bool:
    """Return whether a JSON answer stopped before it closed (the token limit cut the post short)."""
    raw = raw.strip()
    return raw.startswith("{") and not raw.endswith("}")


def _post(job: DraftJob, text: str, cut: bool) -> tuple[str, tuple[str, ...]]:
    """Return a post as shown (framing stripped, a cut-off end trimmed to its last sentence) and what was stripped."""
    stripped = strip_framing(text)
    return (trim_to(stripped.text, len(stripped.text)) if cut else stripped.text), stripped.removed


def _attempt(
    model: LanguageModel,
    job: DraftJob,
    messages: list[ChatMessage],
    options: CallOptions,
    stream: bool,
    variant: int,
    totals: _Totals,
) -> Generator[Event, None, _Attempt]:
    """Ask once for one post, strip any assistant framing from it, and check it."""
    completion = yield from _call(model, messages, PostAnswer, options, stream, [variant])
    totals.add(completion, messages)
    text, framing = _post(job, str(getattr(completion.value, "text", "")), _cut_off(completion.raw))
    return _Attempt(text, completion.raw, _check(job, text), completion, messages, framing=framing)


def batch_posts(completion: Completion[Any], n: int) -> list[tuple[str, bool] | None]:
    """Return the posts of a batch answer, each with whether the token limit cut it off; None for a broken one.

    A valid answer's elements are read as they are (an object's "text" or a bare string); an answer that is not
    valid JSON, or of another shape (one {"text": ...} from a server without a grammar), gives every "text" field
    that arrived, the last one perhaps cut off.
    """
    posts = getattr(completion.value, "posts", None)
    if isinstance(posts, list):
        out: list[tuple[str, bool] | None] = []
        for post in posts[:n]:
            text = post.get("text") if isinstance(post, dict) else post
            out.append((text, False) if isinstance(text, str) and text.strip() else None)
        return out
    fields = TextFieldsStream(limit=n)
    fields.feed(completion.raw)
    return [(text, index >= fields.closed) if text.strip() else None for index, text in enumerate(fields.texts)]


def _batch(
    model: LanguageModel, job: DraftJob, prompt: Prompt, stream: bool, totals: Sequence[_Totals]
) -> Generator[Event, None, dict[int, _Attempt]]:
    """Ask for all `n` posts in one call; return the usable ones by variant (the caller asks for the rest singly)."""
    options = CallOptions(temperature=job.temperature, seed=job.seed, max_tokens=job.n * job.answer_tokens)
    started = time.perf_counter()
    try:
        completion = yield from _call(model, prompt.messages, batch_schema(job.n), options, stream, range(job.n))
    except (LlmMalformedJson, LlmSchemaMismatch) as error:
        # Broken or of another shape: keep what arrived; the usage is unknown, so it is estimated.
        empty = batch_schema(job.n).model_construct()
        mode: OutputMode = getattr(model, "output_mode", "json_schema")
        completion = Completion(empty, error.raw or "", model.model_name, Usage(), _ms_since(started), mode)
    attempts: dict[int, _Attempt] = {}
    keys: set[str] = set()
    for variant, post in enumerate(batch_posts(completion, job.n)):
        text, framing = _post(job, *post) if post else ("", ())
        if not text.strip() or _same_key(text) in keys:
            if stream and post is None:
                yield Event("retrying", {"variant": variant})  # its card may show part of a broken answer
            continue  # asked for on its own: another sample, not the same post twice
        keys.add(_same_key(text))
        check = _check(job, text)
        attempts[variant] = _Attempt(text, example_answer(text), check, completion, prompt.messages, framing=framing)
    for variant in list(attempts) or [0]:  # a batch that gave nothing is still a cost: the first variant bears it
        totals[variant].add(completion, prompt.messages, share=max(1, len(attempts)))
    return attempts


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _single(
    model: LanguageModel,
    job: DraftJob,
    messages: list[ChatMessage],
    variant: int,
    stream: bool,
    totals: _Totals,
    taken: set[str],
) -> Generator[Event, None, _Attempt]:
    """Ask for one variant on its own: a broken answer is sampled once more, and so is a repeat of another post."""
    seed = None if job.seed is None else job.seed + variant
    options = CallOptions(temperature=job.temperature, seed=seed, max_tokens=job.answer_tokens)
    try:
        first = yield from _attempt(model, job, messages, options, stream, variant, totals)
    except (LlmMalformedJson, LlmSchemaMismatch):
        # A broken answer is a bad sample, not a bad request (a small model under a JSON grammar can spend its whole
        # token budget on whitespace): one more sample, so no variant is lost to it.
        yield Event("retrying", {"variant": variant})
        options = replace(options, seed=None if seed is None else seed + DUPLICATE_SEED_STEP)
        first = yield from _attempt(model, job, messages, options, stream, variant, totals)
    if _same_key(first.text) in taken:
        # The same post as an earlier variant (a small model at a low temperature repeats itself): ask once more.
        options = replace(options, seed=None if seed is None else seed + DUPLICATE_SEED_STEP)
        first = yield from _attempt(model, job, messages, options, stream, variant, totals)
    return first


def _fixed(job: DraftJob, attempt: _Attempt) -> _Attempt:
    """Apply deterministic fixes, re-checking after each round, until none changes the text."""
    text, check = attempt.text, attempt.check
    for _ in range(DETERMINISTIC_ROUNDS):
        fixed = deterministic_fix(text, check)
        overflow = [f.start for f in check.findings if f.check == "format.length" and f.start is not None]
        if fixed == text and overflow:
            fixed = trim_to(text, min(overflow))
        if fixed == text or not fixed.strip():
            break
        text, check = fixed, _check(job, fixed)
    return attempt if text == attempt.text else replace(attempt, text=text, check=check, how="rules")


def _quality(check: CheckResult) -> tuple[bool, bool, bool, int, int]:
    """Rank checks: not failed, then no copied post, then a clean pass, then fewer failed findings, then the score."""
    copies = any(f.check.startswith(COPY_CHECKS) for f in check.findings)
    fails = sum(f.severity == "fail" for f in check.findings)
    return check.verdict != "fail", not copies, check.verdict == "pass", -fails, check.score


def _same_key(text: str) -> str:
    return " ".join(text.casefold().split())


def _finish(
    model: LanguageModel | None,
    job: DraftJob,
    prompt: Prompt,
    variant: int,
    first: _Attempt,
    stream: bool,
    seen: set[str],
    totals: _Totals,
) -> Generator[Event, None, LlmError | None]:
    """Repair a first answer (rules first, then the model once for the rest, unless `model` is None), keep the best
    and show it; return a fatal model error met on the way, after the variant has been shown without that repair."""
    candidates = [first]
    fatal: LlmError | None = None
    if problems := needs_repair(first.check):
        yield Event("repairing", {"variant": variant, "findings": [f.to_dict() for f in problems]})
        fixed = _fixed(job, first)
        candidates.append(fixed)
        if model is not None and (remaining := needs_repair(fixed.check)):
            seed = None if job.seed is None else job.seed + variant
            options = CallOptions(temperature=job.temperature, seed=seed, max_tokens=job.answer_tokens)
            if all(f.check.startswith(COPY_CHECKS) for f in remaining):
                # Only a copy is left: a fresh sample of the same prompt, which the server has cached. A repair
                # prompt without the copied example made the server re-read everything after it and SmolLM2
                # still rarely wrote something new; a new sample mostly does.
                messages = prompt.messages
                options = replace(options, seed=None if seed is None else seed + RESAMPLE_SEED_STEP)
            else:
                messages = repair_messages(prompt, example_answer(fixed.text), remaining, fixed.text)
            yield Event("prompt", {"variant": variant, "repair": True, "messages": [dict(m) for m in messages]})
            try:
                answer = yield from _attempt(model, job, messages, options, stream, variant, totals)
            except LlmError as error:
                if error.kind in FATAL_KINDS:
                    fatal = error
            else:
                candidates.append(replace(_fixed(job, answer), how="model"))
    # The best candidate that is not another variant's post; the first of equals, so no change for nothing.
    fresh = [attempt for attempt in candidates if _same_key(attempt.text) not in seen] or candidates
    final = max(fresh, key=lambda attempt: _quality(attempt.check))
    if _same_key(final.text) in seen:
        message = "The model wrote the same post as another variant."
        name = first.completion.model
        yield Event("variant_error", {"variant": variant, "kind": "duplicate", "message": message, "model": name})
        return fatal
    seen.add(_same_key(final.text))
    yield Event(
        "variant",
        {
            "variant": variant,
            "text": final.text,
            "check": final.check.to_dict(),
            "repaired": final is not first,
            "repair": final.how,
            "before_repair": None if final is first else {"text": first.text, "check": first.check.to_dict()},
            "framing_removed": list(first.framing),
            "model": final.completion.model,
            "mode": final.completion.mode,
            "latency_ms": totals.latency_ms,
            "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens,
            "tokens_estimated": totals.estimated,
            "calls": totals.calls,
        },
    )
    return fatal


def _with_task(prompt: Prompt, old: str, new: str) -> Prompt:
    """Return the prompt with its task message's text replaced (the one-post form of a batch prompt)."""
    messages: list[ChatMessage] = [
        {"role": m["role"], "content": new} if m["role"] == "user" and m["content"] == old else m
        for m in prompt.messages
    ]
    return replace(prompt, messages=messages)


def _error_data(model: LanguageModel, variant: int, error: LlmError) -> dict[str, Any]:
    return {"variant": variant, "kind": error.kind, "message": error.message, "model": model.model_name}


def _first_answers(
    model: LanguageModel, job: DraftJob, prompt: Prompt, single: Prompt, stream: bool, totals: Sequence[_Totals]
) -> Generator[Event, None, tuple[dict[int, _Attempt], dict[int, LlmError], tuple[int, LlmError] | None]]:
    """Get every variant's first answer: the batch's, then single calls for the rest; return them, the variants
    lost to a non-fatal error, and the fatal error that stopped the calls (with its variant) if one did."""
    firsts: dict[int, _Attempt] = {}
    failed: dict[int, LlmError] = {}
    variant = 0  # a failed batch call is recorded as the first variant's, as its cost is when it gives nothing
    try:
        if job.n > 1 and job.one_call:
            firsts = yield from _batch(model, job, prompt, stream, totals)
        for variant in range(job.n):
            if variant in firsts:
                continue
            taken = {_same_key(attempt.text) for attempt in firsts.values()}
            try:
                firsts[variant] = yield from _single(
                    model, job, single.messages, variant, stream, totals[variant], taken
                )
            except LlmError as error:
                if error.kind in FATAL_KINDS:
                    raise
                failed[variant] = error
    except LlmError as error:
        return firsts, failed, (variant, error)
    return firsts, failed, None


def run_job(model: LanguageModel, job: DraftJob, *, stream: bool = True) -> Iterator[Event]:
    """Run a drafting job as events; model failures become `variant_error`/`error` events, never exceptions.

    All first answers come before any repair, in one call when the job asks for several (the model reads the
    prompt once, and a server's prompt cache keeps it for the rest); variants the batch did not give are asked for
    one by one. Then each variant is fixed by rule, repaired by the model if still needed, and shown.
    """
    started = time.perf_counter()
    one, batch = task_text(job), task_text(job, job.n if job.one_call else 1)
    try:
        prompt = build_prompt(job.card, batch, scan=job.scan, budget=job.budget)
    except PromptTooLong as error:
        yield Event("error", {"kind": "prompt_too_long", "message": str(error)})
        return
    yield Event("prompt", {"variant": None, "repair": False, **prompt.to_dict()})
    single = _with_task(prompt, batch, one)  # the same prefix, so the server re-reads only the task
    totals = [_Totals() for _ in range(job.n)]
    firsts, failed, fatal = yield from _first_answers(model, job, prompt, single, stream, totals)
    seen: set[str] = set()
    for variant in range(job.n):
        if variant in failed:
            yield Event("variant_error", _error_data(model, variant, failed[variant]))
        elif variant in firsts:
            # After a fatal error the variants already written are still shown, fixed by rule only.
            repairer = None if fatal else model
            met = yield from _finish(repairer, job, single, variant, firsts[variant], stream, seen, totals[variant])
            if met is not None:
                fatal = (variant, met)
    if fatal is not None:
        yield Event("error", _error_data(model, *fatal))
    yield Event("done", {"variants": len(seen), "elapsed_ms": int((time.perf_counter() - started) * 1000)})


def collect(events: Iterator[Event]) -> dict[str, Any]:
    """Fold a job's events into one JSON answer: the prompt, the variants, errors."""
    answer: dict[str, Any] = {"prompt": None, "repairs": [], "variants": [], "errors": [], "error": None}
    for event in events:
        if event.name == "prompt":
            if event.data["repair"]:
                answer["repairs"].append(event.data)
            else:
                answer["prompt"] = event.data
        elif event.name == "variant":
            answer["variants"].append(event.data)
        elif event.name == "variant_error":
            answer["errors"].append(event.data)
        elif event.name == "error":
            answer["error"] = event.data
        elif event.name == "done":
            answer["done"] = event.data
    return answer


def recent_posts(session: Session, character: Character, limit: int = RECENT_POSTS) -> list[str]:
    """Return the text of the character's latest posts (first part of each), newest first."""
    rows = session.exec(
        select(PostPart.text)
        .join(Post, col(Post.id) == col(PostPart.post_id))
        .where(Post.character_id == character.id, PostPart.position == 0)
        .order_by(col(Post.created_at).desc(), col(Post.id).desc())
        .limit(limit)
    ).all()
    return [text for text in rows if text.strip()]


def record_generation(
    *, session: Session, member: Member, character: Character, kind: JobKind, event: Event
) -> Generation:
    """Store what one variant's model calls cost and how it came out; the prompt only if the workspace says so."""
    data = event.data
    check = data.get("check") or {}
    row = Generation(
        workspace_id=require_id(member.workspace),
        character_id=character.id,
        user_id=member.user.id,
        kind=kind,
        variant=int(data.get("variant") or 0),
        model=str(data.get("model") or "")[:200],
        latency_ms=int(data.get("latency_ms") or 0),
        prompt_tokens=data.get("prompt_tokens"),
        completion_tokens=data.get("completion_tokens"),
        tokens_estimated=bool(data.get("tokens_estimated")),
        repaired=bool(data.get("repaired")),
        score=check.get("score"),
        verdict=check.get("verdict"),
        error=None if event.name == "variant" else f"{data.get('kind')}: {data.get('message')}"[:500],
        prompt=[{"call": i, "messages": m} for i, m in enumerate(data.get("calls") or [])]
        if member.workspace.store_prompts
        else None,
    )
    session.add(row)
    session.flush()
    return row


def list_generations(session: Session, member: Member, limit: int = 100) -> list[tuple[Generation, str | None]]:
    """Return the workspace's latest generations with their character's name (owners and editors only)."""
    member.require(Action.APPROVE)
    rows = session.exec(
        select(Generation, Character.name)
        .join(Character, col(Character.id) == col(Generation.character_id), isouter=True)
        .where(Generation.workspace_id == member.workspace.id)
        .order_by(col(Generation.created_at).desc(), col(Generation.id).desc())
        .limit(limit)
    ).all()
    return [(generation, name) for generation, name in rows]


_TAG_WORD = regex.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _tag_words(tag: str) -> list[str]:
    """Split "#BakeOffFinal" or "#bake_off" into lowercase words."""
    return [w.lower() for w in _TAG_WORD.findall(tag.lstrip("#＃"))]


def _stem(word: str) -> str:
    return word.lower()[:5]


def suggest_hashtags(card: CardData, text: str, limit: int | None = None) -> list[str]:
    """Suggest hashtags from the character's required and allowed lists that fit the text and the card's max."""
    policy = card.greenroom.voice.hashtags
    present = {span.text.lower().replace("＃", "#") for span in hashtag_spans(text)}
    room = policy.max - len(present)
    if limit is not None:
        room = min(room, limit)
    if room <= 0:
        return []
    text_stems = {_stem(word) for word in words(text)}
    required = [t if t.startswith("#") else f"#{t}" for t in policy.required]
    needs_required = bool(required) and not present & {t.lower() for t in required}
    ranked: list[tuple[int, int, int, str]] = []
    seen: set[str] = set()
    for order, tag in enumerate(required + [t if t.startswith("#") else f"#{t}" for t in policy.allowed]):
        key = tag.lower()
        if key in seen or key in present:
            continue
        seen.add(key)
        overlap = sum(_stem(word) in text_stems for word in _tag_words(tag))
        is_required = order < len(required)
        # A post must carry one required tag when it has none; after that, tags the text talks about come first.
        ranked.append((0 if is_required and needs_required else 1, -overlap, order, tag))
    ranked.sort()
    return [tag for _, _, _, tag in ranked[:room]]
