"""What the inbox needs to know about the campaign a notice is about, asked of the app
that owns campaigns.

Notifications must not import campaigns (campaigns writes to the outbox, so the
dependency points that way). The inbox still has to say, for each notice, whether the
reader's team still owes an acknowledgement or whether the campaign moved on; campaigns
registers the one function that answers (campaigns.apps), and this module is the whole
contract between the two.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from accounts.models import User


@dataclass(frozen=True)
class SubjectState:
    """A campaign as the reader's inbox shows it now."""

    version: int  # its current version
    closed_label: str  # "Done", "Cancelled"… once nobody acknowledges it any more; else ""
    can_acknowledge: bool  # the reader may acknowledge it now
    pending: bool  # one of the reader's teams still owes the current version


StateProvider = Callable[[User, Collection[int]], Mapping[int, SubjectState]]

_provider: list[StateProvider] = []


def subject_states_provider(provider: StateProvider) -> None:
    """Register who answers `subject_states` (campaigns, when the app is ready)."""
    _provider[:] = [provider]


def subject_states(*, user: User, campaign_ids: Collection[int]) -> Mapping[int, SubjectState]:
    """The state of each campaign among `campaign_ids` for `user`, from the registered
    provider (a fixed number of queries, whatever the number of campaigns)."""
    if not _provider or not campaign_ids:
        return {}
    return _provider[0](user, campaign_ids)


@dataclass(frozen=True)
class WaitingQuestion:
    """A question on one of the reader's campaigns that nobody marked answered."""

    campaign_id: int
    campaign_title: str
    path: str  # the question on the campaign's page
    author_name: str
    body: str
    asked_at: datetime


QuestionsProvider = Callable[[int, datetime | None], Sequence[WaitingQuestion]]

_questions: list[QuestionsProvider] = []


def waiting_questions_provider(provider: QuestionsProvider) -> None:
    """Register who answers `waiting_questions` (campaigns, when the app is ready)."""
    _questions[:] = [provider]


def waiting_questions(
    *, user_id: int, older_than: datetime | None = None
) -> Sequence[WaitingQuestion]:
    """The unanswered questions on the campaigns this person owns (asked before
    `older_than`), oldest first: the inbox's and the digest's list (one query)."""
    return _questions[0](user_id, older_than) if _questions else []


OwnersProvider = Callable[[datetime], set[int]]
_owners: list[OwnersProvider] = []


def question_owners_provider(provider: OwnersProvider) -> None:
    _owners[:] = [provider]


def question_owners(*, older_than: datetime) -> set[int]:
    """Who owns a campaign with a question unanswered since before `older_than` (one
    query): the digest goes to them even with no notice held."""
    return _owners[0](older_than) if _owners else set()
