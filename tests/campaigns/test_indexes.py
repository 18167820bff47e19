"""Indexes whose condition restates a rule of the rule book must keep saying the same."""

from campaigns import rules
from campaigns.models import Campaign


def test_the_visible_launch_index_holds_the_campaigns_everybody_may_see():
    (index,) = [i for i in Campaign._meta.indexes if i.name == "campaign_launch_visible_idx"]
    assert index.condition == ~rules.private_q()
