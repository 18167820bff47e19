"""Failover drill: the Redis master dies (SIGKILL) in the middle of a fan-out.

A Redis master, a replica and three sentinels run as child processes; the Celery broker
and the Django cache are pointed at the sentinels as `REDIS_SENTINELS` would; a real
worker delivers an announcement to a few hundred people through a real SMTP server. The
master is killed once part of the e-mails went out. The sentinels promote the replica,
the worker reconnects to it, the beat sweep (called here on a short clock, as beat would)
re-queues what the dead master took with it, and every person gets exactly one e-mail.

The drill's numbers are written to test-artifacts/scale/sentinel-drill.json.
"""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import signals
from django.core.cache import cache

from accounts.models import User
from hub.redis_config import SentinelSettings, redis_broker_options
from notifications.models import Channel, Notification
from notifications.publish import publish_task
from tests.factories import make_marketer, team_with_members
from tests.support.processes import Process, binary
from tests.support.servers import announce, campaign_for, free_port, running_worker, wait_until

MASTER_NAME = "passerelle-drill"
PEOPLE = 300
BATCH = 10
SMTP_DELAY = 0.02  # per message: the fan-out lasts a couple of seconds
KILL_AFTER = 60  # e-mails received before the master dies
BEAT_SECONDS = 1.0  # the sweep's clock in this drill (60 s in production)
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "scale" / "sentinel-drill.json"

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@dataclass
class RedisSentinels:
    """A master, a replica and three sentinels (quorum 2) on loopback."""

    folder: Path
    program: str
    master_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    sentinel_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(3)])
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self) -> None:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._run("master", [self.program, "--port", str(self.master_port), *common])
        self._run(
            "replica",
            [
                self.program,
                "--port",
                str(self.replica_port),
                "--replicaof",
                "127.0.0.1",
                str(self.master_port),
                *common,
            ],
        )
        for index, port in enumerate(self.sentinel_ports):
            config = self.folder / f"sentinel-{index}.conf"  # sentinels rewrite their file
            config.write_text(
                f"port {port}\n"
                "bind 127.0.0.1\n"
                f"dir {self.folder}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 5000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            self._run(f"sentinel-{index}", [self.program, str(config), "--sentinel"])
        for name, port in self.ports.items():
            self.processes[name].wait_for_port(port)

    def _run(self, name: str, args: list[str]) -> None:
        self.processes[name] = Process(name, args, log=self.folder / f"{name}.log", cwd=self.folder)

    @property
    def ports(self) -> dict[str, int]:
        ports = {"master": self.master_port, "replica": self.replica_port}
        ports.update({f"sentinel-{i}": port for i, port in enumerate(self.sentinel_ports)})
        return ports

    @contextmanager
    def client(self, port: int) -> Iterator[redis.Redis]:
        client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            yield client
        finally:
            client.close()

    def ready(self) -> bool:
        """Each sentinel sees the other two and the replica, which is in sync."""
        try:
            with self.client(self.replica_port) as replica:
                if replica.info("replication").get("master_link_status") != "up":
                    return False
            for port in self.sentinel_ports:
                with self.client(port) as sentinel:
                    state = sentinel.sentinel_master(MASTER_NAME)
                if state["num-other-sentinels"] < 2 or state["num-slaves"] < 1:
                    return False
        except redis.RedisError:
            return False
        return True

    def master(self) -> int | None:
        """The master's port according to a majority of the sentinels."""
        answers: Counter[int] = Counter()
        for port in self.sentinel_ports:
            with suppress(redis.RedisError), self.client(port) as sentinel:
                _host, master_port = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
                answers[int(master_port)] += 1
        winner = answers.most_common(1)
        return winner[0][0] if winner and winner[0][1] >= 2 else None

    def settings(self) -> SentinelSettings:
        return SentinelSettings(
            sentinels=tuple(("127.0.0.1", port) for port in self.sentinel_ports),
            master=MASTER_NAME,
        )

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.output(15)}" for name, p in self.processes.items())


