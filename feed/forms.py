"""The weekly feed's GET filters. Bad input becomes a message above the feed, never a 500."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from feed.selectors import FEED_STATUSES, FeedFilters

TEAMS_ALL = ""
TEAMS_MINE = "mine"


class FeedFilterForm(forms.Form):
    teams = forms.ChoiceField(
        label=_("Teams"),
        required=False,
        choices=[(TEAMS_ALL, _("All teams")), (TEAMS_MINE, _("My teams"))],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All channels")), *Campaign.Channel.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses"))]
        + [(s.value, s.label) for s in Campaign.Status if s in FEED_STATUSES],
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Title, summary or talking points…"),
                "autocomplete": "off",
            }
        ),
    )

    def to_filters(self) -> FeedFilters:
        """The valid fields as selector filters; an invalid field filters nothing."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return FeedFilters(
            my_teams=data.get("teams") == TEAMS_MINE,
            channel=data.get("channel") or "",
            status=data.get("status") or "",
            query=data.get("q") or "",
        )

    def is_filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("teams", "channel", "status", "q"))
