"""Dashboard benchmark: the managers' pages on 100,000 campaigns x 5 teams, PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_bench \
        uv run python benchmarks/dashboard.py --campaigns 100000

What one run does:
1. recreates the database named in DATABASE_URL, migrates, and seeds it in SQL
   (`generate_series`, a fixed random seed): 5 teams (one with the "every member"
   policy), 50 advisors, 10 marketers, N campaigns announced over the last two years
   (mostly done, the recent ones still announced, some drafts, cancellations, material
   changes and overrides), one stakeholder row per campaign and team, and the
   acknowledgements behind them;
2. runs ANALYZE, then requests each dashboard page in-process through Django's test
   client as a logged-in manager (the full middleware, view and template stack, no
   network), a few times to warm up, then `--repeat` times, and prints the median and the
   90th percentile of the response times and the number of SQL queries per page;
3. with `--explain`, prints PostgreSQL's EXPLAIN ANALYZE of every query of the overview.

It drops and recreates the database named in DATABASE_URL, which must end in "_bench".
`--reuse` skips steps 1's drop and seed when the database already holds the campaigns.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import recreate_bench_database  # noqa: E402

TEAMS = [
    # name, slug, policy, members
    ("Service client", "service-client", "any", 15),
    ("Ventes particuliers", "ventes-particuliers", "any", 12),
    ("Ventes entreprises", "ventes-entreprises", "any", 10),
    ("Agences", "agences", "any", 10),
    ("Direction régionale", "direction-regionale", "every", 3),
]
MARKETERS = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for this benchmark.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign

    db_name = settings.DATABASES["default"]["NAME"]
    if not (args.reuse and _has_campaigns(db_name)):
        recreate_bench_database(db_name)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        _seed(args.campaigns)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _print_sizes()

    from accounts.models import User

    manager = User.objects.get(email="manager@bench.test")
    lead = User.objects.get(email="lead@bench.test")
    pages = [
        ("overview, last 4 weeks", manager, "/dashboard/"),
        ("overview, quarter", manager, "/dashboard/?period=quarter"),
        (
            "overview, custom year, e-mail channel",
            manager,
            "/dashboard/?period=custom&date_from=2025-12-01&date_to=2026-11-30&channel=email",
        ),
        ("overview, one team", manager, "/dashboard/?period=quarter&team=__team__"),
        ("overview as a team lead", lead, "/dashboard/?period=quarter"),
        ("overview, htmx fragment", manager, "/dashboard/?period=quarter"),
        ("team page (drill-down)", manager, "/dashboard/teams/service-client/"),
        ("CSV, teams", manager, "/dashboard/?period=quarter&format=csv&table=teams"),
        ("CSV, campaigns", manager, "/dashboard/?period=quarter&format=csv&table=campaigns"),
    ]
    team_id = str(_team_id("service-client"))
    print(f"\n{Campaign.objects.count():,} campaigns; times over {args.repeat} requests\n")
    print("| page | queries | median | p90 | max |\n| --- | ---: | ---: | ---: | ---: |")
    for label, user, url in pages:
        url = url.replace("__team__", team_id)
        htmx = "htmx" in label
        queries, times = _measure(user, url, repeat=args.repeat, htmx=htmx)
        print(
            f"| {label} | {queries} | {_ms(statistics.median(times))} "
            f"| {_ms(_p90(times))} | {_ms(max(times))} |"
        )
    if args.explain:
        _explain(manager, "/dashboard/?period=quarter")


def _measure(user, url: str, *, repeat: int, htmx: bool) -> tuple[int, list[float]]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"HX-Request": "true"} if htmx else {})
    client.force_login(user)
    for _ in range(3):
        _get(client, url)
    # Each request starts by emptying the connection's query log (request_started).
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    queries = len(captured)  # read now: the next request empties the log again
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(client, url)
        times.append(time.perf_counter() - started)
    return queries, times


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"{url}: HTTP {response.status_code}")
    if response.streaming:
        b"".join(response.streaming_content)
    else:
        response.content  # noqa: B018 - rendered already; read it as a browser would


def _explain(user, url: str) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        print(f"\n--- {query['time']} s\n{sql[:300]}{'…' if len(sql) > 300 else ''}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            for (line,) in cursor.fetchall():
                print(line)


def _seed(campaigns: int) -> None:
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from accounts.models import User
    from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Stakeholder
    from teams.models import Membership, Team
    from teams.roles import MANAGER, MARKETER

    with transaction.atomic():
        manager = User.objects.create_user(
            email="manager@bench.test", password="bench", full_name="Bench Manager"
        )
        manager.groups.add(Group.objects.get(name=MANAGER))
        marketers = Group.objects.get(name=MARKETER)
        for index in range(MARKETERS):
            user = User.objects.create_user(
                email=f"marketer{index}@bench.test", full_name=f"Marketer {index}"
            )
            user.groups.add(marketers)
        number = 0
        for position, (name, slug, policy, size) in enumerate(TEAMS):
            team = Team.objects.create(
                name=name, slug=slug, ack_policy=policy, ack_deadline_hours=48
            )
            for _ in range(size):
                number += 1
                user = User.objects.create_user(
                    email=f"advisor{number}@bench.test", full_name=f"Advisor {number}"
                )
                role = Membership.Role.MEMBER
                Membership.objects.create(team=team, user=user, role=role)
            if position == 0:
                lead = User.objects.create_user(email="lead@bench.test", full_name="Bench Lead")
                Membership.objects.create(team=team, user=lead, role=Membership.Role.LEAD)

        campaign = Campaign._meta.db_table
        stakeholder = Stakeholder._meta.db_table
        acknowledgement = Acknowledgement._meta.db_table
        event = CampaignEvent._meta.db_table
        membership = Membership._meta.db_table
        user_table = User._meta.db_table
        team_table = Team._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")
            # Campaign n was announced n * (730 days / N) ago; the launch follows 1 to 10
            # days later. Launched more than 30 days ago: done (3 % cancelled, 1 % of
            # them by override); the others announced. 2 % drafts, never announced.
            # 5 % had a material change: version 2.
            cursor.execute(
                f"""
                INSERT INTO {campaign} (
                    title, channel, audience, estimated_recipients, launch_at, ends_at,
                    owner_id, summary, body, objective, status, version,
                    already_sent_reason, done_override_reason, announced_at, done_at,
                    cancelled_at, created_at, updated_at)
                SELECT
                    'Campagne ' || n,
                    (ARRAY['email','sms','phone','mail','event','webinar','social','web',
                           'other'])[1 + n %% 9],
                    'Segment ' || (n %% 40),
                    1000 + (n * 37) %% 50000,
                    announced + launch_delay,
                    NULL,
                    (SELECT id FROM {user_table} WHERE email = 'marketer'
                        || (n %% {MARKETERS}) || '@bench.test'),
                    '', '', '',
                    CASE
                        WHEN draw < 0.02 THEN 'draft'
                        WHEN announced + launch_delay > now() - interval '30 days'
                            THEN 'announced'
                        WHEN draw < 0.05 THEN 'cancelled'
                        ELSE 'done'
                    END,
                    CASE WHEN draw BETWEEN 0.5 AND 0.55 THEN 2 ELSE 1 END,
                    '',
                    CASE WHEN draw BETWEEN 0.05 AND 0.06
                         AND announced + launch_delay <= now() - interval '30 days'
                         THEN 'Launched before the regional team answered' ELSE '' END,
                    CASE WHEN draw < 0.02 THEN NULL ELSE announced END,
                    CASE WHEN draw >= 0.05
                         AND announced + launch_delay <= now() - interval '30 days'
                         THEN announced + launch_delay + interval '3 days' END,
                    CASE WHEN draw >= 0.02 AND draw < 0.05
                         AND announced + launch_delay <= now() - interval '30 days'
                         THEN announced + interval '1 day' END,
                    announced - interval '2 days',
                    announced
                FROM (
                    SELECT n, random() AS draw,
                           now() - n * (interval '730 days' / %s) AS announced,
                           (1 + floor(random() * 10)) * interval '1 day' AS launch_delay
                    FROM generate_series(1, %s) AS n
                ) AS seed
                """,
                [campaigns, campaigns],
            )
            # One row per campaign and team, due 48 h after the announcement. 90 % of
            # the teams acknowledged (50 % to 82 % of those within the deadline, by
            # team); a version-2 campaign has 1 team in 3 still on version 1.
            cursor.execute(
                f"""
                INSERT INTO {stakeholder} (
                    campaign_id, team_id, due_at, acknowledged_version, acknowledged_at,
                    acknowledged_by_id, reminded_version, escalated_version)
                SELECT c.id, t.id,
                    c.announced_at + interval '48 hours',
                    CASE
                        WHEN c.status = 'draft' OR r.draw >= 0.9 THEN NULL
                        WHEN c.version = 2 AND r.draw < 0.3 THEN 1
                        ELSE c.version
                    END,
                    CASE WHEN c.status = 'draft' OR r.draw >= 0.9 THEN NULL
                         ELSE c.announced_at + r.delay END,
                    NULL, NULL, NULL
                FROM {campaign} c
                CROSS JOIN {team_table} t
                CROSS JOIN LATERAL (
                    -- "+ 0 * id" makes PostgreSQL draw again for every campaign and team.
                    SELECT random() + 0 * (c.id + t.id) AS draw,
                           CASE WHEN random() + 0 * (c.id + t.id) < 0.5 + 0.08 * mod(t.id, 5)
                                THEN random() * interval '47 hours'
                                ELSE interval '48 hours' + random() * interval '5 days'
                           END AS delay
                ) r
                """
            )
            cursor.execute(
                f"""
                UPDATE {stakeholder} s SET due_at = NULL FROM {campaign} c
                WHERE c.id = s.campaign_id AND c.status = 'draft'
                """
            )
            # The acknowledgements behind them: the first member for an "any member"
            # team, every member for the "every member" one.
            cursor.execute(
                f"""
                INSERT INTO {acknowledgement} (
                    stakeholder_id, user_id, version, note, created_at, revoked_at)
                SELECT s.id, m.user_id, s.acknowledged_version, '', s.acknowledged_at, NULL
                FROM {stakeholder} s
                JOIN {team_table} t ON t.id = s.team_id
                JOIN {membership} m ON m.team_id = t.id
                WHERE s.acknowledged_version IS NOT NULL
                  AND (t.ack_policy = 'every' OR m.id = (
                      SELECT min(id) FROM {membership} WHERE team_id = t.id))
                """
            )
            cursor.execute(
                f"""
                UPDATE {stakeholder} s SET acknowledged_by_id = a.user_id
                FROM {acknowledgement} a WHERE a.stakeholder_id = s.id
                """
            )
            cursor.execute(
                f"""
                INSERT INTO {event} (campaign_id, actor_id, kind, version, details, created_at)
                SELECT id, NULL, CASE WHEN done_override_reason <> ''
                                      THEN 'done_overridden' ELSE 'done' END,
                       version,
                       CASE WHEN done_override_reason <> ''
                            THEN jsonb_build_object('reason', done_override_reason)
                            ELSE '{{}}'::jsonb END,
                       done_at
                FROM {campaign} WHERE status = 'done'
                """
            )


def _has_campaigns(db_name: str) -> bool:
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) > 0 FROM campaigns_campaign")
            return cursor.fetchone()[0]
    except (OperationalError, ProgrammingError):
        return False


def _team_id(slug: str) -> int:
    from teams.models import Team

    return Team.objects.get(slug=slug).pk


def _print_sizes() -> None:
    from django.db.models import Count

    from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Stakeholder

    for model in (Campaign, Stakeholder, Acknowledgement, CampaignEvent):
        print(f"{model._meta.db_table}: {model.objects.count():,} rows")
    by_status = Campaign.objects.values_list("status").annotate(n=Count("pk")).order_by("status")
    print("campaigns by status: " + ", ".join(f"{s} {n:,}" for s, n in by_status))


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


if __name__ == "__main__":
    main()
