"""What the inbox needs to know about the campaign a notice is about, asked of the app
that owns campaigns.

Notifications must not import campaigns (campaigns writes to the outbox, so the
dependency points that way). The inbox still has to say, for each notice, whether the
reader's team still owes an acknowledgement or whether the campaign moved on; campaigns
registers the one function that answers (campaigns.apps), and this module is the whole
contract between the two.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

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
