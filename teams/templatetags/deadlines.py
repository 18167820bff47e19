from datetime import datetime

from django import template

from teams.deadlines import due_in_words as words
from teams.models import Team

register = template.Library()


@register.filter
def due_in_words(due_at: datetime | None, team: Team) -> str:
    """`{{ stakeholder.due_at|due_in_words:stakeholder.team }}`: "Due Monday 11:00,
    4 working hours left" in the team's working time (teams.deadlines)."""
    if due_at is None:
        return ""
    return words(team=team, due_at=due_at)
