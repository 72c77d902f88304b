"""The console's pure pieces: labels, limits, canned responses, safe text,
identities, keymaps, themes and the snooze parser."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.binding import Binding

from agentdesk.domain import Customer, Identity, Task, identity_problem
from agentdesk.domain.snooze import SnoozeError, parse_snooze
from agentdesk.plugin import Capabilities
from agentdesk.tui.canned import canned_fields, fill, normalize_canned, trigger_at_end
from agentdesk.tui.keymap import KeyGroup, check_keymap, key_list, known_ids
from agentdesk.tui.labels import channel_badge, format_wait
from agentdesk.tui.limits import count_text
from agentdesk.tui.safe_text import capped_text, safe_fragment, safe_line
from agentdesk.tui.themes import DEFAULT_THEMES_DIR, load_themes

# Friday 2026-01-02 10:00 UTC
NOW = datetime(2026, 1, 2, 10, 0, tzinfo=UTC).timestamp()


def at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1h", NOW + 3600),
        ("in 2 days", NOW + 2 * 86400),
        ("1h30m", NOW + 5400),
        ("45 min", NOW + 45 * 60),
        ("tomorrow", at(2026, 1, 3, 9, 0)),
        ("tomorrow 9:00", at(2026, 1, 3, 9, 0)),
        ("Tomorrow 5pm", at(2026, 1, 3, 17, 0)),
        ("monday", at(2026, 1, 5, 9, 0)),
        ("fri 14:30", at(2026, 1, 9, 14, 30)),  # today is Friday: next week's
        ("18:00", at(2026, 1, 2, 18, 0)),
        ("8:00", at(2026, 1, 3, 8, 0)),  # already past today
        ("2026-03-01 10:15", at(2026, 3, 1, 10, 15)),
        ("today 23:59", at(2026, 1, 2, 23, 59)),
    ],
)
def test_snooze_times(text, expected):
    assert parse_snooze(text, NOW, UTC) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "0h", "5 parsecs", "tomorrow 25:00", "2020-01-01", "today 8:00", "13pm"]
)
def test_snooze_refuses_what_it_cannot_read(text):
    with pytest.raises(SnoozeError):
        parse_snooze(text, NOW, UTC)


def test_channel_badges_read_without_colour():
    assert channel_badge("email") == "✉ EML"
    assert channel_badge("sms") == "✆ SMS"
    assert channel_badge("social") == "@ SOC"
    assert channel_badge("phone") == "☎ TEL"
    assert channel_badge("chat") == "◆ CHT"
    assert channel_badge("fax") == "• FAX"
    assert len({channel_badge(k) for k in ("email", "chat", "sms", "social", "phone")}) == 5


@pytest.mark.parametrize(
    "seconds, text",
    [(5, "5s"), (600, "10m"), (3 * 3600 + 300, "3h05"), (50 * 3600, "2d2h"), (30 * 86400, "4w")],
)
def test_waiting_times(seconds, text):
    assert format_wait(seconds) == text


SMS = Capabilities(kind="sms", identity_kind="phone", max_text_length=480, segment_length=160)


def test_sms_counter_counts_segments_and_the_limit():
    assert count_text("x" * 160, SMS).segments == 1
    assert count_text("x" * 161, SMS).segments == 2  # 153 per part once split
    assert count_text("x" * 307, SMS).segments == 3
    assert count_text("€" * 80, SMS).segments == 1  # extension characters cost two
    unicode = count_text("日本" * 36, SMS)
    assert unicode.unicode and unicode.segments == 2
    assert unicode.describe() == "72/480 · 2 segments · UCS-2: 日 本"
    # One curly apostrophe makes the whole text UCS-2: the agent is told which.
    curly = count_text("It’s on its way " + "x" * 60, SMS)
    assert curly.segments == 2 and curly.describe().endswith("UCS-2: ’")
    assert count_text("It's on its way " + "x" * 60, SMS).describe() == "76/480 · 1 segment"
    hidden = count_text("a​b " + "éàüœ😀", SMS).describe()
    assert hidden.endswith("UCS-2: U+200B U+00A0 œ 😀")
    over = count_text("x" * 481, SMS)
    assert over.over and "481/480" in over.describe() and "too long" in over.describe()
    assert count_text("hi", None).describe() == "2 chars"


def test_canned_fields_fill_known_fields_and_keep_unknown_ones():
    customer = Customer(id="C1", name="Ana García", identities=[Identity.of("email", "Ana@X.org")])
    task = Task(id="T1", number=1042, customer_id="C1", subject="Refund")
    fields = canned_fields(customer, task, "ben")
    text = fill(
        "Hi {customer.first_name}, #{task.number} ({customer.email}) {agent.name} {oops.x}", fields
    )
    assert text == "Hi Ana, #1042 (ana@x.org) ben {oops.x}"
    assert trigger_at_end("thanks ;refund") == "refund"
    assert trigger_at_end("no trigger") is None
    assert normalize_canned({";a": "x", "b": "y"}) == {"a": "x", "b": "y"}


def test_safe_text_shows_hostile_text_literally_and_bounded():
    hostile = "\x1b[31mred\x1b[0m [bold]x[/bold] [link=http://evil]y\x07\u202e"
    line = safe_line(hostile, 80)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "[bold]x[/bold]" in line and "[link=http://evil]" in line
    huge = capped_text("line\n" * 200_000, max_lines=10)
    assert huge.plain.count("\n") == 10 and huge.plain.endswith("… 199991 more lines")
    wide = capped_text("a" * 1_000_000, max_chars=100)
    assert wide.plain.endswith("… 999900 more characters")
    assert capped_text("short").plain == "short"


@pytest.mark.parametrize(
    "kind, value, ok",
    [
        ("email", "ana@example.com", True),
        ("email", "ana@", False),
        ("email", "not an email", False),
        ("phone", "+34 600 111 222", True),
        ("phone", "12", False),
        ("phone", "call me", False),
        ("social", "@bochen", True),
        ("social", "bo chen", False),
        ("chat", "", False),
    ],
)
def test_identity_checks(kind, value, ok):
    assert (identity_problem(kind, value) is None) == ok


def test_keymap_keeps_known_ids_and_reports_the_rest():
    groups = [KeyGroup("t", (Binding("r", "reply", "Reply", id="reply"),))]
    usable, problems = check_keymap(
        {"reply": "R, ctrl+r", "nope": "x", "reply2": ""}, known_ids(groups)
    )
    assert usable == {"reply": "R,ctrl+r"}
    assert len(problems) == 2 and "nope" in problems[0]
    assert key_list(groups[0].bindings[0], usable) == ["R", "ctrl+r"]
    assert key_list(groups[0].bindings[0], {}) == ["r"]


def test_shipped_themes_load(tmp_path: Path):
    loaded = load_themes(DEFAULT_THEMES_DIR)
    assert loaded.problems == []
    names = {t.name for t in loaded.themes}
    assert names == {"agentdesk-dark", "agentdesk-light", "agentdesk-high-contrast"}
    assert not next(t for t in loaded.themes if t.name == "agentdesk-light").dark


def test_broken_theme_files_are_reported_and_skipped(tmp_path: Path):
    (tmp_path / "good.toml").write_text('name = "mine"\nprimary = "#112233"\n')
    (tmp_path / "syntax.toml").write_text("name = ")
    (tmp_path / "colour.toml").write_text('name = "x"\nprimary = "not-a-colour"\n')
    (tmp_path / "unknown.toml").write_text('name = "y"\nprimary = "#fff"\nsparkle = true\n')
    (tmp_path / "noname.toml").write_text('primary = "#fff"\n')
    loaded = load_themes(tmp_path)
    assert [t.name for t in loaded.themes] == ["mine"]
    assert len(loaded.problems) == 4
    assert any("not a colour" in p for p in loaded.problems)
    assert any("sparkle" in p for p in loaded.problems)
    assert load_themes(tmp_path / "missing").problems


def test_a_busy_desk_does_not_bury_the_screen_in_toasts():
    from agentdesk.tui.notices import NoticeGate

    now = [0.0]
    gate = NoticeGate(burst=3, window=10, clock=lambda: now[0])
    assert gate.offer(["a", "b"]) == ["a", "b"]
    assert gate.offer(["c", "d", "e"]) == ["c"]
    assert gate.offer(["f"]) == []
    now[0] = 10.0
    assert gate.offer(["g"]) == ["… and 3 more updates", "g"]
    assert gate.held == 0


def test_canned_agent_field():
    assert fill("— {agent}", canned_fields(None, None, "ana")) == "— ana"


def test_the_user_guide_lists_every_binding_id():
    from agentdesk.tui import AgentDeskApp

    from .conftest import sample_connector

    guide = (Path(__file__).resolve().parents[2] / "docs" / "console.md").read_text("utf-8")
    app = AgentDeskApp(sample_connector())
    missing = [
        binding_id
        for binding_id in known_ids(app.key_groups())
        if f"`{binding_id}`" not in guide
        and not (binding_id.startswith("view.channel.") and "`view.channel.9`" in guide)
    ]
    assert missing == []


def test_snippet_fragments_keep_the_spaces_between_words() -> None:
    snippet = [("J'ai renvoyé la ", False), ("commande", True), (" 4471\n il y a", False)]
    assert "".join(safe_fragment(f) for f, _ in snippet) == "J'ai renvoyé la commande 4471 il y a"
    assert safe_fragment("  ") == " "
    assert safe_fragment(" \x1b[31mred ") == " red "


def test_a_waiting_row_says_what_the_task_needs():
    from rich.style import Style

    from agentdesk.domain import Task
    from agentdesk.tui.widgets.inbox_row import paint_row

    def row(task: Task) -> str:
        strip = paint_row(
            task, line=0, width=140, base=Style(), style=lambda _: Style(), me="ana",
            wait_text="5s", wait_level=0,
        )  # fmt: skip
        return strip.text

    waiting = Task(id="t", number=1001, customer_id="c", skills=["fr", "billing"])
    assert "needs fr," in row(waiting)  # cut to its column
    assert "needs" not in row(Task(id="t", number=1001, customer_id="c"))
    assert "needs" not in row(
        Task(id="t", number=1001, customer_id="c", skills=["fr"], assignee="bo")
    )
