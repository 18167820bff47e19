"""The CSV import of campaigns: what an export from HubSpot, Brevo or a spreadsheet says
(`decode`, `parse`), and what importing each of its rows would do (`plan`).

Nothing here writes. The preview page shows the plan; the confirmation plans the same
text again (kept on the server, never sent back by the browser) and hands the rows to
campaigns.services.campaigns_import, which saves each one by its id in the source
(campaign_save_by_reference): a row whose id is known updates that campaign, any other
creates one, and a row that would change nothing is left alone, so importing the same
file twice creates nothing the second time.

A column is recognised by its heading, in English or French, whatever its case and
accents ("Nom de la campagne", "Send date", "Liste(s)"…); headings the import does not
know are listed and ignored. Empty cells leave an existing campaign's value as it is.
"""

import csv
import functools
import hashlib
import io
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campaigns import rules, selectors
from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.changes import FIELDS as CHANGE_FIELDS
from campaigns.changes import content_of
from campaigns.models import Campaign
from campaigns.rules import Action
from campaigns.services import (
    UPDATABLE_FIELDS,
    CampaignInput,
    ImportItem,
    campaign_input_content,
    campaign_validate,
    input_over_campaign,
    reference_errors,
)
from core.bounds import INT4_MAX
from core.errors import DomainError, PermissionRefused
from teams.roles import Actor

MAX_BYTES = 2 * 1024 * 1024
# The confirmation saves each row through the services while the person waits, at about
# 10 to 15 ms a row: a thousand rows stay well inside a web worker's 30 s timeout.
MAX_ROWS = 1_000
DEFAULT_SOURCE = "csv"
Channel = Campaign.Channel


def file_error(message: str) -> DomainError:
    """A file the import cannot read at all: nothing of it is kept."""
    return DomainError.for_fields({"file": [message]}, code="invalid_file")


# --- the file's text ---------------------------------------------------------------------

_EXCEL = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (a zip), .xls (an OLE file)
# Control characters a text file never holds (tabs and line breaks aside): a binary file
# decoded as Windows-1252 is full of them.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 with or without a byte order mark, else Windows-1252
    (Excel's "CSV" on Windows), or UTF-16 with its mark (Excel's "Unicode text").
    DomainError for an empty, too large or binary file."""
    if len(raw) > MAX_BYTES:
        raise file_error(too_large_message())
    if raw.startswith(_EXCEL):
        raise file_error(
            _(
                "This is an Excel workbook, not a CSV file: in Excel, save it as "
                "“CSV” and import that file."
            )
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = "\x00"  # a byte Windows-1252 leaves undefined: not text either
    if _BINARY.search(text):
        raise file_error(_("This file is not a CSV file: it does not hold text."))
    if not text.strip():
        raise file_error(_("The file is empty."))
    return text


def size_label(size: int) -> str:
    return _("%(megabytes)s MB") % {"megabytes": size // (1024 * 1024)}


def too_large_message() -> str:
    return _("The file is larger than %(size)s: split it into smaller files.") % {
        "size": size_label(MAX_BYTES)
    }


# --- the columns -------------------------------------------------------------------------


def _key(heading: str) -> str:
    """A heading as it is compared: casefolded, without accents, "(s)", punctuation or
    repeated blanks ("Liste(s)" → "liste", "Date d\u2019envoi" → "date d'envoi")."""
    text = unicodedata.normalize("NFKD", heading.replace("\ufeff", "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("(s)", "").replace("’", "'").replace("‘", "'")
    return re.sub(r"[\s_\-.:/#]+", " ", text).strip()


# Each field's headings, most specific first: a file with both "Channel" and "Type"
# reads its channel from "Channel".
_HEADINGS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "external id",
        "campaign id",
        "email id",
        "e-mail id",
        "id de campagne",
        "id campagne",
        "identifiant de campagne",
        "identifiant",
        "id",
    ),
    "title": (
        "campaign name",
        "nom de la campagne",
        "nom de campagne",
        "email name",
        "e-mail name",
        "campaign title",
        "name",
        "title",
        "nom",
        "titre",
        "campaign",
        "campagne",
    ),
    "channel": ("channel", "canal", "campaign type", "type de campagne", "type", "medium"),
    "launch_at": (
        "send date",
        "send_at",
        "send at",
        "send time",
        "sent date",
        "scheduled date",
        "scheduled send date",
        "publish date",
        "launch date",
        "launch at",
        "date d'envoi",
        "date d'envoi prevue",
        "date de lancement",
        "date de publication",
        "date",
    ),
    "audience": (
        "audience",
        "segment",
        "segments",
        "list",
        "lists",
        "liste",
        "listes",
        "recipient list",
        "contact list",
        "liste de contacts",
        "cible",
    ),
    "estimated_recipients": (
        "estimated recipients",
        "number of recipients",
        "recipient count",
        "recipients",
        "nombre de destinataires",
        "destinataires",
        "sent",
        "envoyes",
        "contacts",
    ),
    "summary": ("summary", "description", "resume"),
    "team_ids": (
        "stakeholder teams",
        "teams",
        "team",
        "equipes concernees",
        "equipes",
        "equipe",
    ),
}
_FIELD_OF: dict[str, tuple[str, int]] = {
    _key(heading): (name, rank)
    for name, headings in _HEADINGS.items()
    for rank, heading in enumerate(headings)
}


def columns_of(headings: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Which column each field reads (field → index), and the headings left unread."""
    best: dict[str, tuple[int, int]] = {}  # field → (rank, index)
    for index, heading in enumerate(headings):
        found = _FIELD_OF.get(_key(heading))
        if found is not None:
            name, rank = found
            if name not in best or rank < best[name][0]:
                best[name] = (rank, index)
    columns = {name: index for name, (_rank, index) in best.items()}
    used = set(columns.values())
    ignored = [h.strip() for i, h in enumerate(headings) if i not in used and h.strip()]
    return columns, ignored


