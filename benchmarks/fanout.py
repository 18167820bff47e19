"""Fan-out benchmark: one announcement to N recipients, delivered by 2 worker processes.

Measures, in one run, on PostgreSQL + Redis:
- the time to write the outbox rows (the announce transaction, bulk inserts);
- the time until every e-mail reached a local SMTP sink (aiosmtpd on loopback, offering
  PIPELINING as relays do; --no-pipelining for one that does not);
- the delivery rate against the rate at which the same 2 workers run no-op tasks;
- the announce response time with Redis stopped (broker pointed at a closed port).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_bench \
        uv run python benchmarks/fanout.py --recipients 10000

It starts its own redis-server on a free port (and stops it for the last measurement).

It drops and recreates the database named in DATABASE_URL, which must end in "_bench".
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    configure_production_environment,
    recreate_bench_database,
)


class CountingHandler:
    def __init__(self, *, pipelining: bool = True) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        # Offered by the relays a company sends through (Postfix, Exim…);
        # --no-pipelining measures a server that does not offer it.
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        with self.lock:
            self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--noop-tasks", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="an SMTP sink that does not offer PIPELINING (four round trips an e-mail)",
    )
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for this benchmark.")
    # A Redis server of our own, so the benchmark can stop it without harming others.
    redis_port = _free_port()
    redis_server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"

    from aiosmtpd.controller import Controller

    handler = CountingHandler(pipelining=not args.no_pipelining)
    smtp_port = _free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    # Production settings, as the other benchmarks run (with DEBUG=0 they need a secret
    # key, which a fresh shell does not have), e-mail to the sink.
    configure_production_environment("fanout", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    db_name = connection.settings_dict["NAME"]
    recreate_bench_database(db_name)
    call_command("migrate", verbosity=0)

    from accounts.models import User
    from campaigns import services
    from hub.celery import app
    from notifications.models import Channel, Notification
    from teams.models import Membership, Team
    from tests.factories import make_marketer

    marketer = make_marketer(email="bench-marketer@example.com")
    teams = [Team.objects.create(name=f"Bench team {i}", slug=f"bench-{i}") for i in range(3)]
    users = User.objects.bulk_create(
        User(email=f"advisor{i}@bench.example.com", full_name=f"Advisor {i}", password="!")
        for i in range(args.recipients)
    )
    Membership.objects.bulk_create(
        Membership(team=teams[i % len(teams)], user=user) for i, user in enumerate(users)
    )

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hub",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(args.workers),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        _wait_for_worker(app)
        noop_rate = _noop_rate(app, args.noop_tasks)

        campaign = _campaign(services, marketer, teams, title="Carte de vœux 2027 (benchmark)")
        started = time.perf_counter()
        services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
        rows_seconds = time.perf_counter() - started
        expected = args.recipients
        emails = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
        while time.perf_counter() - started < 300:
            if handler.count >= expected and emails.filter(status="sent").count() >= expected:
                break
            time.sleep(0.05)
        delivery_seconds = time.perf_counter() - started
        delivery_rate = handler.count / delivery_seconds
        sent = emails.filter(status="sent").count()

        # Announce to a 50-person team, with Redis up and then with Redis stopped: the
        # request must not wait for the broker.
        small_team = Team.objects.create(name="Bench small team", slug="bench-small")
        Membership.objects.bulk_create(Membership(team=small_team, user=u) for u in users[:50])
        up = _campaign(services, marketer, [small_team], title="Redis up (benchmark)")
        started = time.perf_counter()
        services.campaign_announce(actor=marketer, campaign_id=up.pk)
        redis_up_ms = (time.perf_counter() - started) * 1000
        worker.terminate()
        worker.wait(30)
        redis_server.terminate()
        redis_server.wait(10)
        down = _campaign(services, marketer, [small_team], title="Redis down (benchmark)")
        started = time.perf_counter()
        services.campaign_announce(actor=marketer, campaign_id=down.pk)
        redis_down_ms = (time.perf_counter() - started) * 1000
        pending_after = Notification.objects.filter(campaign=down, status="pending").count()
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(30)
        if redis_server.poll() is None:
            redis_server.terminate()
        smtp.stop()

    results = {
        "recipients": expected,
        "SMTP sink offers PIPELINING": "no" if args.no_pipelining else "yes",
        "outbox rows written": Notification.objects.filter(campaign=campaign).count(),
        "rows written in (s)": round(rows_seconds, 2),
        "all e-mails delivered in (s)": round(delivery_seconds, 2),
        "e-mails received by the SMTP sink": handler.count,
        "rows marked sent": sent,
        "delivery rate (e-mails/s)": round(delivery_rate, 1),
        "no-op task rate, same 2 workers (tasks/s)": round(noop_rate, 1),
        "ratio delivery/no-op": round(delivery_rate / noop_rate, 2),
        "announce to 50 people, Redis up (ms)": round(redis_up_ms, 1),
        "announce to 50 people, Redis stopped (ms)": round(redis_down_ms, 1),
        "rows left pending for the sweep": pending_after,
    }
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_worker(app) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if app.control.ping(timeout=1.0):
            return
    sys.exit("worker did not start")


def _noop_rate(app, count: int) -> float:
    from core.tasks import ping

    redis = app.connection_for_write().default_channel.client
    started = time.perf_counter()
    for _ in range(count):
        ping.delay()
    # With acks_late a message stays in the transport's "unacked" hash until its task
    # finished, so both being empty means every task ran.
    while redis.llen("celery") > 0 or redis.hlen("unacked") > 0:
        time.sleep(0.01)
    return count / (time.perf_counter() - started)


def _campaign(services, marketer, teams, *, title: str):
    from django.utils import timezone as tz

    return services.campaign_create(
        actor=marketer,
        data=services.CampaignInput(
            title=title,
            channel="email",
            audience="Clients et prospects actifs",
            estimated_recipients=40_000,
            launch_at=tz.now() + timedelta(days=7),
            summary="Nos vœux à toute la base.",
            body="## Points clés\n\n- Aucune offre commerciale\n- Répondre avec bienveillance",
            team_ids=[t.pk for t in teams],
        ),
    )


if __name__ == "__main__":
    main()