@pytest.fixture
def sentinels(tmp_path) -> Iterator[RedisSentinels]:
    cluster = RedisSentinels(folder=tmp_path, program=binary("redis-server"))
    try:
        cluster.start()
        assert wait_until(cluster.ready, timeout=20, interval=0.2), cluster.logs()
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def app_on_sentinels(celery_app, settings, sentinel: SentinelSettings) -> Iterator[None]:
    """The broker and the cache as settings.py builds them from REDIS_SENTINELS."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)
    celery_app._pool = celery_app.amqp._producer_pool = None
    conf.broker_url = sentinel.broker_url
    conf.broker_transport_options = redis_broker_options(sentinel.broker_url, sentinel)
    settings.CACHES = {"default": sentinel.cache(socket_timeout=1)}
    try:
        yield
    finally:
        celery_app._pool = celery_app.amqp._producer_pool = None
        conf.broker_url, conf.broker_transport_options = saved


@pytest.fixture
def arrivals(smtp_server) -> list[float]:
    """When the SMTP server accepted each message; each takes SMTP_DELAY, so that the
    fan-out is still going when the master dies."""
    times: list[float] = []
    accept = smtp_server.handler.handle_DATA

    async def slow_accept(server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(SMTP_DELAY)
        reply = await accept(server, session, envelope)
        times.append(time.monotonic())
        return reply

    smtp_server.handler.handle_DATA = slow_accept  # aiosmtpd looks the hook up each time
    return times


@pytest.fixture
def sweeps() -> Iterator[list[tuple[float, int]]]:
    """(monotonic time, rows re-queued) for each sweep that found something to re-queue."""
    found: list[tuple[float, int]] = []

    def on_postrun(sender: Any = None, retval: Any = None, **kwargs: Any) -> None:
        name = getattr(sender, "name", "")
        if name == "notifications.tasks.sweep_stale_notifications" and retval:
            found.append((time.monotonic(), retval))

    signals.task_postrun.connect(on_postrun, weak=False)
    try:
        yield found
    finally:
        signals.task_postrun.disconnect(on_postrun)


def ride_out_failover(
    sentinels: RedisSentinels, arrivals: list[float], *, killed_at: float
) -> dict[str, Any]:
    """After the kill: what beat and a web process would do (a sweep published every
    BEAT_SECONDS, fail-fast), with the cache in use, until everything went out. Returns
    when, in seconds after the kill, each came back."""
    old_master = sentinels.master_port
    back: dict[str, Any] = {}
    failed_publishes: list[float] = []
    next_tick = 0.0
    deadline = killed_at + 60
    while time.monotonic() < deadline:
        now = time.monotonic()
        if "failover_s" not in back and sentinels.master() not in (None, old_master):
            back["failover_s"] = round(now - killed_at, 2)
        if "cache_back_s" not in back:
            with suppress(redis.RedisError):
                cache.set("drill", "after")
                if cache.get("drill") == "after":
                    back["cache_back_s"] = round(now - killed_at, 2)
        if now >= next_tick:
            next_tick = now + BEAT_SECONDS
            if publish_task("notifications.tasks.sweep_stale_notifications"):
                back.setdefault("publish_back_s", round(now - killed_at, 2))
            else:
                failed_publishes.append(round(time.monotonic() - now, 3))
        if len(arrivals) >= PEOPLE and "failover_s" in back:
            break
        time.sleep(0.05)
    back["failed_publishes"] = len(failed_publishes)
    back["slowest_failed_publish_s"] = max(failed_publishes, default=0.0)
    return back


@pytest.mark.django_db(transaction=True)
def test_master_killed_mid_fan_out_every_email_goes_out_exactly_once(
    sentinels, celery_app, settings, smtp_server, arrivals, sweeps, quiet_worker_logging
):
    settings.NOTIFICATIONS_BATCH_SIZE = BATCH
    settings.NOTIFICATIONS_STALE_AFTER_SECONDS = 0  # the drill's beat ticks every second
    teams = [team_with_members(PEOPLE // 3)[0] for _ in range(3)]
    people = set(User.objects.filter(memberships__team__in=teams).values_list("email", flat=True))
    assert len(people) == PEOPLE
    campaign = campaign_for(owner=make_marketer(), teams=teams)
    numbers: dict[str, Any] = {"people": PEOPLE, "batch_size": BATCH}

    with app_on_sentinels(celery_app, settings, sentinels.settings()):
        cache.set("drill", "before")
        assert cache.get("drill") == "before"
        with running_worker(celery_app) as worker:
            announce(campaign)  # fan_out published on commit, through the sentinels
            assert wait_until(lambda: len(arrivals) >= KILL_AFTER, timeout=30), (
                f"only {len(arrivals)} e-mails before the kill"
            )
            sentinels.processes["master"].kill()
            killed_at = time.monotonic()
            numbers["emails_before_kill"] = len(arrivals)
            numbers |= ride_out_failover(sentinels, arrivals, killed_at=killed_at)
            time.sleep(1)  # a duplicate would have had time to arrive
        numbers["worker_task_failures"] = worker.failures
        numbers["tasks_finished"] = dict(worker.finished)

    assert "failover_s" in numbers, f"no failover: {numbers}\n{sentinels.logs()}"
    failover_at = killed_at + numbers["failover_s"]
    after_failover = [t - killed_at for t in arrivals if t > failover_at]
    by_person = Counter(smtp_server.handler.recipients())
    rows = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
    numbers |= {
        "emails_after_failover": len(after_failover),
        "first_email_after_failover_s": round(min(after_failover, default=-1), 2),
        "all_delivered_s": round(max(arrivals) - killed_at, 2),
        "rows_requeued_by_sweeps": [(round(t - killed_at, 2), n) for t, n in sweeps],
        "emails_received": sum(by_person.values()),
        "lost": len(people - set(by_person)),
        "duplicated": sum(count - 1 for count in by_person.values()),
        "rows_by_status": dict(Counter(rows.values_list("status", flat=True))),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(numbers, indent=2) + "\n")

    summary = json.dumps(numbers)
    assert numbers["lost"] == 0, summary
    assert numbers["duplicated"] == 0, summary
    assert set(by_person) == people, summary
    assert numbers["rows_by_status"] == {Notification.Status.SENT: PEOPLE}, summary
    # Delivery resumed through the promoted replica, not only from tasks already running.
    assert numbers["emails_after_failover"] > 0, summary
    assert "publish_back_s" in numbers, summary
    assert "cache_back_s" in numbers, summary
    # While no master was known, a web request's publish still gave up at once.
    assert numbers["slowest_failed_publish_s"] < 1.5, summary
