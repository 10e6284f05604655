"""WTForms forms; domain validation still happens in characters/ (the forms only parse)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.fields import IntegerField
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from characters.accounts.users import MIN_PASSWORD_LENGTH
from characters.accounts.workspaces import MAX_LATE_GRACE_MINUTES
from characters.core.models import Role

ROLE_CHOICES = [SelectChoice(Role.WRITER.value, "Writer — drafts and submits posts"),
                SelectChoice(Role.EDITOR.value, "Editor — approves, rejects and schedules"),
                SelectChoice(Role.OWNER.value, "Owner — members, channels and settings"),
                SelectChoice(Role.VIEWER.value, "Viewer — read-only")]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in on this device")


def new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    """Return a new password and its repetition: the `password` and `confirm` fields of a form."""
    password = PasswordField(
        label,
        description=f"At least {MIN_PASSWORD_LENGTH} characters and hard to guess (several unrelated words work well).",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)])
    confirm = PasswordField(f"Repeat the {label.lower()}",
                            validators=[DataRequired(), EqualTo("password", message="The passwords differ.")])
    return password, confirm


class AccountFields(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password, confirm = new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    password, confirm = new_password_fields("New password")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])


class ResetPasswordForm(FlaskForm):
    password, confirm = new_password_fields("New password")


class SetupForm(AccountFields):
    workspace_name = StringField("Workspace name", description="Your fan community or team, e.g. “Riverside Players”.",
                                 validators=[DataRequired(), Length(max=120)])
    workspace_slug = StringField("Workspace address", description="Lowercase letters, digits and hyphens.",
                                 validators=[DataRequired(), Length(max=64)])


class WorkspaceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    slug = StringField("Address", description="Lowercase letters, digits and hyphens; used in links.",
                       validators=[DataRequired(), Length(max=64)])


class WorkspaceSettingsForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    two_person_rule = BooleanField("Two-person rule: nobody approves a post they wrote or changed")
    writers_edit_bibles = BooleanField("Writers may edit character bibles")
    store_prompts = BooleanField("Keep the full prompt of each LLM generation",
                                 description="Off by default: prompts contain the whole character bible.")
    # Left empty: unchanged. The domain checks the range, so the message is the same on the web, the API and the CLI.
    late_grace_minutes = IntegerField(
        "Late-post grace period (minutes)", validators=[Optional()],
        description=f"0 to {MAX_LATE_GRACE_MINUTES}. A post the scheduler finds later than this is held for an "
                    "editor instead of published.")
    prefer_best_hours = BooleanField("Next free slot prefers each character's best hours",
                                     description="From the character's own numbers (see Analytics); without enough "
                                                 "of them, the first free slot as before.")


class InviteForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.WRITER.value)
    days = IntegerField("Valid for (days)", default=7, validators=[DataRequired(), NumberRange(min=1, max=90)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST."""
