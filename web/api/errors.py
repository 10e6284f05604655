"""Every API failure as JSON of one shape, `{"error": {"code", "message", "details"}}`, with the right status.

Domain errors map by kind: NotFound 404, PermissionDenied 403, Conflict 409 (a stale version also carries
both versions), and a plain DomainError is 422 when it names the field at fault (the input is wrong) and 409
when it does not (the thing is in a state that does not allow it, e.g. approving a draft).
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from characters.core.errors import Conflict, DomainError, NotFound, PermissionDenied, readable_validation_message
from characters.posting.workflow import CheckFailed

API_PREFIX = "/api/"
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error",
    428: "precondition_required", 429: "rate_limited", 500: "internal_error",
}
MESSAGES = {
    404: "There is nothing at this address of the API.",
    405: "This address does not accept that method.",
    413: "The request body is larger than Greenroom accepts.",
    429: "Too many requests for this token; wait and try again.",
    500: "Something went wrong on our side; nothing was half-saved.",
}


class ApiError(Exception):
    """A refusal the API reports as it is: status, stable code, message and optional details."""

    def __init__(self, status: int, message: str, *, code: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(status: int, message: str, *, code: str | None = None, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """Return the JSON error response."""
    response = jsonify(error={"code": code or CODES.get(status, "error"), "message": message, "details": details})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def api_error_response(error: ApiError) -> Response:
    """Return the JSON response for an ApiError."""
    return error_response(error.status, error.message, code=error.code, details=error.details, headers=error.headers)


def validation_details(error: ValidationError) -> list[dict[str, str]]:
    """Return pydantic's findings as plain, JSON-safe items (never echoing the input back), worded as the forms are."""
    return [field_detail(".".join(str(part) for part in item["loc"]) or "body",
                         readable_validation_message(item["msg"]), item["type"])
            for item in error.errors(include_url=False, include_context=False, include_input=False)]


def field_detail(field: str, message: str, kind: str) -> dict[str, str]:
    """One finding about one field of the request, as every 422's details list them."""
    return {"field": field, "message": message, "type": kind}


def validation_error(error: ValidationError) -> ApiError:
    """Return the 422 for a request that does not match its schema."""
    details = validation_details(error)
    first = details[0] if details else field_detail("body", "Invalid", "value_error")
    return ApiError(422, f"{first['field']}: {first['message']}", details=details)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    message = MESSAGES.get(status) or error.description or CODES.get(status, "error")
    return error_response(status, message, headers=headers)


def _invalid(error: ValidationError) -> Response:
    return api_error_response(validation_error(error))


def _check_failed(error: CheckFailed) -> Response:
    return error_response(422, error.message, code="check_failed", details=error.check.to_dict())


def _answer_with(status: int) -> Callable[[DomainError], Response]:
    return lambda error: error_response(status, error.message)


def _conflict(error: Conflict) -> Response:
    return error_response(409, error.message, details={"field": error.field} if error.field else None)


def _domain(error: DomainError) -> Response:
    if error.field:
        return error_response(422, error.message, details=[field_detail(error.field, error.message, "domain")])
    return error_response(409, error.message, code="invalid_state")


def _unexpected(error: Exception) -> Response:
    current_app.logger.exception("API request failed: %s %s", request.method, request.path)
    return error_response(500, MESSAGES[500])


def _unknown_api_address() -> Response | None:
    # Routing failures belong to no blueprint, so the blueprint's handlers never see them.
    routing_error = request.routing_exception
    if (isinstance(routing_error, HTTPException) and routing_error.code in (404, 405)
            and request.path.startswith(API_PREFIX)):
        return _http_error(routing_error)
    return None


# Flask picks the handler of the most specific class, so a NotFound never reaches `_domain`.
HANDLERS: tuple[tuple[type[Exception], Callable[[Any], Response]], ...] = (
    (ApiError, api_error_response), (ValidationError, _invalid), (CheckFailed, _check_failed),
    (NotFound, _answer_with(404)), (PermissionDenied, _answer_with(403)), (Conflict, _conflict), (DomainError, _domain),
    (HTTPException, _http_error), (Exception, _unexpected),
)


def register(bp: Blueprint) -> None:
    """Register the API's error handlers on its blueprint, and JSON 404/405 for unknown /api/ addresses."""
    for kind, handler in HANDLERS:
        bp.register_error_handler(kind, handler)
    bp.before_app_request(_unknown_api_address)
