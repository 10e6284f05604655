"""The one LLM adapter: chat completions with JSON-schema output, validated with pydantic, streamed or not.

This is the only module that imports `openai`. Everything else talks to a `LanguageModel`: this adapter in
production, a fake in tests. Errors leave this module as `LlmError` subclasses whose message can be shown to a
writer as is; the kind (`timeout`, `auth`, ...) lets callers react without parsing text.
"""

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Literal, Protocol, TypedDict, TypeVar

import httpx2
import openai
import regex
from pydantic import BaseModel, ValidationError

from characters.core.config import Settings

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # the SDK's own default, stated here so a change is deliberate: it retries 408/409/429/5xx
DEFAULT_MAX_TOKENS = 400

T = TypeVar("T", bound=BaseModel)
RETRIED_KINDS = frozenset({"timeout", "rate_limit", "server", "connection"})  # what the SDK's retries cover
ErrorKind = Literal["timeout", "auth", "rate_limit", "server", "malformed_json", "schema", "connection", "request"]
OutputMode = Literal["json_schema", "json_object", "text"]
# How to ask a server for structured output, best first; a server that refuses one is asked the next way from then on.
OUTPUT_MODES: tuple[OutputMode, ...] = ("json_schema", "json_object", "text")


class ChatMessage(TypedDict):
    """One message of a chat prompt, exactly as sent to the model."""

    role: Literal["system", "user", "assistant"]
    content: str


class LlmError(Exception):
    """A model call failed; `message` is fit to show a writer and `kind` says what went wrong."""

    kind: ErrorKind = "request"

    def __init__(self, message: str, *, raw: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.raw = raw  # the model's text for malformed/schema errors (for logs, never for secrets)

    def __init_subclass__(cls, *, kind: ErrorKind, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = kind


class LlmTimeout(LlmError, kind="timeout"):
    """The model did not answer within the timeout."""


class LlmAuthError(LlmError, kind="auth"):
    """The server refused the API key (401/403)."""


class LlmRateLimited(LlmError, kind="rate_limit"):
    """The server kept answering 429 after the retries."""


class LlmServerError(LlmError, kind="server"):
    """The server kept failing with 5xx after the retries."""


class LlmConnectionError(LlmError, kind="connection"):
    """The server could not be reached."""


class LlmMalformedJson(LlmError, kind="malformed_json"):
    """The model's answer was not a JSON object."""


class LlmSchemaMismatch(LlmError, kind="schema"):
    """The model's JSON did not have the requested shape."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the server reported them (None when it reported nothing)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Completion(Generic[T]):
    """A validated answer and what it cost."""

    value: T
    raw: str
    model: str
    usage: Usage
    latency_ms: int
    mode: OutputMode


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the raw answer as it streams in."""

    text: str


StreamItem = TextDelta | Completion[Any]


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Sampling options for one call."""

    temperature: float = 0.7
    seed: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS


class LanguageModel(Protocol):
    """What drafting needs from a model; `OpenAIChatModel` in production, a fake in tests."""

    @property
    def model_name(self) -> str:
        """Return the model's name as recorded with each generation."""
        ...

    def complete(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Completion[T]:
        """Return the model's answer validated against `schema`."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Iterator[StreamItem]:
        """Yield text deltas as they arrive, then one validated `Completion`; closing the iterator stops the call."""
        ...


def schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    """Return the `response_format` that asks for JSON matching `schema`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True},
    }


def parse_answer(raw: str, schema: type[T], *, plain: bool = False) -> T:
    """Parse and validate the model's text, raising the typed error for bad JSON or a wrong shape.

    For a schema of one string field (a post) a strict fallback keeps the answer: a JSON object cut off inside
    that field (the answer ran out of tokens) gives the part that arrived, and with `plain` (text mode) an answer
    that is not JSON at all is that field's value.
    """
    text = _strip_fence(raw)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = _salvaged(text, schema, plain)
        if data is None:
            raise LlmMalformedJson("The model's answer was not valid JSON. Try again.", raw=raw) from None
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in error.errors()[:3])
        raise LlmSchemaMismatch(f"The model's answer had the wrong shape ({where}). Try again.", raw=raw) from None


def _single_text_field(schema: type[BaseModel]) -> str | None:
    """Return the name of the schema's only field when it is a string, else None."""
    fields = schema.model_fields
    if len(fields) != 1:
        return None
    name, info = next(iter(fields.items()))
    return name if info.annotation is str else None


