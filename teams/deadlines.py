"""A team's due date in words, with the working time left or overdue: "Due Monday 11:00,
4 working hours left". For pages (the `due_in_words` filter in teams.templatetags.deadlines)
and for anything else that shows a due date: e-mails, chat, the announce confirmation."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.working_time import working_time_between
from teams.models import Team


def working_time_left(*, team: Team, due_at: datetime, now: datetime) -> timedelta:
    """The team's working time from `now` to `due_at`, negative once it has passed (no
    query: the team's calendar is on the row)."""
    return working_time_between(now, due_at, team.working_calendar())


def _day_and_time(moment: datetime, now: datetime) -> str:
    """ "today 11:00", "tomorrow 11:00", "Monday 11:00" within a week, "4 December 11:00"
    beyond, in the active time zone and language."""
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    days = (local.date() - today).days
    if days == 0:
        day = _("today")
    elif days == 1:
        day = _("tomorrow")
    elif days == -1:
        day = _("yesterday")
    elif -7 < days < 7:
        day = date_format(local, "l")
    elif local.year == today.year:
        day = date_format(local, "j F")
    else:
        day = date_format(local, "j F Y")
    # Translators: a due date's day and time, "Monday 11:00"; French: "lundi à 11:00".
    return _("%(day)s %(time)s") % {"day": day, "time": date_format(local, "H:i")}


def _working_time(amount: timedelta, *, late: bool) -> str:
    minutes = int(amount.total_seconds() // 60)
    if minutes >= 60:
        hours = minutes // 60
        if late:
            text = ngettext("%(count)d working hour late", "%(count)d working hours late", hours)
        else:
            text = ngettext("%(count)d working hour left", "%(count)d working hours left", hours)
        return text % {"count": hours}
    if late:
        text = ngettext("%(count)d working minute late", "%(count)d working minutes late", minutes)
    else:
        text = ngettext("%(count)d working minute left", "%(count)d working minutes left", minutes)
    return text % {"count": minutes}


def due_in_words(*, team: Team, due_at: datetime, now: datetime | None = None) -> str:
    """ "Due Monday 11:00, 4 working hours left" or "Was due Friday 18:00, 2 working hours
    late", in the active language and time zone. A due date that falls outside the team's
    working hours (it was brought forward to a weekend launch) says so."""
    now = now or timezone.now()
    left = working_time_left(team=team, due_at=due_at, now=now)
    when = _day_and_time(due_at, now)
    if due_at <= now:
        if left > -timedelta(minutes=1):
            return _("Was due %(when)s") % {"when": when}
        return _("Was due %(when)s, %(late)s") % {
            "when": when,
            "late": _working_time(-left, late=True),
        }
    if left < timedelta(minutes=1):
        return _("Due %(when)s, no working hours left") % {"when": when}
    return _("Due %(when)s, %(left)s") % {"when": when, "left": _working_time(left, late=False)}
