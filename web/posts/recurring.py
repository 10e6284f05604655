"""Recurring (evergreen) posts: draft a rule, have it reviewed, see its upcoming occurrences."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action, Member
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Character, utcnow
from characters.posting.recurring import (
    RuleInput,
    approve_rule,
    create_rule,
    get_rule,
    list_rules,
    reject_rule,
    rule_actions,
    rule_overview,
    stop_rule,
    submit_rule,
)
from characters.posting.rhythm import local_to_utc, zone_named
from characters.posting.transfer import PART_SEPARATOR
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.formtools import FieldErrors, save_form
from web.posts import bp
from web.posts.present import character_zone, int_arg, viewer_zone


@bp.route("/recurring", methods=["GET", "POST"])
def rules() -> str | Response | tuple[str, int]:
    """List recurring rules and draft a new one."""
    member = current_member()
    characters = list_characters(get_session(), member.workspace)
    errors: FieldErrors = {}
    if request.method == "POST":
        member.require(Action.DRAFT)
        if not EmptyForm().validate_on_submit():
            abort(400)
        rule, errors = save_form(lambda db: create_rule(session=db, member=member, data=_rule_input(characters)))
        if rule is not None:
            flash("Recurring rule saved as a draft; submit it for review.", "success")
            return redirect(url_for("posts.rule", rule_id=rule.id))
    page = render_template("posts/recurring.html", rules=list_rules(get_session(), member.workspace),
                           characters=characters, errors=errors, form=request.form, zone=viewer_zone())
    return (page, 400) if errors else page


def _rule_input(characters: list[Character]) -> RuleInput:
    """Read the rule form; dates are local to the chosen zone (the character's by default)."""
    form = request.form
    character = next((c for c in characters if c.id == int_arg(form.get("character"))), None)
    if character is None:
        raise DomainError("Pick a character.", field="character")
    zone_name = form.get("timezone", "").strip()[:64] or character_zone(character).key
    zone = zone_named(zone_name)
    starts = _local_date(form.get("starts_on", ""), zone, "start") or utcnow()
    ends = _local_date(form.get("ends_on", ""), zone, "end")
    hours = int_arg(form.get("interval_hours"))
    return RuleInput.model_validate({
        "character_id": character.id, "parts": form.get("text", "")[:200_000].replace("\r\n", "\n")
        .split(PART_SEPARATOR), "kind": "interval" if form.get("kind") == "interval" else "weekly",
        "interval_minutes": hours * 60 if hours is not None else None, "weekdays": form.get("weekdays", "")[:64],
        "local_time": form.get("local_time", "09:00")[:5], "timezone": zone_name, "starts_at": starts,
        "ends_at": ends + timedelta(days=1) if ends else None, "max_count": int_arg(form.get("max_count"))})


def _local_date(value: str, zone: ZoneInfo, what: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        raise DomainError(f"The {what} date must look like 2026-12-31.", field=f"{what}s_on") from None
    return local_to_utc(day, time(0), zone)


@bp.route("/recurring/<int:rule_id>", methods=["GET", "POST"])
def rule(rule_id: int) -> str | Response:
    """One rule: its text, timing, next occurrences and materialized posts; submit, approve, reject, stop."""
    member = current_member()
    overview = rule_overview(get_session(), member.workspace, rule_id, utcnow())
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        _act(member, rule_id, request.form.get("op", ""))
        return redirect(url_for("posts.rule", rule_id=rule_id))
    return render_template("posts/rule.html", rule=overview.rule, character=overview.character,
                           posts=overview.posts, upcoming=overview.upcoming,
                           actions=rule_actions(member, overview.rule), zone=zone_named(overview.rule.timezone))


def _act(member: Member, rule_id: int, op: str) -> None:
    """Run one review operation on the rule and flash what happened (or why not)."""
    if op not in ("submit", "approve", "reject", "stop"):
        abort(400)
    version = int_arg(request.form.get("version")) or 0
    try:
        with unit_of_work() as db:
            item = get_rule(db, member.workspace, rule_id)
            if op == "submit":
                submit_rule(session=db, member=member, rule=item, expected_version=version)
                message = "Rule submitted for review."
            elif op == "approve":
                approve_rule(session=db, member=member, rule=item, expected_version=version,
                             override_reason=request.form.get("override_reason", ""))
                message = "Rule approved: its posts are created two weeks ahead, approved."
            elif op == "reject":
                reject_rule(session=db, member=member, rule=item, expected_version=version,
                            comment=request.form.get("comment", ""))
                message = "Rule sent back to draft."
            else:
                cancelled = stop_rule(session=db, member=member, rule=item, expected_version=version)
                message = f"Rule stopped; {cancelled} upcoming post{'s' if cancelled != 1 else ''} cancelled."
    except (PermissionDenied, NotFound):
        raise  # a 403/404 page, not a flash: the request itself was not allowed
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(message, "success")
