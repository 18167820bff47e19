"""A person's launches as an Atom feed (RFC 4287) and an iCalendar feed (RFC 5545).

The launches are those of the campaigns their teams are stakeholders of, drafts excepted,
from a little in the past to well ahead. Feed readers and calendar apps fetch these
without a session, through the secret address of notifications.subscriptions; what is
written here is read in the person's language and time zone, and links back to the app.
"""

import hashlib
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from xml.sax.xmlreader import AttributesImpl

import icalendar
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.xmlutils import SimplerXMLGenerator, UnserializableContentError

from accounts.models import User
from campaigns import rules
from campaigns.models import Campaign, Stakeholder
from core.text import document_safe

Status = Campaign.Status

PAST_DAYS = 30
AHEAD_DAYS = 180
# A calendar app should not have to swallow years of launches in one fetch: at most this
# many, the upcoming ones first (what a subscriber needs), then the recent past.
UPCOMING_MAX = 400
RECENT_MAX = 100
# Still running (ends within the window) though launched before it: looked for this far
# back, so the query stays an index range.
RUNNING_LOOKBACK_DAYS = 365
RUNNING_MAX = 50
MAX_LAUNCHES = UPCOMING_MAX + RECENT_MAX + RUNNING_MAX
PRODID = "-//Passerelle//Campaign launches//EN"
# Part of every validator: raised when what the documents say for the same rows changes
# (2: launches became point events), so clients holding an old ETag fetch them again.
DOCUMENT_FORMAT = 2


def _launch_sets(*, user: User, now: datetime) -> list[QuerySet[Campaign]]:
    """The three slices a subscription shows: the next UPCOMING_MAX launches within
    AHEAD_DAYS, the last RECENT_MAX of the past PAST_DAYS, and campaigns launched earlier
    that are still running. Drafts are left out, and so are drafts cancelled before
    anyone was told. Each is an index range read in order and stopped at its limit (the
    running ones through the end-date index: few campaigns are still running)."""
    start = now - timedelta(days=PAST_DAYS)
    for_my_teams = Stakeholder.objects.filter(campaign=OuterRef("pk"), team__memberships__user=user)
    # Drafts, and drafts cancelled before announcement, were never news to the teams.
    mine = Campaign.objects.filter(Exists(for_my_teams)).exclude(rules.private_q())
    upcoming = mine.filter(launch_at__gte=now, launch_at__lt=now + timedelta(days=AHEAD_DAYS))
    recent = mine.filter(launch_at__gte=start, launch_at__lt=now)
    running = mine.filter(
        launch_at__gte=now - timedelta(days=RUNNING_LOOKBACK_DAYS),
        launch_at__lt=start,
        ends_at__gte=start,
    )
    return [
        upcoming.order_by("launch_at", "id")[:UPCOMING_MAX],
        recent.order_by("-launch_at", "-id")[:RECENT_MAX],
        running.order_by("-launch_at", "-id")[:RUNNING_MAX],
    ]


def subscription_launches(*, user: User, now: datetime | None = None) -> list[Campaign]:
    """The person's teams' campaigns around today (`_launch_sets`), in launch order,
    owners joined. However many campaigns the teams have (a large company launches
    thousands a month), a subscriber sees what is coming, not the oldest of the window."""
    now = now or timezone.now()
    found = [
        campaign
        for launches in _launch_sets(user=user, now=now)
        for campaign in launches.select_related("owner").defer(
            "body", "objective", "already_sent_reason", "done_override_reason"
        )
    ]
    return sorted(found, key=lambda c: (c.launch_at, c.pk))


def subscription_validator(*, user: User, now: datetime) -> str:
    """An ETag for the documents `subscription_launches(now=now)` builds, computed from
    the same rows without loading them as campaigns: everything the documents show comes
    from these rows' versions, statuses and update times, their owners' names and the
    reader's language and time zone. A feed reader polling an unchanged feed gets its
    304 for three narrow index reads, with no campaign built and no entry written."""
    parts: list[object] = [
        DOCUMENT_FORMAT,
        user.pk,
        user.display_name,
        user.language,
        user.time_zone,
    ]
    for launches in _launch_sets(user=user, now=now):
        parts.extend(
            launches.values_list(
                "pk", "version", "status", "updated_at", "owner__full_name", "owner__email"
            )
        )
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


