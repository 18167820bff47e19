"""Forms of the campaign pages.

The campaign form shows every rule next to its field, as the marketer types (htmx posts
the form to the validate endpoint as each field is left) and on submit. Its rules are the
services' (`services.campaign_validate`, `services.kpis_validate`), run from `clean()`:
what the form checks itself is only what a browser can get wrong (a date that is not a
date, a number that is not a number).
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.forms.renderers import BaseRenderer
from django.forms.utils import ErrorDict, ErrorList
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns import imports, selectors, services
from campaigns.kpis import kpi_number_input, kpi_number_parse
from campaigns.models import Campaign, Kpi
from campaigns.services import CampaignInput, KpiInput
from core.errors import DomainError
from teams.models import Team
from teams.selectors import marketers

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
KPI_PREFIX = "kpis"
KPI_EXTRA_ROWS = 2  # always two empty rows: KPIs can be added without JavaScript
KPI_MAX_ROWS = 20
# Checked one by one as the marketer leaves them (see CampaignForm._wire_htmx).
INLINE_FIELDS = tuple(name for name in Campaign.CONTENT_FIELDS if name != "channel")


if TYPE_CHECKING:
    # What the mixins below are mixed into: they use the form's own API.
    _FormMixinBase = forms.BaseForm
else:
    _FormMixinBase = object


class DomainErrorFormMixin(_FormMixinBase):
    """Puts a service's DomainError back on the form, each message next to its field."""

    def add_domain_error(self, error: DomainError) -> None:
        if not error.field_errors:
            self.add_error(None, error.message)
            return
        for name, messages in error.field_errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


class QuietFormMixin(_FormMixinBase):
    """A bound form shown again as typed, without being checked: the no-JavaScript
    "Preview" and "Add a KPI" buttons re-render the page, and a half-filled form must not
    come back covered in errors. A quiet form is never valid, so it cannot be saved."""

    quiet = False

    def full_clean(self) -> None:
        if self.quiet:
            self._errors = ErrorDict(renderer=self.renderer)
            self.cleaned_data = {}
            return
        super().full_clean()

    def is_valid(self) -> bool:
        return not self.quiet and super().is_valid()


# --- KPI rows ---------------------------------------------------------------------------


class KpiNumberField(forms.CharField):
    """A KPI figure as people type or paste it in either language ("2,74 %", "1 500",
    "€1,500.50"): campaigns.kpis.kpi_number_parse. The bounds are the service's."""

    default_error_messages = {"invalid": _("Enter a number, e.g. 2.74 or 1500.")}

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value) or ""
        try:
            if len(text) > 40:
                raise ValueError(text)
            return kpi_number_parse(text)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


def _check_length_here(form: forms.BaseForm) -> None:
    """No maxlength in the page: the browser cut a longer paste silently (a title lost its
    end unseen); the form's check says by how much instead and keeps all of it."""
    for field in form.fields.values():
        field.widget.attrs.pop("maxlength", None)


