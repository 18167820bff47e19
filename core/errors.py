"""The one domain error type.

Services raise it; views turn it into a message or an error fragment, and the coming REST
API into a JSON error. `field_errors` names the offending fields so forms can show each
message next to its field.
"""

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of the domain refused the operation; nothing was changed."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field_errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.field_errors: dict[str, list[str]] = {
            field: [str(m) for m in messages] for field, messages in (field_errors or {}).items()
        }

    def __str__(self) -> str:
        return self.message

    @classmethod
    def for_fields(cls, field_errors: Mapping[str, list[str]]) -> "DomainError":
        # Each message names its field already ("Launch date is required…"), so the
        # summary reads well on its own where there is no form to show it next to.
        summary = " ".join(str(m) for messages in field_errors.values() for m in messages)
        return cls(summary, code="invalid", field_errors=field_errors)


class PermissionRefused(DomainError):
    """The actor's role or team does not allow this operation."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="permission_denied")
