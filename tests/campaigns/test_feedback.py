"""The feedback thread: who may post, what is refused, the owner's notice, the tally, and
the htmx and plain-POST answers of the form."""

import pytest
from django.urls import reverse

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignEvent, Feedback
from core.errors import DomainError, NotFound, PermissionRefused
from notifications.messages import describe
from notifications.models import Channel, Kind, Notification
from tests.factories import UserFactory, announced_campaign, make_marketer

pytestmark = pytest.mark.django_db

Status = Campaign.Status
Tag = Feedback.Tag


@pytest.fixture
def campaign(marketer, support_team):
    return announced_campaign(owner=marketer, teams=[support_team])


def _owner_notices(campaign: Campaign):
    return Notification.objects.filter(
        campaign_id=campaign.pk, kind=Kind.FEEDBACK, recipient=campaign.owner
    )


class TestPost:
    def test_advisor_asks_a_question_and_the_owner_is_told(self, campaign, advisor):
        feedback = services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag=Tag.QUESTION, body="  Un code promo ?  "
        )

        feedback.refresh_from_db()
        assert (feedback.author, feedback.tag, feedback.body) == (
            advisor,
            Tag.QUESTION,
            "Un code promo ?",
        )
        notices = _owner_notices(campaign)
        assert set(notices.values_list("channel", flat=True)) == {Channel.IN_APP, Channel.EMAIL}
        notice = notices.get(channel=Channel.IN_APP)
        assert notice.payload["note"] == "Un code promo ?"
        assert notice.payload["tag"] == "question"
        assert notice.payload["author_name"] == advisor.display_name
        assert notice.dedupe_key.endswith(f":feedback-{feedback.pk}")

    def test_each_message_notifies_once(self, campaign, advisor):
        for body in ("Première", "Seconde"):
            services.feedback_post(
                actor=advisor, campaign_id=campaign.pk, tag=Tag.MESSAGE, body=body
            )

        assert _owner_notices(campaign).filter(channel=Channel.IN_APP).count() == 2

    def test_the_owners_own_message_notifies_nobody(self, campaign, marketer):
        services.feedback_post(
            actor=marketer, campaign_id=campaign.pk, tag=Tag.MESSAGE, body="Oui, code HIVER."
        )

        assert not Notification.objects.filter(kind=Kind.FEEDBACK).exists()

    def test_another_marketer_answering_notifies_the_owner(self, campaign):
        colleague = make_marketer(full_name="Paul Produit")

        services.feedback_post(
            actor=colleague, campaign_id=campaign.pk, tag=Tag.MESSAGE, body="Je confirme."
        )

        assert _owner_notices(campaign).count() == 2

    def test_no_timeline_event(self, campaign, advisor):
        events = CampaignEvent.objects.filter(campaign=campaign).count()

        services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag=Tag.NEUTRAL, body="Bof.")

        assert CampaignEvent.objects.filter(campaign=campaign).count() == events

    def test_allowed_once_done(self, campaign, marketer, advisor):
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag=Tag.POSITIVE, body="Retours ravis."
        )

        assert Feedback.objects.filter(campaign=campaign).count() == 1

    @pytest.mark.parametrize("tag", ["", "angry", "POSITIVE", "reaction"])
    def test_tag_must_be_one_of_the_list(self, campaign, advisor, tag):
        with pytest.raises(DomainError) as refused:
            services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag=tag, body="Texte")

        assert refused.value.field_errors == {"tag": ["Choose what kind of message this is."]}
        assert not Feedback.objects.exists()

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("", "Message is required."),
            ("   \n ", "Message is required."),
            ("x" * 5001, "Message must be at most 5000 characters."),
        ],
    )
    def test_body_is_required_and_bounded(self, campaign, advisor, body, message):
        with pytest.raises(DomainError) as refused:
            services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag="message", body=body)

        assert refused.value.field_errors == {"body": [message]}
        assert not Feedback.objects.exists()
        assert not Notification.objects.filter(kind=Kind.FEEDBACK).exists()

    def test_five_thousand_characters_fit(self, campaign, advisor):
        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="message", body="x" * 5000
        )

        assert Feedback.objects.get().body == "x" * 5000

    def test_refused_on_a_draft(self, draft_campaign, marketer, advisor):
        with pytest.raises(NotFound):  # the advisor does not even see a draft
            services.feedback_post(
                actor=advisor, campaign_id=draft_campaign.pk, tag="question", body="Quand ?"
            )
        with pytest.raises(DomainError) as refused:
            services.feedback_post(
                actor=marketer, campaign_id=draft_campaign.pk, tag="question", body="Quand ?"
            )

        assert refused.value.code == "feedback_closed"
        assert refused.value.message == "Messages can be posted once the campaign is announced."
        assert not Feedback.objects.exists()

    def test_refused_on_a_cancelled_campaign(self, campaign, marketer, advisor):
        services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)

        with pytest.raises(DomainError) as refused:
            services.feedback_post(
                actor=advisor, campaign_id=campaign.pk, tag="negative", body="Dommage."
            )

        assert refused.value.code == "feedback_closed"
        assert refused.value.message == "This campaign was cancelled: its thread is closed."
        assert not Feedback.objects.exists()

    def test_refused_to_an_inactive_account(self, campaign):
        gone = UserFactory(is_active=False)

        with pytest.raises(PermissionRefused):
            services.feedback_post(actor=gone, campaign_id=campaign.pk, tag="message", body="Hé")

    def test_unknown_campaign(self, advisor):
        with pytest.raises(NotFound):
            services.feedback_post(actor=advisor, campaign_id=999_999, tag="message", body="Hé")