# --- the cells ---------------------------------------------------------------------------


def _token(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


@functools.cache
def _channel_names() -> dict[str, str]:
    """Every channel by its value and its label in each language, as tokens."""
    names: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for value, label in Channel.choices:
                names[_token(str(label))] = value
    names.update({_token(value): value for value in Channel.values})
    return names


# What exports write for a channel, looked for inside the cell ("Regular email",
# "BATCH_EMAIL", "Campagne SMS"), in this order: "webinar" before "web", "push" (which
# Passerelle has no channel for) before "web".
_CHANNEL_WORDS = (
    ("webinar", Channel.WEBINAR),
    ("webinaire", Channel.WEBINAR),
    ("email", Channel.EMAIL),
    ("courriel", Channel.EMAIL),
    ("newsletter", Channel.EMAIL),
    ("sms", Channel.SMS),
    ("texto", Channel.SMS),
    ("telephone", Channel.PHONE),
    ("phone", Channel.PHONE),
    ("courrier", Channel.MAIL),
    ("print", Channel.MAIL),
    ("postal", Channel.MAIL),
    ("evenement", Channel.EVENT),
    ("event", Channel.EVENT),
    ("social", Channel.SOCIAL),
    ("reseaux", Channel.SOCIAL),
    ("push", Channel.OTHER),
    ("web", Channel.WEB),
)


def channel_of(text: str) -> str | None:
    """The channel a cell names, or None."""
    token = _token(text)
    if not token:
        return None
    if (exact := _channel_names().get(token)) is not None:
        return exact
    return next((channel for word, channel in _CHANNEL_WORDS if word in token), None)


_YEAR_FIRST = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?", re.IGNORECASE
)
_DAY_FIRST = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?",
    re.IGNORECASE,
)


