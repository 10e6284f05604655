"""The audience inbox: conversations with each character, who answers them, and the in-character reply.

Thin views: parse the form, call characters.listening, flash what happened (or why not), go back.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action, Member
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Conversation, ConversationStatus, Post, require_id, utcnow
from characters.listening.inbox import (
    NETWORKS,
    InboxFilters,
    View,
    assignable_members,
    author_history,
    available_actions,
    change_state,
    character_of_conversation,
    get_conversation,
    inbox_counts,
    is_overdue,
    list_conversations,
    post_label,
    response_target,
    waited,
)
from characters.listening.metrics import metrics_csv, overall, response_metrics
from characters.listening.replies import (
    approve_reply,
    channel_of,
    create_reply,
    disabled_note,
    may_send_own,
    reply_context,
    reply_limit,
    reply_summary,
    require_reply,
    send_own_reply,
    subject_of,
    thread_of,
)
from characters.posting.posts import get_post, user_names
from characters.posting.rhythm import zones_of
from characters.posting.workflow import CheckFailed, StaleVersion, allowed_actions, reject_post, submit_post
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.judging import configured_judge, score_headline, submitted_message
from web.posts.present import int_arg, parse_local, viewer_zone
from web.templating import format_datetime

bp = workspace_blueprint("conversations", __name__, "/conversations")
MAX_TEXT = 100_000  # read at most this much of a posted reply; the domain refuses anything over the network's limit
STATE_MESSAGES = {
    "assign": "Assigned to {assignee}.",
    "unassign": "Given back: it is open for anyone to take.",
    "dismiss": "Dismissed: it leaves the waiting list.",
    "mark_replied": "Marked as replied.",
    "reopen": "Reopened: it waits for an answer again.",
}


def waited_words(minutes: float) -> str:
    """Say a waiting time the way people do: "45 min", "3 h 5 min", "2 d 4 h"."""
    total = int(minutes)
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def _filters() -> InboxFilters:
    args = request.args
    try:
        view = View(args.get("view") or View.WAITING.value)
    except ValueError:
        view = View.WAITING
    assignee_arg = (args.get("assignee") or "").strip()
    assignee: int | str | None = assignee_arg if assignee_arg in ("me", "none") else int_arg(assignee_arg)
    network = args.get("network") if args.get("network") in NETWORKS else None
    return InboxFilters(view=view, character_id=int_arg(args.get("character")), network=network, assignee=assignee,
                        query=(args.get("q") or "")[:200], page=int_arg(args.get("page")) or 1)


@bp.route("/")
def index() -> str:
    """List the workspace's conversations, filtered and searched, with response times per character."""
    member = current_member()
    db = get_session()
    filters = _filters()
    now = utcnow()
    page = list_conversations(db, member, filters, now)
    characters = list_characters(db, member.workspace)
    stats = overall(response_metrics(db, member.workspace, now=now, per_week=False))
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "conversations/index.html", page=page, filters=filters, views=list(View), characters=characters,
        networks=NETWORKS, people=assignable_members(db, member.workspace), stats=stats, args=args,
        target_minutes=member.workspace.response_target_minutes, zone=viewer_zone(), waited_words=waited_words,
        narrowed=filters != InboxFilters(page=filters.page))


@bp.route("/metrics.csv")
def metrics_export() -> Response:
    """Download the response times per character and ISO week as CSV."""
    member = current_member()
    response = make_response(metrics_csv(response_metrics(get_session(), member.workspace)))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{member.workspace.slug}-response-times.csv"'
    return response


