"""The text diff behind "what changed": passages that changed with their context, word by
word inside a changed line, escaped when rendered."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import translation

from core.changes import FieldChange, hunks_html, hunks_text, shown_changes, text_hunks


def test_equal_texts_have_no_hunks():
    assert text_hunks("Même texte\n", "Même texte\n") == []


def test_a_changed_word_is_shown_alone_with_its_line_as_context():
    before = "Intro\n\nOffre valable 15 jours\n\nFin\n\nAnnexe\nAutre\n"
    after = "Intro\n\nOffre valable 30 jours\n\nFin\n\nAnnexe\nAutre\n"

    hunks = text_hunks(before, after)

    assert len(hunks) == 1
    assert hunks[0] == [
        ["equal", "Offre valable "],
        ["delete", "15"],
        ["insert", "30"],
        ["equal", " jours"],
    ]
    # Lines far from the change are left out: the reader sees only what moved.
    assert "Annexe" not in hunks_text(hunks)


def test_passages_far_apart_are_separate_hunks():
    lines = [f"Ligne {n}" for n in range(20)]
    changed = list(lines)
    changed[2], changed[17] = "Ligne deux", "Ligne dix-sept"

    hunks = text_hunks("\n".join(lines), "\n".join(changed))

    assert len(hunks) == 2
    assert hunks_text(hunks).count("\n…\n") == 1


def test_added_and_removed_lines():
    hunks = text_hunks("A\nB\n", "A\nB\nC nouveau\n")
    assert hunks == [[["equal", "B\n"], ["insert", "C nouveau\n"]]]
    assert hunks_text(hunks) == "B\n{+C nouveau\n+}"


def test_html_escapes_what_people_typed():
    hunks = text_hunks("Prix <b>10 €</b>", 'Prix <script>alert("x")</script>')

    html = str(hunks_html(hunks))

    assert "<script>" not in html
    assert "<b>" not in html
    assert "<ins>script</ins>&gt;" in html
    assert "<ins>alert(&quot;x&quot;)</ins>" in html
    assert "<del>" in html
    assert "<ins>" in html
    assert html.startswith('<div class="text-diff-hunk">')


def test_a_huge_rewrite_falls_back_to_whole_lines():
    before, after = "mot " * 3000, "autre " * 3000
    hunks = text_hunks(before, after)
    assert hunks == [[["delete", before], ["insert", after]]]


def test_values_are_shown_in_the_reader_language_and_time_zone():
    changes = [
        FieldChange(
            field="launch_at",
            label="Launch date",
            kind="moment",
            before=datetime(2026, 12, 4, 14, 0, tzinfo=UTC).isoformat(),
            after=None,
        ),
        FieldChange(field="channel", label="Channel", kind="choice", before="E-mail", after="SMS"),
        FieldChange(
            field="estimated_recipients",
            label="Estimated recipients",
            kind="number",
            before="1500",
            after="2000",
        ),
    ]
    with translation.override("fr"):
        shown = shown_changes(changes, tz=ZoneInfo("Europe/Paris"))

    assert shown[0].label == "Date de lancement"
    assert "15:00" in shown[0].before  # 14:00 UTC is 15:00 in Paris in December
    assert shown[0].after == "–"
    assert shown[1].before == "E-mail"
    assert shown[2].before.replace("\u202f", " ").replace("\xa0", " ") == "1 500"


def test_line_endings_alone_are_no_change():
    assert text_hunks("A\nB\n", "A\r\nB\r\n") == []
    assert text_hunks("A\nB", "A\r\nC") == [[["equal", "A\n"], ["delete", "B"], ["insert", "C"]]]