class KpiForm(QuietFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Indicator"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Rendez-vous pris")}),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=Kpi.Unit.choices, initial=Kpi.Unit.COUNT)
    direction = forms.ChoiceField(
        label=_("Better when"),
        choices=Kpi.Direction.choices,
        initial=Kpi.Direction.HIGHER,
    )
    target = KpiNumberField(
        label=_("Target"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 120"), "inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _check_length_here(self)
        self.quiet = quiet
        # A row posted by an older page (or another client) without them keeps the defaults.
        for name in ("unit", "direction"):
            self.fields[name].required = False

    def to_input(self) -> KpiInput | None:
        """The row as a service input; None for a blank row (nothing typed)."""
        name = (self.cleaned_data.get("name") or "").strip()
        target = self.cleaned_data.get("target")
        if not name and target is None:
            return None
        return KpiInput(
            name=name,
            target=target,
            unit=self.cleaned_data.get("unit") or Kpi.Unit.COUNT,
            direction=self.cleaned_data.get("direction") or Kpi.Direction.HIGHER,
        )


def _removed(form: forms.Form) -> bool:
    """The row's "Remove" box is ticked (rows are cleaned first)."""
    return bool(getattr(form, "cleaned_data", {}).get(forms.formsets.DELETION_FIELD_NAME))


class BaseKpiFormSet(forms.BaseFormSet[KpiForm]):
    quiet = False
    # Set by BaseFormSet.__init__ and full_clean(), but missing from django-stubs.
    renderer: BaseRenderer
    _errors: list[ErrorDict] | None
    _non_form_errors: ErrorList | None

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "quiet": self.quiet}

    def full_clean(self) -> None:
        if self.quiet:
            self._errors = []
            self._non_form_errors = self.error_class(error_class="nonform", renderer=self.renderer)
            return
        super().full_clean()

    def is_valid(self) -> bool:
        return not self.quiet and super().is_valid()

    def clean(self) -> None:
        if messages := services.kpis_validate(self.to_inputs()):
            raise forms.ValidationError(messages)

    def to_inputs(self) -> list[KpiInput]:
        """The rows kept (not removed, not blank), in order, from the rows that are valid."""
        inputs = []
        for form in self.forms:
            if _removed(form):
                continue
            if (kpi := form.to_input()) is not None:
                inputs.append(kpi)
        return inputs

    def messages(self) -> list[str]:
        """Every KPI error in one list, for the summary under the rows."""
        # An ErrorList yields its messages as text (ErrorList.__getitem__).
        found = [str(error) for error in self.non_form_errors()]
        for form in self.forms:
            if _removed(form):
                continue
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                found.extend(f"{label}: {error}" if label else str(error) for error in errors)
        return found

    def new_row(self, index: int) -> KpiForm:
        """An empty row numbered `index`, for "Add a KPI" (see views.campaign_form_kpi_row)."""
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix(index),
            empty_permitted=True,
            use_required_attribute=False,
            renderer=self.renderer,
        )
        self.add_fields(form, index)
        form.fields["name"].widget.attrs["autofocus"] = True
        return form


# formset_factory returns a subclass of `formset`; the stubs only know BaseFormSet.
KpiFormSet = cast(
    type[BaseKpiFormSet],
    forms.formset_factory(
        KpiForm,
        formset=BaseKpiFormSet,
        extra=KPI_EXTRA_ROWS,
        can_delete=True,
        max_num=KPI_MAX_ROWS,
        validate_max=True,
        absolute_max=KPI_MAX_ROWS + KPI_EXTRA_ROWS,
    ),
)


def kpi_rows_plus_one(data: QueryDict) -> QueryDict:
    """The posted form with one more KPI row (the no-JavaScript "Add a KPI")."""
    data = data.copy()
    key = f"{KPI_PREFIX}-TOTAL_FORMS"
    try:
        total = int(data.get(key, "0"))
    except ValueError:
        total = 0
    data[key] = str(max(0, min(total + 1, KPI_MAX_ROWS + KPI_EXTRA_ROWS)))
    return data


# --- the campaign -----------------------------------------------------------------------


def teams_for_channel(*, channel: str, previous_channel: str, checked: Iterable[int]) -> list[int]:
    """The teams to check once the channel changed: the new channel's default teams, plus
    those the marketer chose beyond the previous channel's defaults (kept as chosen)."""
    previous = (
        set(selectors.channel_default_team_ids(previous_channel)) if previous_channel else set()
    )
    defaults = set(selectors.channel_default_team_ids(channel)) if channel else set()
    return sorted((set(checked) - previous) | defaults)


