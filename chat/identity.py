"""Who a chat user is in Passerelle: matched once by the e-mail address the platform
verified, or connected by the person through a signed link; remembered (ChatIdentity)."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from chat.models import ChatIdentity

_SALT = "chat.connect"
CONNECT_MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ChatUser:
    platform: str
    workspace_id: str
    user_id: str
    # Who the chat account says it is (a name, an address), shown before connecting it.
    label: str = ""


def person_for(chat_user: ChatUser) -> User | None:
    identity = (
        ChatIdentity.objects.select_related("user")
        .filter(
            platform=chat_user.platform,
            workspace_id=chat_user.workspace_id,
            external_user_id=chat_user.user_id,
            user__is_active=True,
        )
        .first()
    )
    return identity.user if identity else None


def person_by_email(email: str) -> User | None:
    if not email:
        return None
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def chat_identity_link(*, chat_user: ChatUser, person: User) -> ChatIdentity:
    """Remember that this chat user is `person` (idempotent: a second link of the same
    chat user keeps the first one's person)."""
    try:
        with transaction.atomic():
            return ChatIdentity.objects.create(
                platform=chat_user.platform,
                workspace_id=chat_user.workspace_id,
                external_user_id=chat_user.user_id,
                user=person,
            )
    except IntegrityError:
        return ChatIdentity.objects.get(
            platform=chat_user.platform,
            workspace_id=chat_user.workspace_id,
            external_user_id=chat_user.user_id,
        )


def connect_url(chat_user: ChatUser) -> str:
    token = signing.dumps(
        {
            "p": chat_user.platform,
            "w": chat_user.workspace_id,
            "u": chat_user.user_id,
            "l": chat_user.label[:200],
        },
        salt=_SALT,
        compress=True,
    )
    return settings.PASSERELLE_BASE_URL + reverse("chat:connect", args=[token])


def connect_token_read(token: str) -> ChatUser | None:
    try:
        data = signing.loads(token, salt=_SALT, max_age=CONNECT_MAX_AGE_SECONDS)
        return ChatUser(str(data["p"]), str(data["w"]), str(data["u"]), str(data.get("l", "")))
    except (signing.BadSignature, KeyError, TypeError):
        return None
