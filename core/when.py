"""The few ways Passerelle writes a date or a time, for pages, e-mails and chat alike.

Absolute forms follow the active language's formats (core/formats: "4 Dec 2026, 15:00"
in English, "4 déc. 2026 à 15:00" in French); machines get ISO 8601. Where a deadline
matters, a relative phrase ("in 3 days", "2 h late") goes beside the absolute one, never
instead of it: a relative phrase alone goes stale in a tab left open or an e-mail read
the next day.

Aware datetimes are shown in `tz` when given, else in the current time zone (the
reader's, set by accounts.middleware); plain dates are shown as they are.
"""

from datetime import date, datetime, timedelta, tzinfo

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

Moment = datetime | date


def _local(value: Moment, tz: tzinfo | None) -> Moment:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value, tz)
    return value


def date_short(value: Moment, *, tz: tzinfo | None = None) -> str:
    """A day: 4 Dec 2026 / 4 déc. 2026."""
    return formats.date_format(_local(value, tz), "DATE_FORMAT")


def datetime_short(value: datetime, *, tz: tzinfo | None = None) -> str:
    """A moment: 4 Dec 2026, 15:00 / 4 déc. 2026 à 15:00."""
    return formats.date_format(_local(value, tz), "DATETIME_FORMAT")


def datetime_seconds(value: datetime, *, tz: tzinfo | None = None) -> str:
    """With seconds, for the audit log: "4 Dec 2026, 15:00:07"."""
    local = _local(value, tz)
    return formats.date_format(local, "DATETIME_FORMAT") + formats.date_format(local, ":s")


def time_short(value: datetime, *, tz: tzinfo | None = None) -> str:
    """A time of day: 15:00."""
    local = timezone.localtime(value, tz) if timezone.is_aware(value) else value
    return formats.time_format(local, "TIME_FORMAT")


def day_long(value: Moment, *, tz: tzinfo | None = None) -> str:
    """A day heading: "Friday 4 December" / "vendredi 4 décembre"."""
    return formats.date_format(_local(value, tz), "l j F")


def iso(value: Moment, *, tz: tzinfo | None = None) -> str:
    """ISO 8601 for machines (`<time datetime>`, CSV): to the second, with the offset."""
    local = _local(value, tz)
    if isinstance(local, datetime):
        return local.isoformat(timespec="seconds")
    return local.isoformat()


def _amount(delta: timedelta) -> tuple[str, int]:
    """The unit a person would use for this distance in time, and how many of it."""
    minutes = round(abs(delta) / timedelta(minutes=1))
    if minutes < 60:
        return "minutes", minutes
    hours = round(minutes / 60)
    if hours < 48:
        return "hours", hours
    return "days", round(hours / 24)


def relative(value: datetime, *, now: datetime | None = None, late: bool = False) -> str:
    """How far `value` is from now: "in 3 days", "in 2 h"; past, "3 days ago", or with
    `late` (a deadline not met) "2 h late"."""
    delta = value - (now or timezone.now())
    unit, count = _amount(delta)
    if unit == "minutes" and count < 1:
        return _("now")
    if delta > timedelta(0):
        texts = {
            "minutes": ngettext("in %(count)d min", "in %(count)d min", count),
            "hours": ngettext("in %(count)d h", "in %(count)d h", count),
            "days": ngettext("in %(count)d day", "in %(count)d days", count),
        }
    elif late:
        texts = {
            "minutes": ngettext("%(count)d min late", "%(count)d min late", count),
            "hours": ngettext("%(count)d h late", "%(count)d h late", count),
            "days": ngettext("%(count)d day late", "%(count)d days late", count),
        }
    else:
        texts = {
            "minutes": ngettext("%(count)d min ago", "%(count)d min ago", count),
            "hours": ngettext("%(count)d h ago", "%(count)d h ago", count),
            "days": ngettext("%(count)d day ago", "%(count)d days ago", count),
        }
    return texts[unit] % {"count": count}


def deadline_text(value: datetime, *, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """A due date in words, absolute then relative: "4 Dec 2026, 15:00 (in 3 days)",
    "4 Dec 2026, 15:00 (2 h late)"."""
    return _("%(when)s (%(relative)s)") % {
        "when": datetime_short(value, tz=tz),
        "relative": relative(value, now=now, late=True),
    }