class CampaignForm(DomainErrorFormMixin, QuietFormMixin, forms.ModelForm[Campaign]):
    teams = forms.ModelMultipleChoiceField(
        label=_("Stakeholder teams"),
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The teams that must be told and acknowledge before the campaign is done."),
    )
    editors = forms.ModelMultipleChoiceField(
        label=_("Co-editors"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Other marketers who may edit, announce and close this campaign with you."),
    )
    # The channel whose default teams the checkboxes show: when the channel changes, that
    # channel's defaults are swapped for the new one's (see teams_for_channel).
    defaults_channel = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Campaign
        fields = Campaign.CONTENT_FIELDS
        widgets = {
            "launch_at": DATETIME_INPUT,
            "ends_at": DATETIME_INPUT,
            "summary": forms.Textarea(attrs={"rows": 2}),
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

    def __init__(
        self,
        data: QueryDict | None = None,
        *args: Any,
        owner: User | None = None,
        quiet: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, *args, **kwargs)
        self.quiet = quiet
        # Any marketer but the owner may be a co-editor.
        editors = marketers()
        owner_id = self.instance.owner_id if self.instance.pk else (owner.pk if owner else None)
        editors_field = self.fields["editors"]
        assert isinstance(editors_field, forms.ModelMultipleChoiceField)
        editors_field.queryset = editors.exclude(pk=owner_id) if owner_id else editors
        for name in ("launch_at", "ends_at"):
            date_field = self.fields[name]
            assert isinstance(date_field, forms.DateTimeField)
            date_field.input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
        self.fields["estimated_recipients"].required = False
        _check_length_here(self)
        kpis: list[dict[str, object]] = []
        if self.instance.pk:
            self.fields["teams"].initial = list(
                self.instance.stakeholders.values_list("team_id", flat=True)
            )
            self.fields["defaults_channel"].initial = self.instance.channel
            self.fields["editors"].initial = [user.pk for user in self.instance.editors.all()]
            kpis = [
                {
                    "name": k.name,
                    "target": kpi_number_input(k.target),
                    "unit": k.unit,
                    "direction": k.direction,
                }
                for k in self.instance.kpis.all()
            ]
        # A post without the KPI rows (another client, an older page) leaves the KPIs as
        # they are, rather than failing on the rows' missing management form.
        self.kpis_posted = data is not None and f"{KPI_PREFIX}-TOTAL_FORMS" in data
        # Likewise, a post without the co-editors' marker leaves them as they are.
        self.editors_posted = data is not None and "editors_shown" in data
        self.kpis = KpiFormSet(
            data if self.kpis_posted else None, prefix=KPI_PREFIX, initial=kpis, quiet=quiet
        )
        self._wire_htmx()

    @property
    def campaign(self) -> Campaign | None:
        return self.instance if self.instance.pk else None

    def _url(self, name: str) -> str:
        return reverse(name, args=[self.instance.pk] if self.instance.pk else [])

    @property
    def validate_url(self) -> str:
        return self._url("campaigns:validate")

    @property
    def channel_teams_url(self) -> str:
        return self._url("campaigns:channel_teams")

    def _wire_htmx(self) -> None:
        # Each field is posted with the whole form as it is left, and comes back with its
        # error (see views.campaign_form_validate). "changed": only once edited, so
        # tabbing through an empty form does not flag every required field.
        for name in INLINE_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    "hx-post": f"{self.validate_url}?field={name}",
                    "hx-trigger": "blur changed",
                    "hx-target": f"#field-{name}",
                    "hx-swap": "outerHTML",
                }
            )
        # Choosing a channel checks its default teams (and says whether it is valid).
        self.fields["channel"].widget.attrs.update(
            {
                "hx-get": self.channel_teams_url,
                "hx-trigger": "change",
                "hx-target": "#teams-fieldset",
                "hx-swap": "outerHTML",
                "hx-include": "#teams-fieldset",
            }
        )

    def is_valid(self) -> bool:
        kpis_valid = self.kpis.is_valid() if self.kpis_posted else True  # all errors at once
        return super().is_valid() and kpis_valid

    def clean_estimated_recipients(self) -> int:
        return self.cleaned_data.get("estimated_recipients") or 0

    def _unchanged_to_the_minute(self, name: str) -> datetime | None:
        # The widget shows dates to the minute. Saved back as shown, a date with seconds
        # (from the admin, the demo data, an import) must stay as it was: otherwise fixing
        # a typo would "move" the launch and ask every team to acknowledge again.
        value: datetime | None = self.cleaned_data.get(name)
        current: datetime | None = getattr(self.instance, name, None)
        if value and current and current.replace(second=0, microsecond=0) == value:
            return current
        return value

    def clean_launch_at(self) -> datetime | None:
        return self._unchanged_to_the_minute("launch_at")

    def clean_ends_at(self) -> datetime | None:
        return self._unchanged_to_the_minute("ends_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The services' rules, so a form shows them all at once, and the inline checks say
        # exactly what a submit would. A field the form already refused (a date that is
        # not a date) keeps its own message; KPI rows report theirs (BaseKpiFormSet).
        errors = services.campaign_validate(self._input(kpis=None), campaign=self.campaign)
        for name, messages in errors.items():
            if name in self._errors:
                continue
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def _input(self, *, kpis: list[KpiInput] | None) -> CampaignInput:
        data = self.cleaned_data
        return CampaignInput(
            title=data.get("title") or "",
            channel=data.get("channel") or "",
            audience=data.get("audience") or "",
            estimated_recipients=data.get("estimated_recipients") or 0,
            launch_at=data.get("launch_at"),
            ends_at=data.get("ends_at"),
            summary=data.get("summary") or "",
            body=data.get("body") or "",
            objective=data.get("objective") or "",
            team_ids=[team.pk for team in data.get("teams") or []],
            kpis=kpis,
            editor_ids=[user.pk for user in data.get("editors") or []]
            if self.editors_posted
            else None,
        )

    def to_input(self) -> CampaignInput:
        """What the services take, once the form is valid; the KPI rows replace the KPIs."""
        return self._input(kpis=self.kpis.to_inputs() if self.kpis_posted else None)

    def _post_clean(self) -> None:
        # Model validation (constraints) is the service's job; skip ModelForm's copy of it
        # so each rule lives once and reports with the service's wording. (Skipping it also
        # leaves the instance untouched, so the edit rules compare with what is saved.)
        pass


# --- attachments ------------------------------------------------------------------------


class AttachmentForm(DomainErrorFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Add a file"),
        help_text=_("PDF, PNG, JPEG or WebP, up to 10 MB: the e-mail as sent, a visual…"),
        widget=forms.FileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.webp"}),
        error_messages={"required": _("Choose a file to attach.")},
    )


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
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    team = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1
    )
    note = forms.CharField(
        label=_("Note for the campaign owner (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("A question, or what customers may ask…")}
        ),
    )