class TestOwnerNotice:
    @pytest.mark.parametrize(
        ("tag", "subject", "intro"),
        [
            (
                "negative",
                "Customer reaction on Soldes: negative",
                "Alice Advisor reported a negative customer reaction.",
            ),
            (
                "question",
                "Question from Alice Advisor on Soldes",
                "Alice Advisor asked a question about this campaign.",
            ),
            (
                "message",
                "Message from Alice Advisor on Soldes",
                "Alice Advisor posted a message about this campaign.",
            ),
        ],
    )
    def test_says_what_kind_of_message_it_is(
        self, marketer, advisor, support_team, tag, subject, intro
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team], title="Soldes")
        services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag=tag, body="Texte")

        message = describe(_owner_notices(campaign).get(channel=Channel.IN_APP), tz_name="UTC")

        assert (message.subject, message.intro) == (subject, intro)

    def test_a_note_left_while_acknowledging_keeps_its_wording(self, campaign, advisor):
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, note="Vu.")

        message = describe(_owner_notices(campaign).get(channel=Channel.IN_APP), tz_name="UTC")

        assert message.intro == "Alice Advisor left a note while acknowledging."


class TestTally:
    def test_counts_each_kind_in_one_query(self, campaign, advisor, django_assert_num_queries):
        other = announced_campaign(owner=campaign.owner)
        for tag, times in (("positive", 3), ("neutral", 1), ("negative", 2), ("question", 4)):
            for _ in range(times):
                services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag=tag, body="…")
        services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag="message", body="…")
        services.feedback_post(actor=advisor, campaign_id=other.pk, tag="negative", body="…")

        with django_assert_num_queries(1):
            tally = selectors.feedback_tally(campaign_id=campaign.pk)

        assert tally == selectors.FeedbackTally(
            positive=3, neutral=1, negative=2, question=4, total=11, threads=11, unanswered=4
        )
        assert tally.reactions == 6

    def test_empty_thread(self, campaign):
        assert selectors.feedback_tally(campaign_id=campaign.pk) == selectors.FeedbackTally()


