"""Indexes whose condition restates a rule of the rule book must keep saying the same."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from campaigns import rules
from campaigns.models import Campaign


def test_the_visible_launch_index_holds_the_campaigns_everybody_may_see():
    (index,) = [i for i in Campaign._meta.indexes if i.name == "campaign_launch_visible_idx"]
    assert index.condition == ~rules.private_q()


@pytest.mark.django_db
def test_an_advisors_calendar_is_counted_from_that_index_alone(advisor):
    queryset = (
        Campaign.objects.filter(
            rules.visible_q(rules.Actor.of(advisor)),
            launch_at__gte=datetime(2026, 12, 1, tzinfo=UTC),
            launch_at__lt=datetime(2027, 1, 1, tzinfo=UTC),
        )
        .order_by()
        .values("pk")
    )
    if connection.vendor == "postgresql":
        # On a test's few rows reading the table whole is cheaper: what is asked here is
        # whether the index can answer, so the alternatives are ruled out.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        assert "Index Only Scan using campaign_launch_visible_idx" in queryset.explain()
    else:
        assert "USING INDEX campaign_launch_visible_idx" in queryset.explain()
