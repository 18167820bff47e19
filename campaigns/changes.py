"""What changed from one announced version of a campaign to another: the announced
versions' content (CampaignVersion) compared field by field, as plain data
(core.changes.FieldChange) for the campaign page, the "changed" notices and the
acknowledgement page."""

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop

from campaigns.models import Campaign, CampaignVersion
from core.changes import FieldChange, text_hunks

# In the order a reader scans a brief; the labels are translated when shown.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("launch_at", gettext_noop("Launch date"), "moment"),
    ("ends_at", gettext_noop("End date"), "moment"),
    ("channel", gettext_noop("Channel"), "choice"),
    ("audience", gettext_noop("Audience"), "text"),
    ("estimated_recipients", gettext_noop("Estimated recipients"), "number"),
    ("title", gettext_noop("Title"), "text"),
    ("summary", gettext_noop("Summary"), "long"),
    ("body", gettext_noop("What customers receive and what to tell them"), "long"),
    ("objective", gettext_noop("Objective"), "long"),
)


def content_of(source: Campaign | CampaignVersion) -> dict[str, Any]:
    """The brief's fields of a campaign or of one of its announced versions."""
    return {name: getattr(source, name) for name in Campaign.CONTENT_FIELDS}


def _plain(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == "moment":
        return str(value.isoformat())
    if kind == "choice":
        # The label's source text: each reader's page or message translates it.
        with translation.override(None):
            return str(Campaign.Channel(value).label)
    return str(value)


def version_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """The fields that differ between two versions' content, before → after; a long text
    as the passages that changed. Empty when nothing a reader sees changed."""
    changes: list[FieldChange] = []
    for name, label, kind in FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if kind == "long":
            hunks = text_hunks(old or "", new or "")
            if hunks:
                changes.append(
                    FieldChange(
                        field=name, label=label, kind=kind, before=None, after=None, hunks=hunks
                    )
                )
            continue
        changes.append(
            FieldChange(
                field=name,
                label=label,
                kind=kind,
                before=_plain(kind, old),
                after=_plain(kind, new),
            )
        )
    return changes
