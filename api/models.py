"""What the integration API keeps: API tokens, and the answers to idempotent requests."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A secret a program sends as `Authorization: Bearer …` to act as one person.

    Only a hash is stored: the token is shown once, when it is made. `prefix` (the first
    characters, not secret) lets a person tell their tokens apart and lets the lookup
    find the row before the hash is compared in constant time."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        SERVICE = "service", _("Service (integration)")

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # A service token acts as its own integration account; the manager who made it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["personal", "service"]), name="api_token_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["read", "write"]), name="api_token_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def writes(self) -> bool:
        return self.scope == self.Scope.WRITE

    def usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, kept a day so a client
    that lost the answer (a timeout, a retry) gets the same one rather than a second
    campaign. `fingerprint` is the request's method, path and body: the same key with
    another request is a client bug, refused rather than guessed at."""

    principal = models.CharField(max_length=80)  # whose key: a token or a signed-in person
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: in progress
    response_body = models.BinaryField(blank=True, default=b"")
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotent_request_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_age_idx")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