class CampaignImportForm(DomainErrorFormMixin, forms.Form):
    """The CSV import's upload. The file is read here (`text`), so what cannot be
    imported at all (too large, not CSV) is said under the field; its rows are checked
    by campaigns.imports."""

    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,text/csv"}),
        error_messages={"required": _("Choose a CSV file to import.")},
    )
    source = forms.CharField(
        label=_("Source"),
        initial=imports.DEFAULT_SOURCE,
        max_length=services.references.SOURCE_MAX_LENGTH,
        help_text=_(
            "Where the file's ids come from: hubspot, brevo… Importing again from the same "
            "source updates the campaigns instead of creating them twice."
        ),
    )
    channel = forms.ChoiceField(
        label=_("Channel of new campaigns whose row has none"),
        required=False,
        choices=[("", _("None: from the file")), *Campaign.Channel.choices],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text = ""
        self.fields["file"].help_text = _(
            "An export from HubSpot, Brevo or a spreadsheet, saved as CSV (comma or "
            "semicolon): up to %(size)s and %(rows)s rows."
        ) % {"size": imports.size_label(imports.MAX_BYTES), "rows": f"{imports.MAX_ROWS:,}"}

    def clean_source(self) -> str:
        # People type "HubSpot": the reference keeps its slug.
        source = str(self.cleaned_data["source"]).strip().lower()
        errors = services.reference_errors(source=source, external_id="-")
        if errors:
            raise forms.ValidationError(errors["source"])
        return source

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_BYTES:
            raise forms.ValidationError(imports.too_large_message())
        try:
            self.text = imports.decode(upload.read())
        except DomainError as error:
            raise forms.ValidationError(error.field_errors.get("file") or error.message) from None
        return upload
