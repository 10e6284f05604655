"""Drafting help for the post editor: model-written variants (JSON or server-sent events), threads, hashtags.

The model comes from `app.extensions["greenroom.llm"]` when a test or another entry point put one there;
otherwise it is built once from LLM_BASE_URL/LLM_MODEL. Without those settings generation is off and says so,
while splitting into a thread and hashtag suggestions keep working.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, abort, current_app, jsonify, render_template, request, stream_with_context
from sqlmodel import Session

from characters.accounts.workspaces import Action, Member
from characters.bibles.bible import current_card, get_character, list_characters
from characters.bibles.card_data import CardData
from characters.consistency.checker import card_key
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Character
from characters.core.platforms import PLATFORMS as PLATFORM_TABLE
from characters.drafting.jobs import (
    DraftInputError,
    DraftJob,
    Event,
    JobKind,
    collect,
    generate_job,
    list_generations,
    recent_posts,
    record_generation,
    reply_job,
    rewrite_job,
    run_job,
    suggest_hashtags,
)
from characters.drafting.prompting import DEFAULT_BUDGET
from characters.llm.adapter import LanguageModel, OpenAIChatModel
from characters.posting.threads import split_for_platform, thread_hashtag
from characters.posting.workflow import recent_published
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work

bp = workspace_blueprint("drafting", __name__, "/drafting")

LLM_EXTENSION = "greenroom.llm"
PLATFORMS = tuple(PLATFORM_TABLE)
DISABLED_REASON = "Generation is off: no language model is configured (LLM_BASE_URL and LLM_MODEL are empty)."
JOB_KINDS: tuple[JobKind, ...] = ("generate", "rewrite", "reply")


def language_model() -> LanguageModel | None:
    """Return the app's model, building the configured adapter on first use; None when none is configured."""
    app = current_app
    if LLM_EXTENSION not in app.extensions:
        settings = app.extensions["greenroom.settings"]
        configured = bool(settings.llm_base_url.strip() and settings.llm_model.strip())
        app.extensions[LLM_EXTENSION] = OpenAIChatModel.from_settings(settings) if configured else None
    model: LanguageModel | None = app.extensions[LLM_EXTENSION]
    return model


def drafting_status() -> dict[str, Any]:
    """Return whether generation is available here, and why not (for the assist panel)."""
    model = language_model()
    return {
        "enabled": model is not None,
        "model": model.model_name if model is not None else None,
        "reason": "" if model is not None else DISABLED_REASON,
        "platforms": PLATFORMS,
    }


@bp.app_context_processor
def _assist_helpers() -> dict[str, Callable[[], dict[str, Any]]]:
    # A function, not a value: only pages that include the panel pay for the lookup.
    return {"drafting_status": drafting_status}


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[Response, int]:
    status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, PermissionDenied) else 400
    return jsonify(error=error.message, field=error.field), status


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    return value if isinstance(value, str) else ""


def _count(payload: dict[str, Any], default: int) -> int:
    try:
        return int(payload.get("n", default))
    except (TypeError, ValueError):
        raise DraftInputError("The number of variants must be a whole number.", field="n") from None


def _character(db: Session, member: Member, payload: dict[str, Any]) -> tuple[Character, CardData]:
    slug = _text(payload, "character")
    if not slug:
        raise DraftInputError("Pick a character first.", field="character")
    character = get_character(db, member.workspace, slug)
    return character, current_card(db, character)


def _job(
    kind: JobKind, db: Session, member: Member, character: Character, card: CardData, payload: dict[str, Any]
) -> DraftJob:
    """Build the domain job from the request body."""
    others = [current_card(db, c) for c in list_characters(db, member.workspace) if c.id != character.id]
    common: dict[str, Any] = {
        # A deployment on a slow CPU model may want a smaller prompt than the default (see docs/drafting.md).
        "budget": int(current_app.config.get("DRAFTING_PROMPT_BUDGET", DEFAULT_BUDGET)),
        "platform": _text(payload, "platform") or None,
        "recent_posts": recent_posts(db, character),
        "published": recent_published(db, character),  # what a variant must not repeat
        "cache_key": card_key(card),
        "others": others,
    }
    if kind == "generate":
        return generate_job(card, _text(payload, "brief"), n=_count(payload, 3), **common)
    if kind == "rewrite":
        return rewrite_job(card, _text(payload, "draft"), _text(payload, "mode"), n=_count(payload, 1), **common)
    return reply_job(card, _text(payload, "post"), n=_count(payload, 3), brief=_text(payload, "brief"), **common)


