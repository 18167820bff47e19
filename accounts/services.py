"""Writes on a person's own account."""

from dataclasses import dataclass

from accounts.models import User


@dataclass(frozen=True)
class ProfileInput:
    full_name: str
    language: str
    time_zone: str


PROFILE_FIELDS = ("full_name", "language", "time_zone")


def profile_update(*, user: User, data: ProfileInput) -> User:
    """Save the name, language and time zone a person reads the app in. The model's
    choices are the rule (languages offered, IANA time zones): anything else raises
    ValidationError and nothing is saved."""
    user.full_name = data.full_name.strip()
    user.language = data.language
    user.time_zone = data.time_zone
    others = [field.name for field in User._meta.fields if field.name not in PROFILE_FIELDS]
    user.clean_fields(exclude=others)
    user.save(update_fields=list(PROFILE_FIELDS))
    return user
