"""The endpoint form: reads the input; webhooks.services checks it and decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import EventType, WebhookEndpoint


class EndpointForm(forms.Form):
    # A text field rather than Django's URLField: that one refuses a host without a dot
    # ("http://crm:8080/hook"), which an on-premise receiver may well be; the service
    # checks the address (scheme, public or allowed private, resolvable).
    url = forms.CharField(
        label=_("Address (URL)"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
        help_text=_("Passerelle posts each event here as JSON, signed (Standard Webhooks)."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None checked: every event, including those added later."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_(
            "What this address feeds (a CRM, a chat bot), for whoever reads this list later."
        ),
    )

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint) -> "EndpointForm":
        return cls(
            initial={
                "url": endpoint.url,
                "event_types": endpoint.event_types,
                "description": endpoint.description,
            }
        )
