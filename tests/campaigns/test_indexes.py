"""Indexes whose condition restates a rule of the rule book must keep saying the same."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import rules, selectors
from campaigns.models import Campaign


def test_the_visible_launch_index_holds_the_campaigns_everybody_may_see():
    (index,) = [i for i in Campaign._meta.indexes if i.name == "campaign_launch_visible_idx"]
    assert index.condition == ~rules.private_q()


@pytest.mark.django_db
def test_an_advisors_calendar_is_counted_from_that_index_alone(advisor):
    viewer = rules.Actor.of(advisor)
    assert not viewer.writes_campaigns  # their roles read before the stamp is captured
    with CaptureQueriesContext(connection) as queries:
        selectors.campaign_launches_stamp(
            viewer=viewer,
            start=datetime(2026, 12, 1, tzinfo=UTC),
            end=datetime(2027, 1, 1, tzinfo=UTC),
        )
    (stamp,) = [query["sql"] for query in queries.captured_queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # On a test's few rows reading the table whole is cheaper: what is asked here
            # is whether the index can answer, so the alternatives are ruled out.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {stamp}")
            expected = "Index Only Scan using campaign_launch_visible_idx"
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {stamp}")
            expected = "USING INDEX campaign_launch_visible_idx"
        plan = "\n".join(str(row) for row in cursor.fetchall())
    assert expected in plan
