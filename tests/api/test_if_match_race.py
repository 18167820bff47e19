"""If-Match under concurrency (PostgreSQL): two clients read the same ETag and update at
once; exactly one wins, the other gets 412 and its change is not written."""

import threading

import pytest
from django.db import connection

from campaigns.models import Campaign
from tests.api.conftest import campaign_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_only_one_of_two_concurrent_updates_with_the_same_etag_wins(api_as, marketer, support_team):
    tool = api_as(marketer)
    campaign = tool.post("/campaigns", campaign_body([support_team.pk])).json()
    path = f"/campaigns/{campaign['id']}"
    results: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def update(title: str) -> None:
        try:
            barrier.wait()
            response = tool.patch(path, {"title": title}, **{"If-Match": campaign["etag"]})
            results[title] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=update, args=(t,)) for t in ("Version A", "Version B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200, 412]
    [winner] = [title for title, status in results.items() if status == 200]
    assert Campaign.objects.get(pk=campaign["id"]).title == winner
