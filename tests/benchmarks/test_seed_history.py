"""The load benchmark's seed stands for a company's steady state: beat has already sent
the reminders and escalations of its two years. It had not, and the first weekday tick
caught up at once (about 11,000 notices and 30 s of queries at 100,000 campaigns) in the
middle of whichever page the benchmark was measuring."""

from datetime import time

import pytest
from django.utils import timezone

from benchmarks.seed import seed_campaigns
from campaigns.models import Stakeholder
from campaigns.services.reminders import campaigns_send_due_reminders_and_escalations
from notifications.models import Notification
from teams.models import Team

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_seeded_history_leaves_beat_no_reminder_or_escalation_to_catch_up():
    seed_campaigns(400)
    # Every team at work now, whatever the day and hour the suite runs.
    Team.objects.update(
        working_days="1234567", work_starts_at=time(0), work_ends_at=time(0), holiday_country=""
    )
    late = Stakeholder.objects.filter(due_at__lt=timezone.now(), acknowledged_version__isnull=True)
    assert late.filter(campaign__status="announced").exists()  # there is something to escalate

    sent = campaigns_send_due_reminders_and_escalations()

    assert sent == {"reminders": 0, "escalations": 0}
    assert not Notification.objects.exists()
