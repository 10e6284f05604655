"""Import posts from CSV or JSON (all or nothing, every bad row listed) and export them."""

from flask import abort, flash, redirect, render_template, request, stream_with_context, url_for
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.core.errors import DomainError
from characters.posting.transfer import MAX_IMPORT_BYTES, Format, ImportRejected, export_posts, import_posts
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.posts import bp


@bp.route("/transfer", methods=["GET", "POST"])
def transfer() -> str | Response | tuple[str, int]:
    """Show the import form and export links; on upload, import every row or none."""
    member = current_member()
    if request.method == "GET":
        return render_template("posts/transfer.html", errors=[], message=None)
    member.require(Action.DRAFT)
    if not EmptyForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    raw = upload.read(MAX_IMPORT_BYTES + 1) if upload is not None and upload.filename else b""
    fmt: Format = "json" if (upload and (upload.filename or "").lower().endswith(".json")) \
        or request.form.get("format") == "json" else "csv"
    try:
        with unit_of_work() as db:
            posts = import_posts(session=db, member=member, raw=raw, fmt=fmt)
    except ImportRejected as rejected:
        return render_template("posts/transfer.html", errors=rejected.errors, message=rejected.message), 400
    except DomainError as error:
        return render_template("posts/transfer.html", errors=[], message=error.message), 400
    flash(f"Imported {len(posts)} draft{'s' if len(posts) != 1 else ''}.", "success")
    return redirect(url_for("posts.index", status="draft"))


@bp.route("/export.<any(csv, json):fmt>")
def export(fmt: Format) -> Response:
    """Download every post of the workspace, streamed as it is read (memory stays flat at any size)."""
    member = current_member()
    body = export_posts(get_session(), member.workspace, fmt)
    response = Response(stream_with_context(body), mimetype="text/csv" if fmt == "csv" else "application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{member.workspace.slug}-posts.{fmt}"'
    return response