# --- what each entry says ---------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.PASSERELLE_BASE_URL}{path}"


def campaign_link(campaign: Campaign) -> str:
    return _absolute(reverse("campaigns:detail", args=[campaign.pk]))


@dataclass(frozen=True)
class _Reader:
    """Whose feed it is: language and time zone for the words and dates in it."""

    language: str
    tz: zoneinfo.ZoneInfo
    # Labels in the reader's language, looked up once per document rather than once per
    # entry (a feed holds hundreds of entries).
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, user: User) -> "_Reader":
        return cls(language=user.language or settings.LANGUAGE_CODE, tz=user.tzinfo)

    def label(self, kind: str, value: str) -> str:
        key = f"{kind}:{value}"
        if key not in self.labels:
            choices = Campaign.Channel if kind == "channel" else Campaign.Status
            self.labels[key] = str(choices(value).label)
        return self.labels[key]

    def datetime(self, value: datetime) -> str:
        # Calendar apps show the description as is: name the zone the time is in.
        local = formats.date_format(timezone.localtime(value, self.tz), "DATETIME_FORMAT")
        return f"{local} ({self.tz.key})"


def _title(campaign: Campaign) -> str:
    if campaign.phase.cancelled:
        return _("Cancelled: %(title)s") % {"title": campaign.title}
    return campaign.title


def _facts(campaign: Campaign, reader: _Reader) -> list[str]:
    """The lines every entry starts with: launch, channel, audience, owner."""
    assert campaign.launch_at is not None  # subscription_launches: launch_at__lt
    facts = [_("Launch: %(date)s") % {"date": reader.datetime(campaign.launch_at)}]
    if campaign.ends_at:
        facts.append(_("Ends: %(date)s") % {"date": reader.datetime(campaign.ends_at)})
    facts.append(_("Channel: %(channel)s") % {"channel": reader.label("channel", campaign.channel)})
    if campaign.audience:
        facts.append(_("Audience: %(audience)s") % {"audience": campaign.audience})
    facts.append(_("Status: %(status)s") % {"status": reader.label("status", campaign.status)})
    return facts


# --- Atom -------------------------------------------------------------------------------


class _DocumentSafeXML(SimplerXMLGenerator):
    """Django's XML writer, which raises on a control character (and so fails a whole feed
    for one summary pasted from a word processor, or one name older than the rules on
    names): every text and attribute goes through document_safe first, whichever field
    it comes from. Also writes CDATA sections, which XMLGenerator cannot."""

    def characters(self, content: str) -> None:
        super().characters(document_safe(content))

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 - SAX's name
        safe = {
            key: document_safe(value) if isinstance(value, str) else value
            for key, value in attrs.items()
        }
        super().startElement(name, AttributesImpl(safe))

    def cdata(self, text: str) -> None:
        text = document_safe(text)
        if "]]>" in text:
            raise UnserializableContentError(text)
        # ignorableWhitespace is XMLGenerator's one way to write text as it is.
        self.ignorableWhitespace(f"<![CDATA[{text}]]>")


