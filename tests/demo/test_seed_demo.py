"""`manage.py seed_demo` fills an empty database from demo/data/, dates the history in
the past without touching the clock, and is safe to run again."""

import ast
import shutil
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from campaigns.models import (
    Acknowledgement,
    Campaign,
    CampaignEvent,
    Feedback,
    Kpi,
    Stakeholder,
)
from demo.seed import DATA_DIR, DEMO_PASSWORD, DemoDataError, demo_load, demo_seed
from notifications.models import Dispatch, Notification
from teams.models import Membership, Team

pytestmark = pytest.mark.django_db

MODELS = (
    User,
    EmailAddress,
    Team,
    Membership,
    Campaign,
    Stakeholder,
    Acknowledgement,
    CampaignEvent,
    Kpi,
    Notification,
    Dispatch,
)
# The timeline event each step leaves (a feedback message has none: the thread is its own list).
STEP_EVENT = {
    "announce": CampaignEvent.Kind.ANNOUNCED,
    "ack": CampaignEvent.Kind.ACKNOWLEDGED,
    "edit": CampaignEvent.Kind.EDITED,
    "done": CampaignEvent.Kind.DONE,
    "override": CampaignEvent.Kind.DONE_OVERRIDDEN,
    "cancel": CampaignEvent.Kind.CANCELLED,
    "results": CampaignEvent.Kind.RESULTS,
}
# The services stamp a step a few milliseconds after the seed read the clock for it.
CLOSE = timedelta(seconds=2)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _close(actual: datetime | None, expected: datetime) -> bool:
    return actual is not None and expected <= actual <= expected + CLOSE


def test_seed_twice_creates_nothing_the_second_time():
    assert _counts() == dict.fromkeys(_counts(), 0)

    first_output = _seed()
    first = _counts()
    second_output = _seed()

    assert _counts() == first
    assert "14 campaigns created" in first_output
    assert "nothing created" in second_output


def test_seed_covers_every_status_and_the_roles():
    _seed()

    statuses = set(Campaign.objects.values_list("status", flat=True))
    assert statuses == set(Campaign.Status.values)
    assert User.objects.filter(groups__name="Marketer").exists()
    assert User.objects.filter(groups__name="Manager").exists()
    assert Team.objects.filter(ack_policy=Team.AckPolicy.EVERY_MEMBER).exists()
    # Every campaign has a timeline starting with its creation.
    for campaign in Campaign.objects.all():
        first_event = campaign.events.order_by("created_at", "id").first()
        assert first_event is not None
        assert first_event.kind == CampaignEvent.Kind.CREATED


def test_every_step_is_on_the_timeline_at_its_moment_by_its_actor():
    demo = demo_load()
    demo_seed(demo)

    for story in demo.stories:
        campaign = Campaign.objects.get(title=story.fields["title"])
        events = list(campaign.events.select_related("actor").order_by("id"))
        assert _close(campaign.created_at, story.created), campaign
        assert _close(events[0].created_at, story.created), campaign
        played = [event for event in events if event.kind in STEP_EVENT.values()]
        steps = [step for step in story.steps if step.action in STEP_EVENT]
        assert len(played) == len(steps), campaign
        for event, step in zip(played, steps, strict=True):
            assert event.kind == STEP_EVENT[step.action], (campaign, step)
            assert event.actor.email == demo.people[step.by].email, (campaign, step)
            assert _close(event.created_at, step.at), (campaign, step)
        # The launch and end dates are the story's, once the edits are played.
        final = dict(story.fields)
        for step in story.steps:
            if step.action == "edit":
                final.update(step.details["changes"])
        assert campaign.launch_at == final.get("launch_at"), campaign
        assert campaign.ends_at == final.get("ends_at"), campaign


@pytest.fixture
def at_work():
    """The seed sweeps like beat, and beat escalates only in the team's working hours: the
    tests that expect an escalation run on a Wednesday morning in Paris."""
    with time_machine.travel(datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("Europe/Paris"))):
        yield


@pytest.mark.usefixtures("at_work")
def test_timelines_are_dated_in_the_past_in_order():
    before = timezone.now()
    _seed()

    for campaign in Campaign.objects.all():
        stamps = list(campaign.events.order_by("id").values_list("created_at", flat=True))
        assert stamps == sorted(stamps), campaign
        assert stamps[-1] <= before, campaign
        assert campaign.created_at <= campaign.updated_at <= before, campaign
        for moment in (campaign.announced_at, campaign.done_at, campaign.cancelled_at):
            assert moment is None or campaign.created_at < moment <= before, campaign
    assert not Acknowledgement.objects.filter(created_at__gt=before).exists()
    assert not Stakeholder.objects.filter(acknowledged_at__gt=before).exists()
    # Only what beat would send right away is dated now: escalations, and reminders
    # depending on the hour the seed runs.
    recent = set(Notification.objects.filter(created_at__gte=before).values_list("kind", flat=True))
    assert "escalation" in recent
    assert recent <= {"escalation", "reminder"}
    for notification in Notification.objects.exclude(read_at=None):
        assert notification.created_at <= notification.read_at <= before


