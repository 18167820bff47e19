"""Render docs/RELIABILITY.md from the fault drills' JSON report.

    DRILL_REPORT=/tmp/drills.json DATABASE_URL=... REDIS_URL=... \\
        PASSERELLE_REQUIRE_SERVICES=1 uv run pytest -m drill -p no:randomly
    uv run python benchmarks/drill_report.py /tmp/drills.json [--output docs/RELIABILITY.md]

Each drill (tests/drills/) writes one row through tests.support.drills.record_drill; this
script only formats them, adding facts about the machine it runs on (run it on the
machine that ran the drills).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "RELIABILITY.md"

# Keys of a drill's row that the table and the per-drill notes already show.
SHOWN = {
    "drill",
    "fault",
    "emails",
    "in_app",
    "webhooks",
    "expected",
    "delivered",
    "lost",
    "duplicated",
    "allowed_duplicates",
    "seconds_to_first_delivery_after_fault",
    "seconds_to_full_delivery_after_fault",
    "seconds_to_full_delivery_after_announce",
    "settings",
    "notes",
    "ran_at",
}

# The production defaults (hub/settings.py); a drill's settings are shown as they differ.
DEFAULTS = {
    "LEASE_SECONDS": "30",
    "SWEEP_SECONDS": "15",
    "STALE_AFTER_SECONDS": "30",
    "RETRY_BASE_SECONDS": "30",
    "RETRY_MAX_DELAY_SECONDS": "900",
    "RETRY_WINDOW_HOURS": "24",
    "BATCH_SIZE": "100",
    "EXPAND_INLINE_MAX": "50",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
}

# What each drill shows, by its row's name (the drills' docstrings say more).
EXPLAINED = {
    "PostgreSQL connections terminated mid-batch": (
        "pg_terminate_backend on every worker connection while 100-row batches are half "
        "sent (a failover, a PgBouncer restart). Each outcome is written right after its "
        'message and retried on a new connection, so no batch is left "sending" to be '
        "sent again."
    ),
    "Redis stopped at the announce": (
        "The announce commits without the broker (the publish fails fast and is logged); "
        "the unexpanded dispatch waits in the database and the sweep expands it once Redis "
        "is back."
    ),
    "Redis stopped mid-delivery": (
        "Redis runs without persistence, so the queued deliveries are lost with it; the "
        "rows are still pending in the outbox and the sweep queues them again."
    ),
    "SMTP down longer than the old retry window": (
        "Transient failures are retried for a time window (24 h), not a number of "
        "attempts: no row fails while the relay is down, all go out once it is back."
    ),
    "Worker processes SIGKILLed mid fan-out": (
        "The rows the dead processes held keep a lease nobody renews; the sweep gives them "
        "back once it expires. At most one duplicate per killed pool process (see below)."
    ),
    "Webhooks answering 500, hanging, 410": (
        "Each post is a task of its own: a 500 is retried with backoff, a hanging server "
        "times out and is retried while everything else goes out, a 410 marks the team's "
        "webhook broken (its lead and the managers told once) and stops posting there."
    ),
    "Two beats at once": (
        "Every scheduled task runs twice. Sweeps hand out the same rows again; the claim "
        "lets only one task send each. Digests are claimed per person and day (DigestRun), "
        "so the second beat's digest run sends nothing."
    ),
}

INTRO = """\
# Reliability: fault drills

Passerelle promises that every stakeholder is told, once. The fault drills check that
promise against the faults a deployment meets: each one starts the real processes of a
deployment as children of the test (its own `redis-server`, `celery -A hub worker` with a
prefork pool, `celery -A hub beat`), an SMTP server and a chat-webhook server on loopback,
on a real PostgreSQL test database; announces a campaign to hundreds or thousands of
people; injects one fault (a process SIGKILLed, connections terminated, Redis or SMTP
stopped, webhooks failing, a second beat); and counts what reached the sinks **by
notification id** (every e-mail and post carries its outbox row's id in
`X-Passerelle-Notification`): lost = a row never received, duplicated = a row received
more than once. In-app notices are rows: lost = a person without one, duplicated = two for
the same event.

The drills are in `tests/drills/` (marker `drill`; helpers in `tests/support/drills.py`).
Without PostgreSQL or a `redis-server` binary they are skipped, unless
`PASSERELLE_REQUIRE_SERVICES=1`, where they fail. To run them and regenerate this page:

