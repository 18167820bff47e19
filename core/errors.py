"""The domain's errors, in two families by how a person meets them.

- `DomainError`: a rule refused what the person asked (a field, the moment, the state).
  Shown where they acted: next to the field, or as a message on the page (and as a 400
  JSON error in an API). Nothing was changed.
- `AccessError`: the person may not do this at all (`PermissionRefused`, HTTP 403) or
  may not even know the thing exists (`NotFound`, HTTP 404). Views never catch these:
  `core.http.DomainErrorMiddleware` turns them into the 403/404 page for every view.

Keeping the families apart is what lets every view say `except DomainError` and still
answer 403/404 correctly.
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
    def for_fields(
        cls, field_errors: Mapping[str, list[str]], *, code: str = "invalid"
    ) -> "DomainError":
        # Each message names its field already ("Launch date is required…"), so the
        # summary reads well on its own where there is no form to show it next to.
        summary = " ".join(str(m) for messages in field_errors.values() for m in messages)
        return cls(summary, code=code, field_errors=field_errors)


class AccessError(Exception):
    """The person may not do this, or not know it exists; nothing was changed."""

    code = "access"
    http_status = 403

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = str(message)

    def __str__(self) -> str:
        return self.message


class PermissionRefused(AccessError):
    """The person's role or relation to the thing does not allow this (HTTP 403)."""

    code = "permission_denied"
    http_status = 403


class NotFound(AccessError):
    """It does not exist, or the person may not know it does (HTTP 404)."""

    code = "not_found"
    http_status = 404