def moment_of(text: str, tz: tzinfo) -> datetime | None:
    """The moment a cell gives: ISO 8601 (with or without a time zone), `2026-12-24
    09:00`, or day first as Europe writes it (`24/12/2026 09:00`, `24.12.2026`). A
    moment without a time zone is in `tz` (the importing person's); a date alone is
    that day's midnight. None when it is none of these."""
    text = " ".join(text.split())
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        year_first, day_first = _YEAR_FIRST.fullmatch(text), _DAY_FIRST.fullmatch(text)
        if year_first:
            year, month, day, hour, minute, second = year_first.groups()
        elif day_first:
            day, month, year, hour, minute, second = day_first.groups()
        else:
            return None
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=tz,
            )
        except ValueError:
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


_WHOLE = re.compile(r"[+-]?\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:([,.'])\d{3})(?:\1\d{3})*")
_WHOLE_WITH_ZEROS = re.compile(r"([+-]?\d+)[.,]0+")  # "1500.0", as spreadsheets write


def whole_number_of(text: str) -> int | None:
    """A count: `12345`, `12 345`, `12,345`, `12.345`, `1500.0`; None otherwise.
    Absurdly long numbers come back one over the largest the column holds."""
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    if _WHOLE.fullmatch(text) or _THOUSANDS.fullmatch(text):
        digits = re.sub(r"[,.']", "", text)
    elif match := _WHOLE_WITH_ZEROS.fullmatch(text):
        digits = match.group(1)
    else:
        return None
    if len(digits.lstrip("+-")) > 15:
        return -(INT4_MAX + 1) if digits.startswith("-") else INT4_MAX + 1
    return int(digits)