```sh
DRILL_REPORT=/tmp/drills.json DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle \\
  REDIS_URL=redis://127.0.0.1:6379/0 PASSERELLE_REQUIRE_SERVICES=1 \\
  uv run pytest -m drill -p no:randomly
uv run python benchmarks/drill_report.py /tmp/drills.json
```

Times are wall-clock seconds measured by the test (`time.monotonic()`): **recovery** is
from the end of the fault (the moment the stopped service was back, the last kill or cut,
the release of a hanging endpoint) to the first message that reached a sink after it;
**full delivery** is when the last expected message first arrived, counted from the end
of the fault and from the announce. Full delivery also measures how fast this machine
sends a few thousand e-mails while other work runs on it.
"""

SIGKILL_SECTION = """\
## Why a SIGKILL can send one message twice

Everything else in the pipeline is exactly-once: a row is claimed by a conditional update
(`SELECT … FOR UPDATE SKIP LOCKED`, then "sending"), so two workers, two beats or two
sweeps never hold it at once; each outcome is written right after its message went out,
and retried on a fresh connection when the database connection was cut, so a failover
does not leave a sent row looking unsent.

One window is left, and no design can close it between two independent systems. A worker
sends a message: the SMTP server answers `250` to the end of `DATA` and has taken the
message. The worker's next step is the `UPDATE` that records "sent". A process SIGKILLed
(the OOM killer, `kill -9`, a node lost) between those two steps leaves the row "sending"
with a lease nobody renews. The lease expires, the sweep gives the row back, and another
worker sends it again, because as far as the database knows it was never sent. Recording
"sent" before sending would turn the same kill into a lost message instead, which is
worse. Two-phase commit does not exist between SMTP and PostgreSQL.

