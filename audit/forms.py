"""The audit page's GET filters. Bad input becomes an error next to the field (and the
filter is left out), never a 500."""

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit import selectors
from audit.models import AuditAction

FIRST_YEAR, LAST_YEAR = 2000, 2999
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("What"), required=False, choices=[("", _("Every kind")), *AuditAction.choices]
    )
    actor = forms.ModelChoiceField(
        label=_("Who"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Anyone"),
    )
    target_type = forms.ChoiceField(label=_("About"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=DATE_INPUT, input_formats=["%Y-%m-%d"]
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=DATE_INPUT, input_formats=["%Y-%m-%d"]
    )

    def __init__(self, data: QueryDict | None = None) -> None:
        super().__init__(data)
        actor_field = self.fields["actor"]
        assert isinstance(actor_field, forms.ModelChoiceField)
        actor_field.queryset = selectors.audit_actors()
        target_field = self.fields["target_type"]
        assert isinstance(target_field, forms.ChoiceField)
        target_field.choices = [("", _("Anything")), *selectors.audit_target_types()]

    def _in_range(self, value: date | None) -> date | None:
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Enter a date between %(first)s and %(last)s."),
                params={"first": FIRST_YEAR, "last": LAST_YEAR},
            )
        return value

    def clean_date_from(self) -> date | None:
        return self._in_range(self.cleaned_data.get("date_from"))

    def clean_date_to(self) -> date | None:
        return self._in_range(self.cleaned_data.get("date_to"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def to_filters(self, *, tz: tzinfo) -> selectors.AuditFilters:
        """The valid filters (call after is_valid(); an invalid field is left out)."""
        data = getattr(self, "cleaned_data", {})

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=tz)

        first, last = data.get("date_from"), data.get("date_to")
        actor = data.get("actor")
        return selectors.AuditFilters(
            action=data.get("action") or "",
            actor_id=actor.pk if actor is not None else None,
            target_type=data.get("target_type") or "",
            since=midnight(first) if first else None,
            until=midnight(last + timedelta(days=1)) if last else None,
        )