@bp.route("/<int:conversation_id>")
def detail(conversation_id: int) -> str:
    """Show one conversation: the thread as the audience sees it, its signals, its replies and the reply box."""
    member = current_member()
    db = get_session()
    conversation = get_conversation(db, member.workspace, conversation_id)
    character = character_of_conversation(db, conversation)
    zone = zones_of(db, [character])[require_id(character)]
    now = utcnow()
    replies = reply_summary(db, conversation)
    pending = replies["pending"]
    channel = channel_of(db, conversation)
    return render_template(
        "conversations/detail.html", conversation=conversation, character=character, char_zone=zone,
        thread=thread_of(conversation), actions=available_actions(member, conversation),
        this_label=post_label(conversation), subject=subject_of(db, conversation), channel=channel,
        channel_note=disabled_note(channel),
        overdue=is_overdue(conversation, member.workspace, now),
        waited=waited_words(waited(conversation, now).total_seconds() / 60),
        target_minutes=int(response_target(member.workspace).total_seconds() // 60),
        earlier=author_history(db, conversation), people=assignable_members(db, member.workspace),
        replies=replies, pending_actions=allowed_actions(member, pending[0]) if pending else {},
        send_own=may_send_own(member), limit=reply_limit(conversation),
        context=reply_context(conversation, character.name), zone=viewer_zone(),
        assignee=_name(db, conversation.assignee_id), text=request.args.get("text", "")[:MAX_TEXT],
        posted=lambda value: _posted(value, viewer_zone().key))


def _posted(value: str | None, zone: str) -> str:
    """Show a thread post's time (ISO 8601 from the network) in the viewer's zone; "" when unreadable."""
    try:
        moment = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return ""
    return format_datetime(moment, zone) if moment.tzinfo else ""


def _when(moment: datetime, char_zone: str) -> str:
    """Say a time in the viewer's zone, and in the character's too when that differs (as posts' due lines do)."""
    viewer = viewer_zone().key
    shown = format_datetime(moment, viewer)
    return shown if viewer == char_zone else f"{shown} ({format_datetime(moment, char_zone)} character time)"


def _name(db: Any, user_id: int | None) -> str | None:
    return user_names(db, {user_id}).get(user_id) if user_id is not None else None


def _run(conversation_id: int, action: Callable[[Any, Member, Conversation], str], *,
         anchor: str = "#actions") -> Response:
    """Run one action in a transaction; flash its message or the refusal, then show the conversation again."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    try:
        with unit_of_work() as db:
            message = action(db, member, get_conversation(db, member.workspace, conversation_id))
    except StaleVersion as stale:
        flash(f"{stale.message} Nothing was changed; look at the latest version and try again.", "error")
    except CheckFailed as failed:
        flash(f"{failed.message} ({score_headline(failed.check.score, failed.check.verdict)})", "error")
    except (PermissionDenied, NotFound):
        raise
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(message, _category(message))
    return redirect(url_for("conversations.detail", conversation_id=conversation_id) + anchor)


def _expected() -> ConversationStatus:
    try:
        return ConversationStatus(request.form.get("expected", ""))
    except ValueError:
        raise DomainError("This form is missing the conversation's status; reload the page and try again.") from None


@bp.post("/<int:conversation_id>/state")
def state(conversation_id: int) -> Response:
    """Take, assign, give back, dismiss, mark replied or reopen a conversation."""
    action = (request.form.get("action") or "")[:40]

    def act(db: Any, member: Member, conversation: Conversation) -> str:
        assignee_id = int_arg(request.form.get("assignee"))
        change_state(db, member, conversation, action, expected=_expected(), assignee_id=assignee_id,
                     reason=(request.form.get("reason") or "")[:5000])
        assignee = _name(db, conversation.assignee_id) or "you"
        if conversation.assignee_id == member.user.id:
            assignee = "you"
        return STATE_MESSAGES.get(action, "Done.").format(assignee=assignee)

    return _run(conversation_id, act)


@bp.post("/<int:conversation_id>/reply")
def reply(conversation_id: int) -> Response:
    """Save the reply as a draft, submit it for review, or (where allowed) send an editor's own reply."""
    op = request.form.get("op", "save")
    text = (request.form.get("text") or "")[:MAX_TEXT]
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    try:
        with unit_of_work() as db:
            conversation = get_conversation(db, member.workspace, conversation_id)
            post = create_reply(db, member, conversation, text)
            message = "Reply saved as a draft."
            if op == "submit":
                check = submit_post(session=db, member=member, post=post, expected_version=post.version,
                                    judge=configured_judge())
                message = submitted_message(check.score, check.verdict)
            elif op == "send":
                send_own_reply(db, member, post, expected_version=post.version,
                               override_reason=request.form.get("override_reason"), judge=configured_judge())
                message = _with_channel_state(db, conversation, "Reply approved: it goes out now.")
    except CheckFailed as failed:
        flash(f"{failed.message} ({score_headline(failed.check.score, failed.check.verdict)}) Nothing was saved.",
              "error")
        return redirect(url_for("conversations.detail", conversation_id=conversation_id, text=text) + "#reply")
    except (PermissionDenied, NotFound):
        raise
    except DomainError as error:
        flash(f"{error.message} Nothing was saved.", "error")
        return redirect(url_for("conversations.detail", conversation_id=conversation_id, text=text[:4000])
                        + "#reply")
    flash(message, _category(message))
    return redirect(url_for("conversations.detail", conversation_id=conversation_id) + "#replies")


def _reply_action(conversation_id: int, post_id: int, act: Callable[[Any, Member, Post, int], str]) -> Response:
    def run(db: Any, member: Member, conversation: Conversation) -> str:
        post = get_post(db, member.workspace, post_id)
        if require_reply(db, member, post).id != conversation.id:
            raise NotFound("No such reply to this conversation.")
        version = int_arg(request.form.get("version"))
        if version is None:
            raise DomainError("This form is missing the reply's version; reload the page and try again.")
        return act(db, member, post, version)

    return _run(conversation_id, run, anchor="#replies")


@bp.post("/<int:conversation_id>/replies/<int:post_id>/submit")
def submit(conversation_id: int, post_id: int) -> Response:
    """Send a reply draft to review."""
    def act(db: Any, member: Member, post: Post, version: int) -> str:
        check = submit_post(session=db, member=member, post=post, expected_version=version, judge=configured_judge())
        return submitted_message(check.score, check.verdict)

    return _reply_action(conversation_id, post_id, act)


@bp.post("/<int:conversation_id>/replies/<int:post_id>/approve")
def approve(conversation_id: int, post_id: int) -> Response:
    """Approve a reply: it goes out at once, or at the time given (in the character's zone)."""
    def act(db: Any, member: Member, post: Post, version: int) -> str:
        when = (request.form.get("due_local") or "").strip()
        conversation = get_conversation(db, member.workspace, conversation_id)
        zone = zones_of(db, [character_of_conversation(db, conversation)])[conversation.character_id]
        due = parse_local(when, zone) if when else None
        approve_reply(db, member, post, expected_version=version, due_at=due,
                      override_reason=request.form.get("override_reason"), judge=configured_judge())
        message = f"Reply approved: it goes out {_when(due, str(zone))}." if due else "Reply approved: it goes out now."
        return _with_channel_state(db, conversation, message)

    return _reply_action(conversation_id, post_id, act)


@bp.post("/<int:conversation_id>/replies/<int:post_id>/send")
def send(conversation_id: int, post_id: int) -> Response:
    """An editor sends their own reply (where the owners allow it)."""
    def act(db: Any, member: Member, post: Post, version: int) -> str:
        send_own_reply(db, member, post, expected_version=version,
                       override_reason=request.form.get("override_reason"), judge=configured_judge())
        return _with_channel_state(db, require_reply(db, member, post), "Reply approved: it goes out now.")

    return _reply_action(conversation_id, post_id, act)


class Caution(str):
    """A message that reports success with a catch: flashed as a warning."""


def _category(message: str) -> str:
    return "warning" if isinstance(message, Caution) else "success"


def _with_channel_state(db: Any, conversation: Conversation, approved: str) -> str:
    """Say what happens to an approved reply: it goes out, unless its channel is disabled (then nothing is sent)."""
    channel = channel_of(db, conversation)
    if channel is None or channel.disabled_at is None:
        return approved
    return Caution(f"Reply approved, but the channel “{channel.label}” is disabled: nothing is sent to it. Enable "
                   "the channel before the reply is due, or it fails (then edit it and approve it again).")


@bp.post("/<int:conversation_id>/replies/<int:post_id>/reject")
def reject(conversation_id: int, post_id: int) -> Response:
    """Send a reply in review back to its writer, saying what to change."""
    def act(db: Any, member: Member, post: Post, version: int) -> str:
        reject_post(session=db, member=member, post=post, expected_version=version,
                    comment=(request.form.get("comment") or "")[:5000])
        return "Sent back to the writer with your comment."

    return _reply_action(conversation_id, post_id, act)


@bp.app_context_processor
def _conversation_badge() -> dict[str, Any]:
    """Give the navigation the number of conversations waiting and overdue (computed only when a template asks)."""

    def conversation_counts() -> Any:
        member: Member | None = g.get("member")
        if member is None or not member.can(Action.VIEW):
            return None
        if "conversation_counts" not in g:
            g.conversation_counts = inbox_counts(get_session(), member.workspace)
        return g.conversation_counts

    return {"conversation_counts": conversation_counts}