So each killed process can duplicate at most the one message it had in that window (it
sends one message at a time and records each before the next): **at most one duplicate
per killed pool process**, and the "Worker processes SIGKILLed" drill checks exactly that
bound. A clean stop (SIGTERM, a deploy) finishes the message and its write first and
duplicates nothing. Every message carries `X-Passerelle-Notification` (and a stable
`Message-ID` where the mail provider keeps it), so a receiving system that cares can drop
the repeat. The same holds for a chat webhook that times out: the client cannot know
whether a server that never answered posted the message; the post is retried, and a
server that had posted it shows it twice (the drill's sink does not process an
unanswered post, so none is counted).
"""


def _run(args: Sequence[str]) -> str:
    if shutil.which(args[0]) is None:
        return ""
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> list[tuple[str, str]]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return [
        ("CPU", f"{_cpu_model()} ({os.cpu_count()} logical cores)"),
        ("Memory", _memory()),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", platform.python_version()),
        ("PostgreSQL", _run(["psql", "--version"]) or "unknown"),
        ("Redis", _run(["redis-server", "--version"]) or "unknown"),
        ("Celery / kombu", f"{_version('celery')} / {_version('kombu')}"),
        ("Django", _version("django")),
        ("Load average when this page was written (1, 5, 15 min)", load or "unknown"),
    ]


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float) or value != value or value in {float("inf")}:
        return "never"
    return f"{value:.1f}"


def _settings(values: Mapping[str, Any]) -> str:
    changed = [
        f"{name}={value}" for name, value in values.items() if DEFAULTS.get(name) != str(value)
    ]
    return ", ".join(changed) if changed else "defaults"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _duplicated(row: Mapping[str, Any]) -> str:
    return f"{row.get('duplicated', 0)} ({row.get('allowed_duplicates', 0)})"


def table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [
        "| drill | fault | expected | delivered | lost | duplicated (allowed) | "
        "recovery s | full delivery after fault s | full delivery after announce s | "
        "settings (not default) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        cells = [
            f"**{_cell(row['drill'])}**",
            _cell(row.get("fault", "")),
            str(row.get("expected", "")),
            str(row.get("delivered", "")),
            str(row.get("lost", "")),
            _duplicated(row),
            _seconds(row.get("seconds_to_first_delivery_after_fault")),
            _seconds(row.get("seconds_to_full_delivery_after_fault")),
            _seconds(row.get("seconds_to_full_delivery_after_announce")),
            _cell(_settings(row.get("settings") or {})),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _channel(name: str, tally: Mapping[str, Any] | None) -> str | None:
    if not tally:
        return None
    parts = [f"{tally.get('delivered')}/{tally.get('expected')} delivered"]
    if "lost" in tally:
        parts.append(f"{tally['lost']} lost")
    parts.append(f"{tally.get('duplicated', 0)} duplicated")
    if tally.get("unexpected"):
        parts.append(f"{tally['unexpected']} unexpected")
    return f"{name}: " + ", ".join(parts)


def _extra(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def notes(row: Mapping[str, Any], failed: Mapping[str, str]) -> list[str]:
    lines = [f"### {row['drill']}", "", f"Fault: {row.get('fault', '')}."]
    if row["drill"] in failed:
        lines += ["", f"**Failed in this run:** {failed[row['drill']]}"]
    if row["drill"] in EXPLAINED:
        lines += ["", EXPLAINED[row["drill"]]]
    channels = [
        _channel("e-mails", row.get("emails")),
        _channel("in-app notices", row.get("in_app")),
        _channel("webhook posts", row.get("webhooks")),
    ]
    lines += ["", *[f"- {c}" for c in channels if c]]
    if row.get("notes"):
        lines += ["", str(row["notes"])]
    others = {k: v for k, v in row.items() if k not in SHOWN}
    if others:
        lines += ["", "Measured:", ""]
        lines += [f"- `{k}`: `{_extra(v)}`" for k, v in others.items()]
    settings = row.get("settings") or {}
    if settings:
        used = ", ".join(f"{k}={v}" for k, v in settings.items())
        lines += ["", f"Settings (`NOTIFICATIONS_…`): {used}."]
    if row.get("ran_at"):
        lines += ["", f"Ran at {row['ran_at']}."]
    return [*lines, ""]


def verdict(rows: Sequence[Mapping[str, Any]], failed: Mapping[str, str]) -> str:
    over = [
        str(r["drill"])
        for r in rows
        if r.get("lost") or (r.get("duplicated") or 0) > (r.get("allowed_duplicates") or 0)
    ]
    said = []
    if over:
        said.append("**Outside the targets (lost or duplicated):** " + ", ".join(over) + ".")
    if failed:
        said.append(
            "**Failed an assertion in this run:** "
            + "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        )
    if said:
        return " ".join(said)
    return (
        f"Every drill ({len(rows)}): 0 lost, and no duplicate beyond the one-per-killed-process "
        "bound explained below."
    )


def render(report: Mapping[str, Any], failed: Mapping[str, str] | None = None) -> str:
    failed = failed or {}
    rows = list(cast("Mapping[str, Mapping[str, Any]]", report.get("drills", {})).values())
    rows.sort(key=lambda r: str(r.get("ran_at", "")))
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [INTRO, "## The machine", ""]
    lines += [f"- {name}: {value}" for name, value in machine_facts()]
    lines += [
        "",
        f"Generated {generated} from {len(rows)} drill row(s); each row's run time is in its "
        "notes. Drills ran one after the other (`-p no:randomly`, no xdist) while other "
        "benchmarks used the same machine.",
        "",
        "## Results",
        "",
        verdict(rows, failed),
        "",
        "Expected, delivered and lost add up e-mails, in-app notices and webhook posts. "
        "Duplicated is what arrived more than once, with the number the drill allows in "
        "brackets. Settings lists the `NOTIFICATIONS_…` values the drill changed from the "
        "production defaults (lease 30 s, sweep 15 s, stale after 30 s, retry base 30 s "
        "capped at 900 s for 24 h, batches of 100, inline expansion up to 500 people, "
        "webhook timeout 5 s).",
        "",
        *table(rows),
        "",
        "## Per drill",
        "",
    ]
    for row in rows:
        lines += notes(row, failed)
    lines.append(SIGKILL_SECTION)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("report", type=Path, help="the JSON file named by DRILL_REPORT")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--failed",
        action="append",
        default=[],
        metavar="DRILL=REASON",
        help="a drill whose test failed in the run (its row is still recorded), and why",
    )
    args = parser.parse_args(argv)
    failed = dict(item.split("=", 1) for item in args.failed if "=" in item)
    try:
        report = json.loads(args.report.read_text())
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.report}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(report, dict) or not report.get("drills"):
        print(f"{args.report} holds no drill rows", file=sys.stderr)
        return 1
    args.output.write_text(render(report, failed))
    print(f"wrote {args.output} ({len(report['drills'])} drills)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
