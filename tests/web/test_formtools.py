"""The one form helper: pydantic and domain errors land on the field they name, worded for people."""

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlmodel import select
from wtforms import StringField

from characters.accounts.users import UserCreate, create_user
from characters.core.errors import Conflict, DomainError, NotFound, readable_validation_message
from characters.core.models import User
from web.formtools import (
    FORM,
    apply_errors,
    domain_errors,
    first_errors,
    run_form,
    save_form,
    validation_errors,
)


class Signup(BaseModel):
    name: str = Field(min_length=1)
    age: int
    nicknames: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _no_admin(cls, value: str) -> str:
        if value == "admin":
            raise ValueError("that name is reserved")
        return value

    @field_validator("nicknames")
    @classmethod
    def _short(cls, value: list[str]) -> list[str]:
        if any(len(nickname) > 3 for nickname in value):
            raise ValueError("nicknames are at most 3 letters")
        return value

    @model_validator(mode="after")
    def _adult(self) -> "Signup":
        if self.age < 18:
            raise ValueError("ask a parent to sign up for you")
        return self


def _invalid(data: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Signup.model_validate(data)
    return caught.value


@pytest.mark.parametrize(("message", "readable"), [
    ("Value error, that name is reserved", "That name is reserved"),
    ("String should have at least 1 character", "String should have at least 1 character"),
    ("field required", "Field required"),
    ("", ""),
])
def test_readable_validation_message(message, readable):
    assert readable_validation_message(message) == readable


def test_validation_errors_are_grouped_by_field_with_readable_messages():
    errors = validation_errors(_invalid({"name": "admin", "age": "old"}))
    assert errors == {"name": ["That name is reserved"], "age": ["Input should be a valid integer, unable to parse "
                                                                 "string as an integer"]}


def test_errors_about_the_whole_model_go_to_the_form():
    assert validation_errors(_invalid({"name": "Kim", "age": 9})) == {FORM: ["Ask a parent to sign up for you"]}


def test_a_nested_location_maps_by_its_first_part():
    assert validation_errors(_invalid({"name": "Kim", "age": 30, "nicknames": ["Kimberly"]})) == {
        "nicknames": ["Nicknames are at most 3 letters"]}


def test_a_field_map_renames_fields_as_a_dict_or_a_callable():
    error = _invalid({"name": "", "age": 30, "nicknames": ["ok", 5]})
    assert set(validation_errors(error, {"name": "display_name"})) == {"display_name", "nicknames"}
    by_location = validation_errors(error, lambda loc: "-".join(str(part) for part in loc) or FORM)
    assert set(by_location) == {"name", "nicknames-1"}


def test_domain_errors_go_to_their_field_or_to_the_form():
    assert domain_errors(Conflict("That address is taken.", field="slug")) == {"slug": ["That address is taken."]}
    assert domain_errors(DomainError("Archived, so no posts.")) == {FORM: ["Archived, so no posts."]}
    assert domain_errors(Conflict("Taken.", field="slug"), {"slug": "workspace_slug"}) == {"workspace_slug": ["Taken."]}
    assert domain_errors(DomainError("No."), lambda loc: loc[0] if loc else "summary") == {"summary": ["No."]}


def test_run_form_returns_the_result_or_the_errors():
    assert run_form(lambda: Signup.model_validate({"name": "Kim", "age": 30}).name) == ("Kim", {})
    assert run_form(lambda: Signup.model_validate({"name": "", "age": 30}), {"name": "who"}) == (
        None, {"who": ["String should have at least 1 character"]})

    def refuse() -> str:
        raise NotFound("Nobody by that name here.", field="name")

    assert run_form(refuse) == (None, {"name": ["Nobody by that name here."]})


def test_run_form_lets_other_exceptions_through():
    def broken() -> None:
        raise RuntimeError("a bug, not a refusal")

    with pytest.raises(RuntimeError):
        run_form(broken)


def test_first_errors_joins_each_fields_messages():
    assert first_errors({"name": ["Too short.", "Not a word."], FORM: ["Try again."]}) == {
        "name": "Too short. Not a word.", FORM: "Try again."}


class NameForm(FlaskForm):
    name = StringField("Name")


@pytest.fixture
def form_context() -> Iterator[None]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    with app.test_request_context(method="POST", data={"name": "admin"}):
        yield


def test_apply_errors_puts_known_fields_on_the_field_and_the_rest_on_the_form(form_context):
    form = NameForm()
    form.validate()
    apply_errors(form, {"name": ["That name is reserved"], "age": ["Too young"], FORM: ["Try again"]})
    assert form.name.errors == ["That name is reserved"]
    assert form.form_errors == ["Too young", "Try again"]


def test_save_form_commits_the_result_and_rolls_everything_back_on_an_error(app, session):
    def create(db, email: str) -> User:
        return create_user(session=db, user_create=UserCreate(email=email, display_name="Kim",
                                                              password="correct-horse-battery"))

    def create_then_refuse(db) -> User:
        create(db, "kept-nowhere@example.com")
        raise DomainError("Refused after the first write.")

    with app.test_request_context():
        user, errors = save_form(lambda db: create(db, "kim@example.com"))
        assert (user is not None, errors) == (True, {})
        assert save_form(create_then_refuse) == (None, {FORM: ["Refused after the first write."]})
        assert save_form(lambda db: create(db, "not an email"), {"email": "address"})[1].keys() == {"address"}
    assert session.exec(select(User.email)).all() == ["kim@example.com"]