def _prepare(kind: str) -> tuple[LanguageModel, DraftJob, Member, Character]:
    """Check permission, configuration and input; return what a job needs."""
    member = current_member()
    member.require(Action.DRAFT)
    if kind not in JOB_KINDS:
        raise NotFound("No such drafting action.")
    model = language_model()
    if model is None:
        raise _Unavailable(DISABLED_REASON)
    db = get_session()
    character, card = _character(db, member, _payload())
    job = _job(kind, db, member, character, card, _payload())
    # The stream may run for a minute: hold no database transaction open meanwhile.
    db.commit()
    return model, job, member, character


class _Unavailable(DomainError):
    """Generation was asked for but no model is configured."""


@bp.errorhandler(_Unavailable)
def _unavailable(error: _Unavailable) -> tuple[Response, int]:
    return jsonify(error=error.message, field=None), 503


def _recorded(events: Iterator[Event], member: Member, character: Character, kind: JobKind) -> Iterator[Event]:
    """Record each variant's cost as it completes and strip what the browser does not need."""
    for event in events:
        if event.name in ("variant", "variant_error") or (
            event.name == "error" and event.data.get("variant") is not None
        ):
            with unit_of_work() as db:
                record_generation(session=db, member=member, character=character, kind=kind, event=event)
        if event.name == "variant":
            event = Event(event.name, {k: v for k, v in event.data.items() if k != "calls"})
        yield event


@bp.post("/<kind>")
def run(kind: str) -> tuple[Response, int]:
    """Run a drafting job and answer with every variant at once (JSON)."""
    model, job, member, character = _prepare(kind)
    answer = collect(_recorded(run_job(model, job, stream=False), member, character, job.kind))
    if answer["error"] and not answer["variants"]:
        return jsonify({**answer, "error": answer["error"]["message"], "kind": answer["error"]["kind"]}), 502
    return jsonify(answer), 200


@bp.post("/<kind>/stream")
def stream(kind: str) -> Response:
    """Run a drafting job as server-sent events; the job stops when the browser goes away."""
    model, job, member, character = _prepare(kind)
    disconnected = request.environ.get("waitress.client_disconnected", lambda: False)

    def events() -> Iterator[str]:
        for event in _recorded(run_job(model, job, stream=True), member, character, job.kind):
            if disconnected():
                return  # closing this generator closes the model's stream too
            yield f"event: {event.name}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _tool_input() -> tuple[dict[str, Any], CardData]:
    """Check that the member may draft; return the request body and the character's card."""
    member = current_member()
    member.require(Action.DRAFT)
    payload = _payload()
    return payload, _character(get_session(), member, payload)[1]


@bp.post("/thread")
def thread() -> tuple[Response, int]:
    """Split the draft into thread parts by the platform's limit (no model involved)."""
    payload, card = _tool_input()
    platform = _text(payload, "platform") or None
    if platform not in (None, *PLATFORMS):
        raise DraftInputError(f"Unknown platform {platform!r}.", field="platform")
    text = _text(payload, "draft")
    if not text.strip():
        raise DraftInputError("Write a draft first.", field="draft")
    max_chars = card.greenroom.voice.max_chars
    if platform is None and max_chars is None:
        raise DraftInputError("Pick a platform to split for.", field="platform")
    numbered = payload.get("numbered", True) is not False
    parts = split_for_platform(text, platform, max_chars=max_chars, numbered=numbered, carry=thread_hashtag(card, text))
    return jsonify(parts=parts, platform=platform), 200


@bp.post("/hashtags")
def hashtags() -> tuple[Response, int]:
    """Suggest hashtags from the character's own list that suit the draft (no model involved)."""
    payload, card = _tool_input()
    policy = card.greenroom.voice.hashtags
    return jsonify(
        hashtags=suggest_hashtags(card, _text(payload, "draft")),
        max=policy.max,
        allowed=policy.required + policy.allowed,
    ), 200


@bp.get("/generations")
def generations() -> str:
    """List the workspace's recent generations: model, tokens, latency, repairs (owners and editors)."""
    member = current_member()
    if not member.can(Action.APPROVE):
        abort(403)  # an HTML page: the styled error page, not the JSON the drafting endpoints answer with
    rows = list_generations(get_session(), member)
    return render_template("drafting/generations.html", rows=rows)
