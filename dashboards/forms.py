"""The overview's GET form: a period and optional filters, all kept in the URL."""

from datetime import date, tzinfo
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign
from dashboards import selectors
from teams.models import Team

FIRST_YEAR, LAST_YEAR = 1900, 2999


class OverviewForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[
            (selectors.WEEK, _("This week")),
            (selectors.FOUR_WEEKS, _("Last 4 weeks")),
            (selectors.QUARTER, _("This quarter")),
            (selectors.CUSTOM, _("Custom dates")),
        ],
        required=False,
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", _("All channels")), *Campaign.Channel.choices],
        required=False,
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Anyone")
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All teams")
    )

    def __init__(self, data: QueryDict | None = None, *, scope: selectors.Scope) -> None:
        if data is not None and not data.get("period"):
            data = data.copy()
            data["period"] = selectors.FOUR_WEEKS  # the default, shown as chosen
        super().__init__(data)
        owner_field, team_field = self.fields["owner"], self.fields["team"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        assert isinstance(team_field, forms.ModelChoiceField)
        owner_field.queryset = selectors.campaign_owners()
        # A lead can only pick among their own teams.
        team_field.queryset = selectors.teams_in_scope(scope=scope)

    def clean_date_from(self) -> date | None:
        return self._within_supported_years(self.cleaned_data.get("date_from"))

    def clean_date_to(self) -> date | None:
        return self._within_supported_years(self.cleaned_data.get("date_to"))

    @staticmethod
    def _within_supported_years(day: date | None) -> date | None:
        # The same bounds as campaign dates; and 9999-12-31 has no "next day" to end on.
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") != selectors.CUSTOM:
            return data  # dates left in the URL play no part: no message about them
        first, last = data.get("date_from"), data.get("date_to")
        if not (first and last):
            if "date_from" not in self.errors and "date_to" not in self.errors:
                self.add_error("date_from", _("Give both dates for a custom period."))
        elif first > last:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return data

    def to_filters(self, *, today: date, tz: tzinfo) -> selectors.DashboardFilters:
        """The valid fields as filters; an invalid field falls back to its default."""
        data = getattr(self, "cleaned_data", {})
        period = selectors.period_resolve(
            key=data.get("period") or selectors.FOUR_WEEKS,
            today=today,
            tz=tz,
            first=data.get("date_from"),
            last=data.get("date_to"),
        )
        owner = data.get("owner")
        team = data.get("team")
        return selectors.DashboardFilters(
            period=period,
            channel=data.get("channel") or "",
            owner_id=owner.pk if owner else None,
            team_id=team.pk if team else None,
        )
