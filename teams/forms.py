"""Forms for teams and people: a team's settings, adding a member, company roles, the
CSV import. They read and check input; teams.services decides and writes."""

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from teams.models import TEAM_SETTINGS_FIELDS, Membership, Team
from teams.validators import available_time_zones

WEEKDAY_CHOICES = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("7", _("Sunday")),
]


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_time_zones())]


class TeamForm(forms.ModelForm[Team]):
    """A team's settings, in the app and in the admin. Working days as checkboxes and
    the time zone as a list; the model stores the days as ISO weekday digits ("12345")
    and validates both again."""

    working_days = forms.MultipleChoiceField(
        label=capfirst(Team._meta.get_field("working_days").verbose_name),
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=list(Team._meta.get_field("working_days").default),
    )
    time_zone = forms.ChoiceField(
        label=capfirst(Team._meta.get_field("time_zone").verbose_name),
        choices=_time_zone_choices,
        initial=Team._meta.get_field("time_zone").default,
    )

    class Meta:
        model = Team
        # The admin's fieldsets pick the fields (the slug too); the app edits the rest.
        fields = ["slug", *TEAM_SETTINGS_FIELDS]
        # Plain inputs: the admin's clock widget adds a note about the *server's* time
        # zone, while these hours are in the team's.
        widgets = {
            "work_starts_at": forms.TimeInput(format="%H:%M"),
            "work_ends_at": forms.TimeInput(format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = Team._meta.get_field("time_zone").help_text
        # The model keeps "12345"; the checkboxes want a list of days.
        if isinstance(self.initial.get("working_days"), str):
            self.initial["working_days"] = list(self.initial["working_days"])

    def clean_working_days(self) -> str:
        return "".join(sorted(set(self.cleaned_data["working_days"])))


class AppTeamForm(TeamForm):
    """The team form of the app: no slug (it is made from the name once, and stays)."""

    class Meta(TeamForm.Meta):
        fields = list(TEAM_SETTINGS_FIELDS)
        widgets = {
            **TeamForm.Meta.widgets,
            "work_starts_at": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
            "work_ends_at": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        }

    def _post_clean(self) -> None:
        # The service validates the model (and raises field errors); a ModelForm would
        # also check the slug it does not show.
        pass


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    full_name = forms.CharField(
        label=_("Name"),
        max_length=150,
        required=False,
        help_text=_("For someone new: the invitation greets them by it."),
    )
    role = forms.ChoiceField(
        label=_("Role in the team"), choices=Membership.Role.choices, initial="member"
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class PeopleImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        help_text=_(
            "Columns: email, name, team, role (member or lead). Comma or semicolon "
            "separated, UTF-8, with a header row."
        ),
    )
    # The checked file travels back with the confirmation: nothing is kept in between.
    content = forms.CharField(required=False, widget=forms.HiddenInput)
    send_invitations = forms.BooleanField(
        label=_("Send an invitation e-mail to the people who are new"),
        required=False,
        initial=True,
    )
