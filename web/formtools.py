"""Put domain and validation errors back onto the form fields a person filled in."""

from flask_wtf import FlaskForm
from pydantic import ValidationError

from characters.core.errors import DomainError


def apply_validation_error(form: FlaskForm, error: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Attach each pydantic error to its form field (or to the form when no field matches)."""
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        _add_error(form, (field_map or {}).get(name, name), _readable(item["msg"]))


def apply_domain_error(form: FlaskForm, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Attach a domain error to the field it names, or to the form as a whole."""
    _add_error(form, (field_map or {}).get(error.field or "", error.field or ""), error.message)


def _add_error(form: FlaskForm, field_name: str, message: str) -> None:
    field = form._fields.get(field_name)
    if field is None:
        form.form_errors.append(message)
        return
    field.errors = [*field.errors, message]


def _readable(message: str) -> str:
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:] if text else text
