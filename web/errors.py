"""Styled error pages: a person always sees what went wrong and where to go next."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from characters.core.db import DatabaseBusy
from characters.core.errors import DomainError, NotFound, PermissionDenied
from web.database import read_only_session

_TITLES = {
    400: "That request could not be understood",
    403: "You don't have access to this",
    404: "Page not found",
    405: "That action isn't available here",
    413: "That upload is too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "The database is busy",
}
# A 503 for a busy database says when to come back; the API sends the same header (web/api/requests.py).
BUSY_RETRY_AFTER = {"Retry-After": "1"}


def render_error(status: int, message: str) -> tuple[str, int]:
    """Render the error page for `status` with a helpful message."""
    return render_template("error.html", status=status, title=_TITLES.get(status, "Error"),
                           message=message), status


def database_busy(error: DatabaseBusy) -> tuple[str, int, dict[str, str]]:
    """Answer 503, never 500, when other writers kept the database locked through every attempt."""
    read_only_session()  # the page reads (who is signed in); reading needs no lock
    return (*render_error(503, str(error)), BUSY_RETRY_AFTER)


def register_error_handlers(app: Flask) -> None:
    """Map HTTP errors and domain errors that escape a view onto styled pages."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(400, "Your form expired or was sent from elsewhere. Go back, reload the page "
                                 "and try again — nothing was saved.")

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound) -> tuple[str, int]:
        return render_error(404, error.message)

    @app.errorhandler(PermissionDenied)
    def _forbidden(error: PermissionDenied) -> tuple[str, int]:
        return render_error(403, error.message)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> tuple[str, int]:
        return render_error(400, error.message)

    app.register_error_handler(DatabaseBusy, database_busy)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        status = error.code or 500
        messages = {
            404: f"Nothing lives at {request.path}. Check the address or use the navigation above.",
            405: "This page doesn't accept that kind of request.",
            413: "The file is larger than Greenroom accepts. Try a smaller one.",
            429: "You've tried that too many times. Wait a minute and try again.",
        }
        return render_error(status, messages.get(status, error.description or ""))

    @app.errorhandler(500)
    def _internal(error: Exception) -> tuple[str, int]:
        return render_error(500, "The error has been logged. Nothing you entered was half-saved; "
                                 "please try again in a moment.")