def _salvaged(text: str, schema: type[BaseModel], plain: bool) -> dict[str, str] | None:
    """Return the one-string-field object a truncated JSON answer (or, with `plain`, plain text) stands for."""
    name = _single_text_field(schema)
    if name is None:
        return None
    opening = regex.match(rf'\s*\{{\s*"{regex.escape(name)}"\s*:\s*"((?:[^"\\]|\\.)*)', text)
    if opening is not None:
        body = regex.sub(r"\\u[0-9a-fA-F]{0,3}$", "", opening.group(1))  # an escape cut in half is dropped
        try:
            value = regex.sub("[\ud800-\udbff]$", "", json.loads(f'"{body}"'))  # half an emoji is dropped too
        except json.JSONDecodeError:
            return None
        return {name: value} if value.strip() else None
    if plain and not text.lstrip().startswith(("{", "[")):
        return {name: text}
    return None


def _strip_fence(raw: str) -> str:
    """Drop a Markdown code fence some models wrap JSON in even in JSON mode."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _schema_rejected(error: openai.APIStatusError) -> bool:
    """Return True when an error answer says the server does not support the structured output asked for."""
    text = f"{error.message} {error.body}".lower()
    return any(word in text for word in ("json_schema", "json_object", "response_format", "response format"))


class OpenAIChatModel:
    """A `LanguageModel` over any OpenAI-compatible chat.completions endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_seconds: float = 60.0,
        max_retries: int = MAX_RETRIES,
        http_client: httpx2.Client | None = None,
    ) -> None:
        """Create the client; nothing is sent until the first call."""
        self._model = model
        # Local servers accept any key, but the SDK refuses to start without one.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unused",
            timeout=timeout_seconds,
            max_retries=min(max_retries, MAX_RETRIES),
            http_client=http_client,
        )
        self._timeout = timeout_seconds
        self._retries = min(max_retries, MAX_RETRIES)
        self._mode: OutputMode = OUTPUT_MODES[0]
        self._confirmed = False  # the server has accepted a request in `_mode`

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIChatModel":
        """Build the adapter from LLM_BASE_URL, LLM_API_KEY, LLM_MODEL and LLM_TIMEOUT_SECONDS."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_seconds=settings.llm_timeout_seconds,
        )

    @property
    def model_name(self) -> str:
        """Return the model's name."""
        return self._model

    @property
    def output_mode(self) -> OutputMode:
        """Return how output is requested from this server: json_schema, json_object or plain text."""
        return self._mode

    def complete(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Completion[T]:
        """Return the model's answer validated against `schema`."""
        started = time.perf_counter()
        response = self._create(messages, schema, options, stream=False)
        choice = response.choices[0] if response.choices else None
        raw = (choice.message.content if choice else None) or ""
        usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage else Usage()
        value = parse_answer(raw, schema, plain=self._mode == "text")
        return Completion(value, raw, self._model, usage, _ms_since(started), self._mode)

    def stream(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Iterator[StreamItem]:
        """Yield text deltas, then the validated `Completion`; closing the iterator closes the HTTP response."""
        started = time.perf_counter()
        upstream = self._create(messages, schema, options, stream=True)
        parts: list[str] = []
        usage = Usage()
        try:
            for chunk in _guarded(iter(upstream)):
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield TextDelta(choice.delta.content)
        finally:
            # Runs on normal end, on error and when the caller closes us (the browser went away): the server
            # sees the connection close and stops generating.
            upstream.close()
        raw = "".join(parts)
        value = parse_answer(raw, schema, plain=self._mode == "text")
        yield Completion(value, raw, self._model, usage, _ms_since(started), self._mode)

    def _create(self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions, *, stream: bool) -> Any:
        """Send the request in this server's output mode, finding the mode on the first call and remembering it."""
        client = self._client
        while not self._confirmed:
            # The first request goes out without the SDK's retries: llama-cpp-python refuses json_schema with a
            # 500, which the SDK would otherwise retry twice before the refusal could be read.
            mode = self._mode
            probe = partial(self._send, client.with_options(max_retries=0), messages, schema, options, mode, stream)
            try:
                response = _translate(probe, self._timeout)
            except _SchemaUnsupported:
                self._mode = OUTPUT_MODES[OUTPUT_MODES.index(mode) + 1]
                log.info("%s refused %s output; asking for %s from now on", self._model, mode, self._mode)
                continue
            except LlmError as error:
                if error.kind not in RETRIED_KINDS or self._retries == 0:
                    raise
                # A passing failure, not a refusal: the retries the SDK would have made, less the probe.
                client = client.with_options(max_retries=self._retries - 1)
                break
            self._confirmed = True
            return response
        send = partial(self._send, client, messages, schema, options, self._mode, stream)
        return _translate(send, self._timeout)

    def _send(
        self,
        client: openai.OpenAI,
        messages: Sequence[ChatMessage],
        schema: type[T],
        options: CallOptions,
        mode: OutputMode,
        stream: bool,
    ) -> Any:
        extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream else {}
        if mode == "json_schema":
            extra["response_format"] = schema_format(schema)
        elif mode == "json_object":
            # "schema" beside json_object is llama-cpp-python's way to constrain output; other servers ignore it.
            extra["response_format"] = {"type": "json_object", "schema": schema.model_json_schema()}
        # `create` is overloaded on the literal value of `stream`; one call site serves both.
        create: Any = client.chat.completions.create
        try:
            return create(
                model=self._model,
                messages=[dict(message) for message in messages],
                temperature=options.temperature,
                seed=options.seed,
                max_tokens=options.max_tokens,
                stream=stream,
                **extra,
            )
        except openai.APIStatusError as error:
            # OpenAI-compatible servers refuse an unknown response_format with 400, 422 (FastAPI validation)
            # or even 500 (llama-cpp-python wraps validation errors): the message, not the status, tells.
            if mode != "text" and error.status_code in (400, 422, 500) and _schema_rejected(error):
                raise _SchemaUnsupported from error
            raise


class _SchemaUnsupported(Exception):
    """Internal signal: retry this call in json_object mode."""


def _guarded(chunks: Iterator[Any]) -> Iterator[Any]:
    """Translate SDK errors raised while a stream is being read."""
    while (chunk := _translate(lambda: next(chunks, None), None)) is not None:
        yield chunk


def _translate(call: Any, timeout: float | None) -> Any:
    """Run an SDK call and map its exceptions onto LlmError subclasses with readable messages."""
    try:
        return call()
    except _SchemaUnsupported:
        raise
    except openai.APITimeoutError:
        after = f" within {timeout:g} seconds" if timeout else ""
        raise LlmTimeout(f"The model did not answer{after}. Try again, or ask for fewer variants.") from None
    except openai.APIConnectionError:
        raise LlmConnectionError("The model server could not be reached. Check LLM_BASE_URL.") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        raise LlmAuthError("The model server refused the API key (LLM_API_KEY).") from None
    except openai.RateLimitError:
        raise LlmRateLimited("The model server is rate-limiting requests. Wait a minute and try again.") from None
    except openai.InternalServerError as error:
        raise LlmServerError(f"The model server failed ({error.status_code}). Try again in a moment.") from None
    except openai.APIStatusError as error:
        raise LlmError(f"The model server refused the request ({error.status_code}): {_short(error)}") from None
    except httpx2.TimeoutException:
        # A stream that stalls mid-way surfaces as the transport's own read timeout.
        raise LlmTimeout("The model stopped answering part-way. Try again.") from None
    except httpx2.HTTPError:
        raise LlmConnectionError("The connection to the model server broke off. Try again.") from None


def _short(error: openai.APIStatusError) -> str:
    return str(error.message)[:200]


def _ms_since(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))


@dataclass
class RecordedCall:
    """One call a `ScriptedModel` received."""

    messages: list[ChatMessage]
    options: CallOptions


@dataclass
class ScriptedModel:
    """A `LanguageModel` that answers from a script, for tests, benchmarks and demos without a server.

    Each answer is the raw text the model "returns" (validated like a real answer) or an LlmError to raise.
    When the script runs out, the last answer repeats.
    """

    answers: list[str | LlmError]
    model_name: str = "scripted"
    chunk_size: int = 8
    calls: list[RecordedCall] = field(default_factory=list)

    def _next(self, messages: Sequence[ChatMessage], options: CallOptions) -> str:
        index = min(len(self.calls), len(self.answers) - 1)
        self.calls.append(RecordedCall(list(messages), options))
        answer = self.answers[index]
        if isinstance(answer, LlmError):
            raise answer
        return answer

    def complete(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Completion[T]:
        """Return the next scripted answer, validated."""
        raw = self._next(messages, options)
        return Completion(parse_answer(raw, schema), raw, self.model_name, _usage_of(messages, raw), 0, "json_schema")

    def stream(
        self, messages: Sequence[ChatMessage], schema: type[T], options: CallOptions = CallOptions()
    ) -> Iterator[StreamItem]:
        """Yield the next scripted answer in small pieces, then the validated completion."""
        raw = self._next(messages, options)
        for start in range(0, len(raw), self.chunk_size):
            yield TextDelta(raw[start : start + self.chunk_size])
        yield Completion(parse_answer(raw, schema), raw, self.model_name, _usage_of(messages, raw), 0, "json_schema")


def _usage_of(messages: Sequence[ChatMessage], raw: str) -> Usage:
    """Return a rough usage for scripted answers (4 characters a token), so records are never empty."""
    return Usage(sum(len(m["content"]) for m in messages) // 4, len(raw) // 4)
