"""Query-string forms of the marketer workspace: list filters, calendar period, contact
pressure. They turn GET parameters into plain values for the selectors; bad input becomes
a message next to the results, never a 500."""

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.calendar import FIRST_YEAR, LAST_YEAR, Period
from campaigns.models import Campaign
from campaigns.selectors import CampaignFilters

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FILTER_FIELDS = ("q", "status", "channel", "mine", "launch_from", "launch_to")
NEWEST_FIRST = "-launch"
OLDEST_FIRST = "launch"


def _date_in_range(value: date | None) -> date | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise forms.ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    return value


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class CampaignFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Title, summary, audience, owner…"),
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Campaign.Status.choices],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All channels")), *Campaign.Channel.choices],
    )
    launch_from = forms.DateField(
        label=_("Launch from"), required=False, widget=DATE_INPUT, input_formats=["%Y-%m-%d"]
    )
    launch_to = forms.DateField(
        label=_("Launch to"), required=False, widget=DATE_INPUT, input_formats=["%Y-%m-%d"]
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            (NEWEST_FIRST, _("Latest launch first")),
            (OLDEST_FIRST, _("Earliest launch first")),
        ],
    )
    mine = forms.BooleanField(
        label=_("Only my campaigns"),
        required=False,
        widget=forms.CheckboxInput(attrs={"role": "switch"}),
    )

    error_messages = {"invalid_date": _("Enter a date as YYYY-MM-DD.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("launch_from", "launch_to"):
            self.fields[name].error_messages["invalid"] = self.error_messages["invalid_date"]

    def clean_launch_from(self) -> date | None:
        return _date_in_range(self.cleaned_data.get("launch_from"))

    def clean_launch_to(self) -> date | None:
        return _date_in_range(self.cleaned_data.get("launch_to"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("launch_from"), cleaned.get("launch_to")
        if start and end and end < start:
            self.add_error("launch_to", _("The end date is before the start date."))
        return cleaned

    def is_filtered(self) -> bool:
        """Whether a valid filter narrows the list (the empty state then offers a reset)."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in FILTER_FIELDS)

    def to_filters(self, *, user: User) -> CampaignFilters:
        """The valid fields as selector filters; an invalid field filters nothing.

        Dates are the viewer's days: from local midnight, to the next local midnight."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        start, end = data.get("launch_from"), data.get("launch_to")
        return CampaignFilters(
            query=data.get("q") or "",
            status=data.get("status") or "",
            channel=data.get("channel") or "",
            mine_for=user.pk if data.get("mine") else None,
            launch_from=_local_midnight(start) if start else None,
            launch_before=_local_midnight(end + timedelta(days=1)) if end else None,
            newest_first=(data.get("sort") or NEWEST_FIRST) == NEWEST_FIRST,
        )


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class CalendarForm(forms.Form):
    month = forms.CharField(required=False)
    week = forms.CharField(required=False)

    def clean_month(self) -> Period | None:
        value = self.cleaned_data.get("month", "")
        if not value:
            return None
        match = _MONTH.fullmatch(value)
        year, month = (int(match[1]), int(match[2])) if match else (0, 0)
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            raise forms.ValidationError(
                _("“%(value)s” is not a month: use YYYY-MM, for example 2026-12."),
                params={"value": Truncator(value).chars(20)},
            )
        return Period.month_of(date(year, month, 1))

    def clean_week(self) -> Period | None:
        value = self.cleaned_data.get("week", "")
        if not value:
            return None
        match = _WEEK.fullmatch(value)
        try:
            if not match or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
                raise ValueError(value)
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a week: use YYYY-Www, for example 2026-W48."),
                params={"value": Truncator(value).chars(20)},
            ) from None
        return Period.week_of(monday)

    def period(self, *, today: date) -> Period:
        """The period asked for (a week wins over a month); this month by default or
        when the value cannot be read."""
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("week") or data.get("month") or Period.month_of(today)


class ContactPressureForm(forms.Form):
    audience = forms.CharField(required=False, max_length=300)
    launch_at = forms.DateTimeField(
        required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
    )
    campaign = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def clean_launch_at(self) -> datetime | None:
        value = self.cleaned_data.get("launch_at")
        if value is not None:
            _date_in_range(value.date())
        return value


class CampaignSearchForm(forms.Form):
    """The search across every week and status (campaigns.search.campaign_search)."""

    q = forms.CharField(
        label=_("Search every campaign"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Title, summary, talking points, audience, owner…"),
                "autocomplete": "off",
            }
        ),
    )

    def text(self) -> str:
        """The valid query, or "" (nothing searched) for an invalid one."""
        return self.cleaned_data.get("q", "") if self.is_valid() else ""
