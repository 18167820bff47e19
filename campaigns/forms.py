from datetime import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.services import CampaignInput
from core.errors import DomainError
from teams.models import Team

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class DomainErrorFormMixin:
    """Puts a service's DomainError back on the form, each message next to its field."""

    def add_domain_error(self, error: DomainError) -> None:
        if not error.field_errors:
            self.add_error(None, error.message)  # type: ignore[attr-defined]
            return
        for name, messages in error.field_errors.items():
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            for message in messages:
                self.add_error(target, message)  # type: ignore[attr-defined]


class CampaignForm(DomainErrorFormMixin, forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(
        label=_("Stakeholder teams"),
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The teams that must be told and acknowledge before the campaign is done."),
    )

    class Meta:
        model = Campaign
        fields = [
            "title",
            "channel",
            "audience",
            "estimated_recipients",
            "launch_at",
            "ends_at",
            "summary",
            "body",
            "objective",
        ]
        widgets = {
            "launch_at": DATETIME_INPUT,
            "ends_at": DATETIME_INPUT,
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 12}),
            "objective": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {
            "estimated_recipients": {
                "min_value": _("Estimated recipients cannot be negative."),
                "invalid": _("Estimated recipients must be a whole number."),
            },
            "title": {"required": _("Title is required.")},
            "channel": {"required": _("Channel is required.")},
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["launch_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
        self.fields["ends_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
        self.fields["estimated_recipients"].required = False
        if self.instance.pk:
            self.fields["teams"].initial = list(
                self.instance.stakeholders.values_list("team_id", flat=True)
            )

    def clean_estimated_recipients(self) -> int:
        return self.cleaned_data.get("estimated_recipients") or 0

    def _unchanged_to_the_minute(self, name: str) -> datetime | None:
        # The widget shows dates to the minute. Saved back as shown, a date with seconds
        # (from the admin, the demo data, an import) must stay as it was: otherwise fixing
        # a typo would "move" the launch and ask every team to acknowledge again.
        value = self.cleaned_data.get(name)
        current = getattr(self.instance, name, None)
        if value and current and current.replace(second=0, microsecond=0) == value:
            return current
        return value

    def clean_launch_at(self) -> datetime | None:
        return self._unchanged_to_the_minute("launch_at")

    def clean_ends_at(self) -> datetime | None:
        return self._unchanged_to_the_minute("ends_at")

    def to_input(self) -> CampaignInput:
        data = self.cleaned_data
        return CampaignInput(
            title=data["title"],
            channel=data["channel"],
            audience=data.get("audience", ""),
            estimated_recipients=data.get("estimated_recipients") or 0,
            launch_at=data.get("launch_at"),
            ends_at=data.get("ends_at"),
            summary=data.get("summary", ""),
            body=data.get("body", ""),
            objective=data.get("objective", ""),
            team_ids=[team.pk for team in data.get("teams") or []],
        )

    def _post_clean(self) -> None:
        # Model validation (constraints) is the service's job; skip ModelForm's copy of it
        # so each rule lives once and reports with the service's wording.
        pass


class AnnounceForm(DomainErrorFormMixin, forms.Form):
    already_sent = forms.BooleanField(label=_("This campaign already went out"), required=False)
    already_sent_reason = forms.CharField(
        label=_("Why is it announced only now?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("already_sent") and not (data.get("already_sent_reason") or "").strip():
            self.add_error("already_sent_reason", _("Give the reason for announcing after launch."))
        return data


class ReasonForm(DomainErrorFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class OptionalReasonForm(DomainErrorFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    team = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(
        label=_("Note for the campaign owner (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("A question, or what customers may ask…")}
        ),
    )
