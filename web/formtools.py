"""The one form pattern: parse input with pydantic, call the domain, and put every error onto the field it names.

A view calls `run_form(lambda: domain_call(Model.model_validate(data)), field_map)`, or `save_form(lambda db: ...)`
to run the call in one unit of work; it gets the result or a `FieldErrors` (messages by field name, `FORM` for
the form as a whole). WTForms pages attach them with `apply_errors`; plain templates read `errors[name]` through
the `_forms.html` macros. See docs/forms.md.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from pydantic import ValidationError
from sqlmodel import Session

from characters.core.errors import DomainError, readable_validation_message
from web.database import unit_of_work

FORM = "form"
FieldErrors = dict[str, list[str]]
Result = TypeVar("Result")
LocationMap = Callable[[tuple[int | str, ...]], str]
# Form field names by model field name, or a function of pydantic's whole location; unmapped names pass through.
FieldMap = Mapping[str, str] | LocationMap | None


def run_form(action: Callable[[], Result], field_map: FieldMap = None) -> tuple[Result | None, FieldErrors]:
    """Run parse-and-call; return its result and no errors, or None and the errors by field."""
    try:
        return action(), {}
    except ValidationError as error:
        return None, validation_errors(error, field_map)
    except DomainError as error:
        return None, domain_errors(error, field_map)


def save_form(action: Callable[[Session], Result], field_map: FieldMap = None) -> tuple[Result | None, FieldErrors]:
    """Like run_form, with `action` given the session of one unit of work: committed, or rolled back on any error."""

    def in_transaction() -> Result:
        with unit_of_work() as db:
            return action(db)

    return run_form(in_transaction, field_map)


def validation_errors(error: ValidationError, field_map: FieldMap = None) -> FieldErrors:
    """Group pydantic's errors by the form field each one belongs to."""
    errors: FieldErrors = {}
    for item in error.errors():
        _add(errors, _field_for(tuple(item["loc"]), field_map), readable_validation_message(item["msg"]))
    return errors


def domain_errors(error: DomainError, field_map: FieldMap = None) -> FieldErrors:
    """Put a domain error on the field it names, or on the form as a whole."""
    return {_field_for((error.field,) if error.field else (), field_map): [error.message]}


def apply_errors(form: FlaskForm, errors: FieldErrors) -> None:
    """Attach errors to a WTForms form: each to its field, the rest to the form as a whole."""
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]


def first_errors(errors: FieldErrors) -> dict[str, str]:
    """One message per field, for templates that show a single line under each input."""
    return {name: " ".join(messages) for name, messages in errors.items()}


def _field_for(loc: tuple[Any, ...], field_map: FieldMap) -> str:
    if callable(field_map):
        return field_map(loc)
    name = str(loc[0]) if loc else FORM
    return (field_map or {}).get(name, name)


def _add(errors: FieldErrors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)