def _quoted(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- parse: the file's rows --------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    column: str  # the file's heading of the column at fault; "" for the row as a whole
    message: str


@dataclass(frozen=True)
class ImportRow:
    number: int  # as a spreadsheet numbers it: the headings are row 1
    external_id: str
    title: str
    values: Mapping[str, Any]  # the fields of its non-empty cells that could be read
    errors: tuple[RowError, ...]


@dataclass(frozen=True)
class ParsedFile:
    headings: Mapping[str, str]  # field → the file's heading for it
    ignored: tuple[str, ...]  # headings that are no field
    rows: tuple[ImportRow, ...]


def _delimiter(text: str) -> str:
    """`,`, `;` or a tab: whichever the headings' line holds most of (a single column
    has none)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: str) -> list[tuple[int, list[str]]]:
    """The file's records, numbered from 1 as a spreadsheet numbers its rows; blank
    rows left out (and counted). DomainError when the text is not CSV or is too long."""
    # Strict: a quote left open would otherwise swallow every row after it, silently.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if any(cell.strip() for cell in record):
                records.append((number, record))
                if len(records) > MAX_ROWS + 1:
                    raise file_error(
                        _("The file has more than %(max)s rows: split it into smaller files.")
                        % {"max": f"{MAX_ROWS:,}"}
                    )
    except csv.Error:
        raise file_error(
            _("The file could not be read as CSV (row %(row)s).") % {"row": number + 1}
        ) from None
    return records


def parse(text: str, *, tz: tzinfo, teams: Mapping[str, int]) -> ParsedFile:
    """The rows of a CSV text, each with its values and what is wrong with its cells.
    `teams` maps casefolded team names (and slugs) to ids; naive moments are in `tz`.
    DomainError when the file as a whole cannot be imported: not CSV, too many rows, no
    row under the headings, no name or id column. Reads nothing."""
    records = _records(text)
    if not records:
        raise file_error(_("The file is empty."))
    (_number, headings), body = records[0], records[1:]
    columns, ignored = columns_of(headings)
    if not columns:
        raise file_error(
            _(
                "The first row must name the columns: none of its headings (%(headings)s) "
                "is one this import reads, such as name, channel, send date or id."
            )
            % {"headings": ", ".join(_quoted(h, 30) for h in headings[:6])}
        )
    named = {name: headings[index].strip() for name, index in columns.items()}
    if "external_id" not in columns:
        raise file_error(
            _(
                "The file has no id column (id, campaign id, external id): each campaign "
                "needs the id it has in its source, so that importing the file again "
                "updates it instead of creating it twice."
            )
        )
    if "title" not in columns:
        raise file_error(_("The file has no name column (name, campaign name, title, nom)."))
    if not body:
        raise file_error(_("The file has no row under its headings."))
    first_row: dict[str, int] = {}
    rows = []
    for number, record in body:
        cells = {
            name: record[index].strip() if index < len(record) else ""
            for name, index in columns.items()
        }
        row = _row(number, cells, named, tz=tz, teams=teams, first_row=first_row)
        rows.append(row)
    return ParsedFile(headings=named, ignored=tuple(ignored), rows=tuple(rows))


def _row(
    number: int,
    cells: Mapping[str, str],
    named: Mapping[str, str],
    *,
    tz: tzinfo,
    teams: Mapping[str, int],
    first_row: dict[str, int],
) -> ImportRow:
    values: dict[str, Any] = {}
    errors: list[RowError] = []

    def error(name: str, message: str) -> None:
        errors.append(RowError(named.get(name, ""), message))

    external_id = cells["external_id"]
    if not external_id:
        error("external_id", _("The id is missing."))
    # The source is the form's, checked there: only the id's own rules apply here.
    elif problems := reference_errors(source=DEFAULT_SOURCE, external_id=external_id):
        for message in problems.get("external_id", []):
            error("external_id", message)
    elif external_id in first_row:
        error(
            "external_id",
            _("Row %(row)s has the same id: each campaign appears once in a file.")
            % {"row": first_row[external_id]},
        )
    else:
        first_row[external_id] = number
    if cells["title"]:
        values["title"] = cells["title"]
    else:
        error("title", _("The name is missing."))
    for name, text in cells.items():
        if not text or name in ("external_id", "title"):
            continue
        if name == "channel":
            if (channel := channel_of(text)) is None:
                error(
                    name,
                    _("“%(value)s” is not a channel: use one of %(channels)s.")
                    % {
                        "value": _quoted(text),
                        "channels": ", ".join(str(label) for label in Channel.labels),
                    },
                )
            else:
                values[name] = channel
        elif name == "launch_at":
            if (moment := moment_of(text, tz)) is None:
                error(
                    name,
                    _(
                        "“%(value)s” is not a date: write it as 2026-12-24 09:00 "
                        "or 24/12/2026 09:00."
                    )
                    % {"value": _quoted(text)},
                )
            elif not FIRST_YEAR <= moment.year <= LAST_YEAR:
                # Said here, and the moment kept out of the preview: near year 1 or 9999 it
                # cannot even be shown in another time zone.
                error(
                    name,
                    _("%(field)s must be between the years %(first)s and %(last)s.")
                    % {"field": _("Launch date"), "first": FIRST_YEAR, "last": LAST_YEAR},
                )
            else:
                values[name] = moment
        elif name == "estimated_recipients":
            if (count := whole_number_of(text)) is None:
                error(name, _("“%(value)s” is not a whole number.") % {"value": _quoted(text)})
            else:
                values[name] = count
        elif name == "team_ids":
            names = [n.strip() for n in re.split(r"[;,]", text) if n.strip()]
            unknown = [n for n in names if n.casefold() not in teams]
            if unknown:
                error(
                    name,
                    ngettext("Unknown team: %(names)s.", "Unknown teams: %(names)s.", len(unknown))
                    % {"names": ", ".join(f"“{_quoted(n)}”" for n in unknown)},
                )
            else:
                values[name] = tuple(dict.fromkeys(teams[n.casefold()] for n in names))
        else:
            values[name] = text
    return ImportRow(
        number=number,
        external_id=external_id,
        title=cells["title"],
        values=values,
        errors=tuple(errors),
    )


# --- plan: what each row would do --------------------------------------------------------


class Outcome(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


OUTCOME_LABELS = {
    Outcome.CREATE: gettext_lazy("Create"),
    Outcome.UPDATE: gettext_lazy("Update"),
    Outcome.UNCHANGED: gettext_lazy("Unchanged"),
    Outcome.ERROR: gettext_lazy("Error"),
}
_TEAMS_LABEL = gettext_lazy("Stakeholder teams")


@dataclass(frozen=True)
class PlannedRow:
    """One row of the preview: what it does, and the campaign as it would be after."""

    number: int
    external_id: str
    outcome: Outcome
    errors: tuple[RowError, ...]
    result: CampaignInput  # the campaign's values after the import (as far as read)
    team_names: tuple[str, ...]
    changes: tuple[str, ...] = ()  # what an update changes, as labels
    campaign_id: int | None = None  # the campaign it updates (or leaves unchanged)
    item: ImportItem | None = None  # what to save, for a create or an update

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])

    @property
    def channel_label(self) -> str:
        channel = self.result.channel
        return str(Channel(channel).label) if channel in Channel.values else ""


@dataclass(frozen=True)
class ImportPlan:
    source: str
    headings: Mapping[str, str]
    ignored: tuple[str, ...]
    rows: tuple[PlannedRow, ...]
    counts: Mapping[Outcome, int] = field(default_factory=dict)

    @property
    def items(self) -> list[ImportItem]:
        """What to save, in file order: the rows that create or update a campaign."""
        return [row.item for row in self.rows if row.item is not None]

    def count(self, outcome: str) -> int:
        return self.counts.get(Outcome(outcome), 0)

    @property
    def to_create(self) -> int:
        return self.count(Outcome.CREATE)

    @property
    def to_update(self) -> int:
        return self.count(Outcome.UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(Outcome.UNCHANGED)

    @property
    def with_errors(self) -> int:
        return self.count(Outcome.ERROR)

    @property
    def digest(self) -> str:
        """What the preview promised (each row's outcome and changes): the confirmation
        imports only if planning again promises the same."""
        promised = "\n".join(
            f"{row.number}|{row.outcome}|{row.campaign_id}|{','.join(row.changes)}"
            for row in self.rows
        )
        return hashlib.sha256(f"{self.source}\n{promised}".encode()).hexdigest()


def _input_from(
    values: Mapping[str, Any], *, channel: str, team_ids: Sequence[int]
) -> CampaignInput:
    return CampaignInput(
        title=values.get("title", ""),
        channel=values.get("channel", channel),
        audience=values.get("audience", ""),
        estimated_recipients=values.get("estimated_recipients", 0),
        launch_at=values.get("launch_at"),
        summary=values.get("summary", ""),
        team_ids=values.get("team_ids", tuple(team_ids)),
    )


def _changes(campaign: Campaign, team_ids: Collection[int], result: CampaignInput) -> list[str]:
    """The labels of what saving `result` would change on the campaign."""
    before, after = content_of(campaign), campaign_input_content(result)
    changed = [_(label) for name, label, _kind in CHANGE_FIELDS if before[name] != after[name]]
    if set(team_ids) != set(result.team_ids):
        changed.append(str(_TEAMS_LABEL))
    return changed


def plan(
    parsed: ParsedFile,
    *,
    actor: Actor,
    source: str,
    known_team_ids: Collection[int],
    team_names: Mapping[int, str],
    default_channel: str = "",
) -> ImportPlan:
    """What importing each parsed row would do, as `actor`, for the ids `source` gave:
    create (an unknown id), update (a known id whose campaign would change), unchanged,
    or an error, with every error found in the row (cells, the campaign form's rules, the
    rule book). New campaigns without a channel take `default_channel`, and without teams
    their channel's default teams, as the form pre-selects them. Reads the campaigns
    already imported and the channels' default teams: the same few queries however many
    rows."""
    known = selectors.campaigns_by_reference(
        source=source, external_ids=[row.external_id for row in parsed.rows if row.external_id]
    )
    defaults = selectors.channel_default_teams()
    try:
        rules.require_can_create(actor)
        create_refused = ""
    except PermissionRefused as refusal:
        create_refused = refusal.message
    planned = []
    for row in parsed.rows:
        campaign = known.get(row.external_id)
        fields = frozenset(row.values) & UPDATABLE_FIELDS
        at_fault = {error.column for error in row.errors}
        if campaign is None:
            channel = row.values.get("channel", default_channel)
            # The channel's default teams for a row that names none (not one whose teams
            # could not be read).
            teams_unread = parsed.headings.get("team_ids") in at_fault
            team_ids = () if teams_unread else defaults.get(channel, [])
            data = _input_from(row.values, channel=channel, team_ids=team_ids)
            result, current_teams = data, None
        else:
            current_teams = [s.team_id for s in campaign.stakeholders.all()]
            data = _input_from(row.values, channel="", team_ids=())
            result = input_over_campaign(campaign, current_teams, data, fields)
        errors = list(row.errors)
        problems = campaign_validate(result, campaign=campaign, known_team_ids=known_team_ids)
        if campaign is None and not result.channel:
            problems["channel"] = [
                _("No channel: add a channel column, or choose one for rows without it.")
            ]
        for name, messages in problems.items():
            column = parsed.headings.get(name, "")
            if column and column in at_fault:
                continue  # the cell's own error says it better
            errors.extend(RowError(column, message) for message in messages)
        changes: list[str] = []
        if campaign is None:
            outcome = Outcome.CREATE
            if create_refused:
                errors.insert(0, RowError("", create_refused))
        else:
            changes = _changes(campaign, current_teams or [], result)
            if not changes and not row.errors:
                # Nothing to save, so nothing the rules would refuse now (a campaign done
                # since it was imported) matters.
                outcome, errors = Outcome.UNCHANGED, []
            else:
                outcome = Outcome.UPDATE
                decision = rules.decide(
                    Action.EDIT, actor, rules.facts_of(campaign, acknowledgers=False)
                )
                if not decision.allowed:
                    # Whatever else is wrong, this campaign is not the person's to change.
                    errors = [RowError("", decision.reason)]
        if errors:
            outcome = Outcome.ERROR
        planned.append(
            PlannedRow(
                number=row.number,
                external_id=row.external_id,
                outcome=outcome,
                errors=tuple(errors),
                result=result,
                team_names=tuple(team_names[i] for i in result.team_ids if i in team_names),
                changes=tuple(changes),
                campaign_id=campaign.pk if campaign is not None else None,
                item=ImportItem(
                    row=row.number,
                    title=row.title,
                    external_id=row.external_id,
                    data=data,
                    fields=fields,
                )
                if outcome in (Outcome.CREATE, Outcome.UPDATE)
                else None,
            )
        )
    counts: dict[Outcome, int] = {}
    for planned_row in planned:
        counts[planned_row.outcome] = counts.get(planned_row.outcome, 0) + 1
    return ImportPlan(
        source=source,
        headings=parsed.headings,
        ignored=parsed.ignored,
        rows=tuple(planned),
        counts=counts,
    )


def import_plan(
    *, actor: Actor, text: str, tz: tzinfo, source: str, default_channel: str = ""
) -> ImportPlan:
    """`parse` and `plan` for `text`, with the teams read once. DomainError for a file
    that cannot be imported at all."""
    teams = selectors.team_names_and_slugs()
    by_name: dict[str, int] = {}
    for pk, (_name, slug) in teams.items():
        by_name.setdefault(slug.casefold(), pk)
    for pk, (name, _slug) in teams.items():
        by_name[name.casefold()] = pk  # a name wins over another team's equal slug
    parsed = parse(text, tz=tz, teams=by_name)
    return plan(
        parsed,
        actor=actor,
        source=source,
        known_team_ids=frozenset(teams),
        team_names={pk: name for pk, (name, _slug) in teams.items()},
        default_channel=default_channel,
    )
