from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # The inbox (notifications) asks campaigns what each notice's campaign is now;
        # see notifications.subjects for why it is wired here rather than imported there.
        from campaigns.selectors import inbox_states, question_owners, waiting_questions
        from notifications.subjects import (
            question_owners_provider,
            subject_states_provider,
            waiting_questions_provider,
        )

        subject_states_provider(inbox_states)
        waiting_questions_provider(waiting_questions)
        question_owners_provider(question_owners)
