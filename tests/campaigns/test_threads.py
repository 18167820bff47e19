"""Questions that get answered: replies, an "answered" state set by the owner or the asker,
@mentions told once, the unanswered questions at the top of the page, in the owner's inbox
and (after a working day) in their digest; constant queries on a 500-message thread."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from campaigns import selectors, services
from campaigns.models import Feedback
from core.errors import DomainError, NotFound, PermissionRefused
from notifications import services as notification_services
from notifications.models import Channel, DeliverySettings, Kind, Notification
from tests.factories import MembershipFactory, UserFactory, announced_campaign

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def campaign(marketer, support_team):
    return announced_campaign(owner=marketer, teams=[support_team], title="Vœux 2027")


def ask(person, campaign, body="Le code marche en boutique ?") -> Feedback:
    return services.feedback_post(
        actor=person, campaign_id=campaign.pk, tag=Feedback.Tag.QUESTION, body=body
    )


def told(kind_tag: str) -> list[int]:
    return sorted(
        Notification.objects.filter(
            kind=Kind.FEEDBACK, channel=Channel.IN_APP, dispatch__payload__tag=kind_tag
        ).values_list("recipient_id", flat=True)
    )


class TestReplies:
    def test_a_reply_sits_under_its_question_and_tells_the_asker_once(
        self, campaign, marketer, advisor
    ):
        question = ask(advisor, campaign)
        reply = services.feedback_post(
            actor=marketer,
            campaign_id=campaign.pk,
            tag="message",
            body="Oui, en boutique aussi.",
            parent_id=question.pk,
        )
        assert reply.parent == question
        assert told("reply") == [advisor.pk]
        thread = selectors.feedback_thread(campaign_id=campaign.pk, total=1)
        assert thread.messages == [question]
        assert list(thread.messages[0].replies.all()) == [reply]

    def test_a_reply_to_a_reply_or_to_another_campaign_is_refused(
        self, campaign, marketer, advisor
    ):
        question = ask(advisor, campaign)
        reply = services.feedback_post(
            actor=marketer,
            campaign_id=campaign.pk,
            tag="message",
            body="Oui",
            parent_id=question.pk,
        )
        other = announced_campaign(owner=marketer)
        for parent, where in ((reply.pk, campaign), (question.pk, other)):
            with pytest.raises(NotFound):
                services.feedback_post(
                    actor=marketer, campaign_id=where.pk, tag="message", body="?", parent_id=parent
                )
        assert Feedback.objects.count() == 2

    def test_on_the_page_a_reply_is_posted_and_shown_under_the_question(
        self, client, campaign, marketer, advisor
    ):
        question = ask(advisor, campaign)
        client.force_login(marketer)
        response = client.post(
            reverse("campaigns:feedback", args=[campaign.pk]),
            {"tag": "message", "body": "Oui, partout.", "parent": question.pk},
            follow=True,
        )
        html = response.text
        assert html.index("Le code marche en boutique") < html.index("Oui, partout.")
        assert 'class="thread-replies"' in html

    def test_query_count_does_not_grow_with_a_500_message_thread(
        self, client, campaign, marketer, advisor
    ):
        def page_queries() -> int:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            client.force_login(marketer)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse("campaigns:detail", args=[campaign.pk])).status_code
            return len(queries)

        question = ask(advisor, campaign)
        services.feedback_post(
            actor=marketer, campaign_id=campaign.pk, tag="message", body="R", parent_id=question.pk
        )
        small = page_queries()
        rows = [
            Feedback(campaign=campaign, author=advisor, tag=Feedback.Tag.QUESTION, body=f"Q{i}")
            for i in range(250)
        ]
        roots = Feedback.objects.bulk_create(rows)
        Feedback.objects.bulk_create(
            Feedback(campaign=campaign, author=marketer, tag="message", body="R", parent=root)
            for root in roots
        )
        assert Feedback.objects.filter(campaign=campaign).count() == 502
        assert page_queries() == small


class TestAnswered:
    def test_the_asker_and_the_owner_mark_it_answered_and_reopen_it(
        self, campaign, marketer, advisor
    ):
        question = ask(advisor, campaign)
        services.feedback_mark_answered(actor=advisor, feedback_id=question.pk)
        question.refresh_from_db()
        assert question.answered_by == advisor
        services.feedback_mark_answered(actor=marketer, feedback_id=question.pk, answered=False)
        question.refresh_from_db()
        assert question.answered_at is None
        services.feedback_mark_answered(actor=marketer, feedback_id=question.pk)
        assert selectors.unanswered_questions(campaign_id=campaign.pk) == []

    def test_another_advisor_cannot_and_a_reaction_is_not_a_question(
        self, campaign, marketer, advisor, support_team
    ):
        colleague = MembershipFactory(team=support_team).user
        question = ask(advisor, campaign)
        with pytest.raises(PermissionRefused):
            services.feedback_mark_answered(actor=colleague, feedback_id=question.pk)
        reaction = services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="positive", body="Ravis"
        )
        with pytest.raises(DomainError) as refused:
            services.feedback_mark_answered(actor=marketer, feedback_id=reaction.pk)
        assert refused.value.code == "not_a_question"

    def test_unanswered_questions_top_the_page_and_the_owners_inbox(
        self, client, campaign, marketer, advisor
    ):
        question = ask(advisor, campaign, body="Quel est le code promo ?")
        client.force_login(marketer)
        page = client.get(reverse("campaigns:detail", args=[campaign.pk])).text
        assert "1 question waiting for an answer" in page
        assert f'href="?thread=all#feedback-{question.pk}"' in page
        inbox = client.get(reverse("notifications:inbox")).text
        assert "1 question on your campaigns waits for an answer" in inbox
        assert f"/campaigns/{campaign.pk}/#feedback-{question.pk}" in inbox
        response = client.post(
            reverse("campaigns:feedback_answered", args=[campaign.pk, question.pk]),
            {"answered": "1"},
            follow=True,
        )
        assert "The question is marked answered." in response.text
        assert "waiting for an answer" not in response.text
        assert "waits for an answer" not in client.get(reverse("notifications:inbox")).text


class TestMentions:
    def test_a_mention_tells_the_person_once_and_not_the_author(self, campaign, marketer, advisor):
        sophie = UserFactory(email="sophie.martin@example.test", full_name="Sophie Martin")
        services.feedback_post(
            actor=advisor,
            campaign_id=campaign.pk,
            tag="message",
            body="@sophie.martin tu as vu ? @Sophie.Martin @advisor @nobody",
        )
        assert told("mention") == [sophie.pk]  # the author mentioning themself is not told
        mention = Notification.objects.get(recipient=sophie, channel=Channel.EMAIL)
        assert mention.payload["author_name"] == "Alice Advisor"

    def test_a_handle_two_people_share_mentions_nobody(self, campaign, advisor):
        UserFactory(email="paul@one.example")
        UserFactory(email="paul@two.example")
        assert services.mentioned_people("@paul bonjour") == []

    def test_an_owner_mentioned_is_told_once(self, campaign, marketer, advisor):
        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="message", body="@marketer regarde"
        )
        rows = Notification.objects.filter(recipient=marketer, channel=Channel.IN_APP)
        assert rows.count() == 1
        assert rows.get().payload["tag"] == "mention"


def test_a_question_unanswered_for_a_working_day_is_in_the_owners_digest(
    campaign, marketer, advisor, mailoutbox
):
    DeliverySettings.objects.create(user=marketer, daily_digest=True)
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=PARIS)
    with time_machine.travel(friday, tick=False):
        ask(advisor, campaign, body="Le code est-il cumulable ?")
    Notification.objects.filter(recipient=marketer).delete()  # only the question is left
    # Monday morning: not yet a working day old (Friday 15:00 → Monday 15:00).
    monday_morning = friday + timedelta(days=3, hours=-6)
    with time_machine.travel(monday_morning, tick=False):
        assert notification_services.digests_send_due(now=monday_morning) == 0
    tuesday = friday + timedelta(days=4, hours=-6)
    with time_machine.travel(tuesday, tick=False):
        assert notification_services.digests_send_due(now=tuesday) == 1
    (digest,) = mailoutbox
    assert "Questions waiting for your answer" in digest.body
    assert "Le code est-il cumulable ?" in digest.body