class _LaunchesAtom(Atom1Feed):
    """Django's Atom document, written by _DocumentSafeXML, with each entry's HTML summary
    as one CDATA section rather than escaped: the same text to any XML parser, but each
    of a summary's dozen tags costs 2 bytes instead of 8, a tenth of the document for a
    client that takes it unpacked. The summary is built with format_html, so every `>`
    of the campaign's own text is escaped and `]]>` cannot end the section early."""

    def write(self, outfile: Any, encoding: str) -> None:
        # Atom1Feed.write, with the safe writer.
        handler = _DocumentSafeXML(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")

    def add_item_elements(self, handler: SimplerXMLGenerator, item: dict[str, Any]) -> None:
        assert isinstance(handler, _DocumentSafeXML)  # self.write's
        super().add_item_elements(handler, {**item, "description": None})
        handler.startElement("summary", {"type": "html"})
        handler.cdata(str(item["description"]))
        handler.endElement("summary")


def launches_atom(*, user: User, campaigns: list[Campaign], feed_url: str) -> str:
    """The Atom document. Ids never change: the feed's is the person's, each entry's the
    campaign's, so a reader shows an edited campaign as updated rather than as new. What
    XML cannot hold is written as U+FFFD (_DocumentSafeXML)."""
    reader = _Reader.of(user)
    with translation.override(reader.language):
        feed = _LaunchesAtom(
            title=_("Passerelle: launches for %(name)s") % {"name": user.display_name},
            link=_absolute(reverse("campaigns:calendar")),
            description=_("Campaign launches your teams must know about."),
            language=reader.language,
            feed_url=feed_url,
            feed_guid=f"urn:passerelle:launches:user:{user.pk}",
        )
        for campaign in campaigns:
            link = campaign_link(campaign)
            facts = format_html_join("", "<li>{}</li>", ((f,) for f in _facts(campaign, reader)))
            summary = format_html("<ul>{}</ul>", facts)
            if campaign.summary:
                summary += format_html("<p>{}</p>", campaign.summary)
            feed.add_item(
                title=_title(campaign),
                link=link,
                description=summary,
                unique_id=f"urn:passerelle:campaign:{campaign.pk}",
                updateddate=campaign.updated_at,
                pubdate=campaign.announced_at or campaign.created_at,
                author_name=campaign.owner.display_name,
                categories=[reader.label("channel", campaign.channel)],
            )
        return feed.writeString("utf-8")


# --- iCalendar --------------------------------------------------------------------------


def campaign_uid(campaign: Campaign) -> str:
    return f"campaign-{campaign.pk}@passerelle"


def _event(campaign: Campaign, reader: _Reader) -> icalendar.Event:
    assert campaign.launch_at is not None  # subscription_launches: launch_at__lt
    start = campaign.launch_at.astimezone(zoneinfo.ZoneInfo("UTC"))
    link = campaign_link(campaign)
    description = "\n".join(
        [*_facts(campaign, reader), *([campaign.summary] if campaign.summary else []), "", link]
    )
    cancelled = campaign.phase.cancelled
    event = icalendar.Event()
    event.add("uid", campaign_uid(campaign))
    # A published calendar (no METHOD) takes DTSTAMP as the time the event last changed;
    # using updated_at keeps the document identical between two fetches with no change.
    event.add("dtstamp", campaign.updated_at)
    event.add("last-modified", campaign.updated_at)
    # The launch is a moment, not the weeks the campaign runs (which would cover the
    # subscriber's calendar): no DTEND, so the event ends when it starts (RFC 5545
    # §3.6.1); the end date is in the description. TRANSPARENT: it never makes anyone
    # look busy to a meeting planner.
    event.add("dtstart", start)
    event.add("transp", "TRANSPARENT")
    # icalendar writes control characters as they are, which RFC 5545 text forbids.
    event.add("summary", document_safe(_title(campaign)))
    event.add("description", document_safe(description))
    event.add("url", link)
    event.add("categories", [reader.label("channel", campaign.channel)])
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # The version goes up with each material change. Cancelling keeps the version but is
    # a significant revision too (RFC 5545 §3.8.7.4): one more, so clients replace it.
    event.add("sequence", campaign.version + (1 if cancelled else 0))
    return event


def launches_ical(*, user: User, campaigns: list[Campaign]) -> bytes:
    """The iCalendar document: one VEVENT per campaign, its UID stable across fetches."""
    reader = _Reader.of(user)
    with translation.override(reader.language):
        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", _("Passerelle launches"))
        calendar.add("x-wr-caldesc", _("Campaign launches your teams must know about."))
        # How often clients should fetch again (Outlook and Apple honour one or the other).
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
        for campaign in campaigns:
            calendar.add_component(_event(campaign, reader))
        document: bytes = calendar.to_ical()
        return document
