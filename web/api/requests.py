"""What every API request must be before a view sees it: ids the database can hold, a body of the type the
operation reads, well-formed JSON that is an object, and no text the database cannot store.
"""

import json
from typing import Any

from flask import Blueprint, Response, current_app, request

from characters.core.db import DatabaseBusy
from web.api.errors import ApiError, error_response, field_detail
from web.api.schemas import MAX_DB_INT
from web.api.spec import spec
from web.database import SAFE_METHODS
from web.errors import BUSY_RETRY_AFTER

JSON_TYPE = "application/json"
FORM_TYPE = "multipart/form-data"


def _check_ids() -> None:
    """Answer 404 for ids beyond the database's integers: no such row can exist (PostgreSQL would raise)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_DB_INT:
            raise ApiError(404, "There is no such thing here.")


def _check_content_type() -> None:
    """Refuse a body in a media type the operation does not read, instead of reading it as empty."""
    if request.method in SAFE_METHODS or request.endpoint is None:
        return
    metadata = spec.get_function_metadata(current_app.view_functions[request.endpoint])
    expected = JSON_TYPE if metadata and metadata.json else FORM_TYPE if metadata and metadata.form else None
    if expected == FORM_TYPE and request.mimetype != FORM_TYPE:
        raise ApiError(415, "Send the file as multipart/form-data, in the field `file`.")
    if expected == JSON_TYPE and request.mimetype != JSON_TYPE and request.get_data(cache=True).strip():
        raise ApiError(415, "Send the body as JSON, with Content-Type: application/json.")


def _check_body() -> None:
    """Refuse a JSON body that is malformed, not an object, or holds text no database can store."""
    if request.method in SAFE_METHODS or request.mimetype != JSON_TYPE:
        return
    raw = request.get_data(cache=True)
    if not raw.strip():
        return
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"The body is not valid JSON: {str(error)[:120]}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.",
                       details=[field_detail("body", "Expected an object", "model_type")])
    _refuse_unstorable(body, "body")


def _check_parameters() -> None:
    for name, value in request.args.items(multi=True):
        _refuse_unstorable(value, name)
    if any(isinstance(value, str) and not _storable(value) for value in (request.view_args or {}).values()):
        raise ApiError(404, "There is no such thing here.")


def _refuse_unstorable(value: Any, where: str) -> None:
    """Refuse NUL characters and lone surrogates anywhere in `value`: PostgreSQL text can hold neither."""
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key, where)
            _refuse_unstorable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unstorable(item, f"{where}.{index}")
    elif isinstance(value, str) and not _storable(value):
        raise ApiError(422, f"{where}: text may not contain NUL characters or unpaired surrogates.",
                       details=[field_detail(where, "Unstorable character", "string_chars")])


def _storable(text: str) -> bool:
    """Return whether PostgreSQL can store `text`: no NUL character, no unpaired surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _database_busy(error: DatabaseBusy) -> Response:
    """Answer 503 when other writers kept the database locked through every attempt; trying again is safe."""
    return error_response(503, str(error), code="database_busy", headers=BUSY_RETRY_AFTER)


def register(bp: Blueprint) -> None:
    """Check every API request's ids, media type, body and parameters before any view runs; a busy database is 503."""
    for check in (_check_ids, _check_content_type, _check_parameters, _check_body):
        bp.before_request(check)
    # Registered on the blueprint: its catch-all handler would otherwise answer 500 before the app's 503.
    bp.register_error_handler(DatabaseBusy, _database_busy)
