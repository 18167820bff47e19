from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken
from api.services import NAME_MAX_LENGTH


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("What will use it, e.g. “HubSpot sync” or “my reporting script”."),
    )
    scope = forms.ChoiceField(
        label=_("What it may do"),
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=[
            ("30", _("30 days")),
            ("90", _("90 days")),
            ("365", _("a year")),
        ],
        coerce=int,
        initial="90",
    )


class ServiceTokenForm(TokenForm):
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=[
            ("", _("never (revoke it by hand)")),
            ("90", _("90 days")),
            ("365", _("a year")),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