@pytest.mark.usefixtures("at_work")
def test_due_dates_and_notices_follow_the_story_dates():
    _seed()

    for stakeholder in Stakeholder.objects.exclude(due_at=None).select_related("campaign"):
        campaign = stakeholder.campaign
        # Due after the announcement, and never after the launch (launch dates were
        # moved forward while the steps ran; the caps must have followed them back).
        assert campaign.announced_at < stakeholder.due_at <= campaign.launch_at, stakeholder
    for dispatch in Dispatch.objects.select_related("campaign"):
        campaign = dispatch.campaign
        if dispatch.campaign_version == campaign.version and dispatch.payload["launch_at"]:
            launch = datetime.fromisoformat(dispatch.payload["launch_at"])
            assert launch == campaign.launch_at, dispatch
    # The phone campaign's advisors are late: their lead and the managers were escalated to.
    late = Stakeholder.objects.get(
        campaign__title__startswith="Appels de courtoisie", team__slug="conseillers-clientele"
    )
    assert late.due_at < timezone.now()
    assert late.escalated_version == late.campaign.version
    # The printer's delay made version 2, which only the advisors acknowledged again.
    letter = Campaign.objects.get(title__startswith="Courrier")
    assert letter.version == 2
    acknowledged = letter.stakeholders.filter(acknowledged_version=2)
    assert list(acknowledged.values_list("team__slug", flat=True)) == ["conseillers-clientele"]


def test_demo_logins_work(client, settings):
    # allauth's login rate limit lives in the cache: keep it out of the development one.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    output = _seed()
    logins = demo_load().logins

    # The README's table, in its order.
    assert logins == [
        "marketer@example.com",
        "advisor@example.com",
        "sales@example.com",
        "lead@example.com",
        "manager@example.com",
        "admin@example.com",
    ]
    assert f"Log in as {', '.join(logins)} with the password 'passerelle-demo'." in output
    for email in logins:
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert client.get("/campaigns/").status_code == 200, email


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the demo data to change."""
    return Path(shutil.copytree(DATA_DIR, tmp_path / "data"))


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('by = "julien", action = "announce"', 'by = "nobody", action = "announce"', "nobody"),
        ('at = "day -25 at 10:00"', 'at = "day 1 at 10:00"', "not in the past"),
        ('at = "day -25 at 10:30"', 'at = "day -26 at 10:30"', "not after the step before"),
        ('action = "announce"', 'action = "publish"', "cannot play"),
        ('at = "day -25 at 10:00"', 'at = "next tuesday"', "unreadable moment"),
        ('body_file = "cgv.md"', 'bodyfile = "cgv.md"', "unknown campaign field 'bodyfile'"),
    ],
)
def test_unplayable_data_fails_before_writing_anything(data_dir, old, new, message):
    _replace(data_dir / "campaigns.toml", old, new)

    with pytest.raises(DemoDataError, match=message):
        demo_load(data_dir)

    assert _counts() == dict.fromkeys(_counts(), 0)


def test_the_command_names_the_problem(monkeypatch, data_dir):
    _replace(data_dir / "people.toml", 'teams = { ventes = "lead" }', 'teams = { vente = "lead" }')
    monkeypatch.setattr("demo.seed.DATA_DIR", data_dir)

    with pytest.raises(CommandError, match="person 'antoine': unknown team 'vente'"):
        call_command("seed_demo")


def test_a_feedback_step_is_posted_and_dated(data_dir):
    _replace(
        data_dir / "campaigns.toml",
        '    { at = "day -21 at 10:15", by = "advisor", action = "ack" },\n',
        '    { at = "day -21 at 10:15", by = "advisor", action = "ack" },\n'
        '    { at = "day -21 at 10:20", by = "advisor", action = "feedback", tag = "question",'
        ' body = "Le replay sera-t-il sous-titré ?" },\n',
    )
    demo = demo_load(data_dir)
    step = next(step for story in demo.stories for step in story.steps if step.action == "feedback")

    demo_seed(demo)

    feedback = Feedback.objects.get()
    assert (feedback.author.email, feedback.tag) == ("advisor@example.com", "question")
    assert _close(feedback.created_at, step.at)
    notices = Notification.objects.filter(kind="feedback", dispatch__payload__tag="question")
    assert {notice.recipient for notice in notices} == {feedback.campaign.owner}
    assert all(_close(notice.created_at, step.at) for notice in notices)


def test_no_module_under_demo_imports_unittest_or_a_clock_patcher():
    demo_dir = DATA_DIR.parent
    modules = list(demo_dir.rglob("*.py"))
    assert len(modules) >= 4
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root not in {"unittest", "mock", "time_machine", "freezegun"}, path