class TestForm:
    def _post(self, client, campaign, *, htmx: bool, **data):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        return client.post(reverse("campaigns:feedback", args=[campaign.pk]), data, **headers)

    def test_htmx_post_returns_the_thread_a_fresh_form_and_the_tally(
        self, client, campaign, advisor
    ):
        client.force_login(advisor)

        response = self._post(
            client, campaign, htmx=True, tag="negative", body="Client mécontent du délai."
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert html.lstrip().startswith('<article id="feedback"')
        thread = html[html.index('id="feedback-list"') : html.index('id="feedback-form"')]
        assert "Client mécontent du délai." in thread
        assert "Negative reaction" in thread
        form = html[html.index('id="feedback-form"') :]
        assert "></textarea>" in form  # reset: empty again
        assert 'value="message" checked' in form  # back to the default kind
        assert "Your message was posted." in form
        tally = html[html.index('id="feedback-tally"') :]
        assert tally.startswith('id="feedback-tally" class="tally"')
        assert 'hx-swap-oob="true"' in tally[: tally.index(">")]
        assert '<strong class="tally-count">1</strong> <span>Negative</span>' in tally
        assert 'id="campaign-live-state"' in html  # the poller's fingerprint follows
        assert Feedback.objects.get().author == advisor

    def test_plain_post_redirects_to_the_thread(self, client, campaign, advisor):
        client.force_login(advisor)

        response = self._post(client, campaign, htmx=False, tag="positive", body="Très apprécié.")

        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[campaign.pk]) + "#feedback"
        html = client.get(response.url).content.decode()
        assert "Your message was posted." in html
        assert "Très apprécié." in html
        assert '<strong class="tally-count">1</strong> <span>Positive</span>' in html

    def test_htmx_refusal_keeps_what_was_typed(self, client, campaign, advisor):
        client.force_login(advisor)

        response = self._post(client, campaign, htmx=True, tag="furious", body="Mon texte")

        html = response.content.decode()
        assert response.status_code == 200  # htmx swaps only 2xx answers
        assert "<html" not in html
        assert "Choose what kind of message this is." in html
        assert ">Mon texte</textarea>" in html
        assert not Feedback.objects.exists()

    def test_plain_refusal_shows_the_page_with_the_error(self, client, campaign, advisor):
        client.force_login(advisor)

        response = self._post(client, campaign, htmx=False, tag="question", body="  ")

        html = response.content.decode()
        assert response.status_code == 400
        assert "<html" in html
        assert "Message is required." in html
        assert 'value="question" checked' in html
        assert 'aria-invalid="true"' in html

    def test_refused_on_a_draft_with_the_reason(self, client, draft_campaign, marketer):
        client.force_login(marketer)

        response = self._post(client, draft_campaign, htmx=False, tag="question", body="Quand ?")

        assert response.status_code == 302
        html = client.get(response.url).content.decode()
        assert html.count("Messages can be posted once the campaign is announced.") == 2
        assert not Feedback.objects.exists()

    def test_marketer_may_post_too(self, client, campaign, marketer):
        client.force_login(marketer)

        response = self._post(client, campaign, htmx=True, tag="message", body="Code HIVER27.")

        assert response.status_code == 200
        assert Feedback.objects.get().author == marketer

    def test_needs_post_and_a_login(self, client, campaign, advisor):
        url = reverse("campaigns:feedback", args=[campaign.pk])
        assert self._post(client, campaign, htmx=False, tag="message", body="x").status_code == 302
        assert not Feedback.objects.exists()
        client.force_login(advisor)
        assert client.get(url).status_code == 405

    def test_unknown_campaign_is_404(self, client, advisor):
        client.force_login(advisor)
        response = client.post(
            reverse("campaigns:feedback", args=[999_999]), {"tag": "message", "body": "x"}
        )
        assert response.status_code == 404

    def test_the_thread_is_escaped(self, client, campaign, advisor):
        client.force_login(advisor)
        self._post(client, campaign, htmx=False, tag="message", body="<script>alert(1)</script>")

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cancelled_campaign_keeps_its_thread_readable(client, marketer, advisor, support_team):
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    services.feedback_post(actor=advisor, campaign_id=campaign.pk, tag="question", body="Et ?")
    services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)
    client.force_login(advisor)

    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert "Et ?" in html
    assert "This campaign was cancelled: its thread is closed." in html
    assert 'id="feedback-form"' not in html
