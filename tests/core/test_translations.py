"""The French catalogue is complete and usable, and a French reader gets French pages.

The .po file is read with a small parser (no dependency): entries are separated by blank
lines; obsolete entries (#~) and previous-msgid comments (#|) are ignored."""

import ast
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory

PO_FILE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")\s*$")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def _string(literal: str) -> str:
    # A PO string is a double-quoted C string; its escapes (\" \\ \n \t) read as Python's.
    return ast.literal_eval(literal)


def parse_po(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for block_start, block in _blocks(text):
        entry = Entry(line=block_start)
        current: str | None = None
        for line in block:
            if line.startswith("#~"):
                entry = None
                break
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
                continue
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                assert current is not None, f"line {block_start}: continuation without keyword"
                _append(entry, current, _string(line))
                continue
            match = KEYWORD.match(line)
            assert match, f"line {block_start}: cannot read {line!r}"
            current = match[1]
            _set(entry, current, _string(match[2]))
        if entry is not None and current is not None:
            entries.append(entry)
    return entries


def _blocks(text: str):
    block: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if block:
                yield start, block
            block = []
            continue
        if not block:
            start = number
        block.append(line)
    if block:
        yield start, block


def _set(entry: Entry, keyword: str, value: str) -> None:
    if keyword == "msgid":
        entry.msgid = value
    elif keyword == "msgid_plural":
        entry.msgid_plural = value
    elif keyword == "msgctxt":
        entry.msgctxt = value
    else:
        index = int(keyword[7:-1]) if "[" in keyword else 0
        entry.msgstr[index] = value


def _append(entry: Entry, keyword: str, value: str) -> None:
    if keyword in ("msgid", "msgid_plural", "msgctxt"):
        setattr(entry, keyword, getattr(entry, keyword) + value)
    else:
        index = int(keyword[7:-1]) if "[" in keyword else 0
        entry.msgstr[index] += value


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    parsed = [entry for entry in parse_po(PO_FILE.read_text(encoding="utf-8")) if entry.msgid]
    assert len(parsed) > 100, "the French catalogue looks truncated"
    return parsed


def test_the_parser_reads_plurals_continuations_and_skips_obsolete_entries():
    text = (
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#, fuzzy, python-format\n#| msgid "old"\n'
        'msgid "%(counter)s "\n"item"\nmsgid_plural "%(counter)s items"\n'
        'msgstr[0] "%(counter)s \\"élément\\""\nmsgstr[1] ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Parti"\n'
    )
    header, entry = parse_po(text)
    assert header.msgstr == {0: "Language: fr\n"}
    assert entry.flags == {"fuzzy", "python-format"}
    assert entry.msgid == "%(counter)s item"
    assert entry.msgid_plural == "%(counter)s items"
    assert entry.msgstr == {0: '%(counter)s "élément"', 1: ""}


def test_no_entry_is_fuzzy(entries):
    fuzzy = [str(entry) for entry in entries if "fuzzy" in entry.flags]
    assert not fuzzy, "fuzzy entries left in the French catalogue:\n" + "\n".join(fuzzy)


def test_every_entry_is_translated(entries):
    empty = []
    for entry in entries:
        expected = 2 if entry.msgid_plural is not None else 1  # nplurals=2 for French
        if len(entry.msgstr) != expected or not all(entry.msgstr.values()):
            empty.append(str(entry))
    assert not empty, "untranslated entries in the French catalogue:\n" + "\n".join(empty)


def test_translations_keep_every_placeholder(entries):
    wrong = []
    for entry in entries:
        singular = set(PLACEHOLDER.findall(entry.msgid))
        plural = set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        for index, msgstr in entry.msgstr.items():
            found = set(PLACEHOLDER.findall(msgstr))
            needed = singular if index == 0 else singular | plural
            if not needed <= found:
                wrong.append(f"{entry} msgstr[{index}] lacks {sorted(needed - found)}")
            if not found <= singular | plural:
                wrong.append(f"{entry} msgstr[{index}] adds {sorted(found - singular - plural)}")
    assert not wrong, "placeholders lost or invented:\n" + "\n".join(wrong)


@pytest.mark.django_db
def test_a_french_reader_gets_the_campaign_list_in_french(client):
    client.force_login(UserFactory(language="fr"))
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    page = html.unescape(response.content.decode())
    for text in ("Campagnes", "Calendrier", "Rechercher", "Tous les statuts", "Appliquer"):
        assert text in page, text
    assert "All statuses" not in page


@pytest.mark.django_db
def test_a_french_reader_gets_the_calendar_in_french(client):
    client.force_login(UserFactory(language="fr"))
    response = client.get(reverse("campaigns:calendar"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    page = html.unescape(response.content.decode())
    for text in ("Calendrier des lancements", "Liste des campagnes", "Aujourd'hui", "Mois"):
        assert text in page, text
    assert "Launch calendar" not in page


APP_DIRS = ("accounts", "campaigns", "core", "dashboards", "hub", "notifications", "teams")
GETTEXT_CALL = {"_", "gettext", "ngettext", "pgettext", "npgettext", "gettext_lazy"}


def test_no_translatable_string_hides_inside_an_f_string():
    """xgettext does not read inside f-strings: `f"{_('waiting')}"` is never extracted,
    so it would stay English in every language. Call gettext outside the f-string."""
    hidden = []
    for app in APP_DIRS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for part in ast.walk(node):
                    if (
                        isinstance(part, ast.Call)
                        and isinstance(part.func, ast.Name)
                        and part.func.id in GETTEXT_CALL
                    ):
                        hidden.append(f"{path.relative_to(settings.BASE_DIR)}:{part.lineno}")
    assert not hidden, hidden
