"""When a message may be sent again, and how the log shows it: written once in
webhooks.rules, read by the Resend service and by the pages."""

import pytest

from core.errors import DomainError
from webhooks import rules
from webhooks.models import WebhookDelivery

Status = WebhookDelivery.Status


@pytest.mark.parametrize(
    ("status", "active", "may_resend"),
    [
        (Status.DELIVERED, True, True),
        (Status.FAILED, True, True),
        (Status.PENDING, True, False),
        (Status.SENDING, True, False),
        (Status.DELIVERED, False, False),
        (Status.FAILED, False, False),
    ],
)
def test_the_page_offers_resend_exactly_when_the_service_allows_it(status, active, may_resend):
    state = rules.delivery_state(status=status, endpoint_active=active)
    assert state.may_resend is may_resend
    if may_resend:
        rules.require_resend(status=status, endpoint_active=active)
    else:
        with pytest.raises(DomainError):
            rules.require_resend(status=status, endpoint_active=active)


def test_each_status_has_its_label_and_style():
    states = {s: rules.delivery_state(status=s, endpoint_active=True) for s in Status}
    assert {s: (st.label, st.pill) for s, st in states.items()} == {
        Status.PENDING: ("Pending", "pill-wait"),
        Status.SENDING: ("Sending", "pill-wait"),
        Status.DELIVERED: ("Delivered", "pill-ok"),
        Status.FAILED: ("Failed", "pill-late"),
    }
    assert [s for s, st in states.items() if st.waiting] == [Status.PENDING]
