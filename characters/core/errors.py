"""Domain errors: each carries a message fit to show a person, and optionally the field at fault."""


class DomainError(Exception):
    """A request the domain refuses; `field` names the form field to attach the message to."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or not in the caller's workspace (indistinguishable on purpose)."""


class PermissionDenied(DomainError):
    """The caller's role does not allow this action."""


class Conflict(DomainError):
    """The request clashes with existing data (a duplicate, a stale version)."""


def readable_validation_message(message: str) -> str:
    """Turn one pydantic message into a sentence for a person ("Value error, too long" → "Too long")."""
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]
