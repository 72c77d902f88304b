"""What the main screen's task actions do: ask, then command the desk in a worker.

Each function takes the main screen. Prompts return through callbacks; the desk
commands are coroutines the screen runs as workers, so the console stays live
while the desk works. A refused command becomes an error toast, never a crash.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text

from agentdesk.domain import Priority, Status, Task
from agentdesk.domain.snooze import SnoozeError, parse_snooze
from agentdesk.plugin import ReplyTemplate

from ..canned import canned_fields
from ..labels import format_time
from ..safe_text import safe_line
from ..widgets.composer import ComposeMode, Composer
from . import templates
from .handoff import HandoffRequest, HandoffScreen
from .prompts import ChoicePrompt, TextPrompt, TransferPrompt, TransferRequest
from .search import SearchScreen

if TYPE_CHECKING:
    from ..widgets.conversation import ConversationPane
    from .main import MainScreen

#: Actions that mean nothing without a task (disabled in footer and palette).
NEEDS_TASK = frozenset(
    {
        "reply",
        "note",
        "pending",
        "close_task",
        "reopen",
        "assign",
        "transfer",
        "handoff",
        "tags",
        "priority",
    }
)

log = logging.getLogger("agentdesk.console")


async def send(
    screen: MainScreen, pane: ConversationPane, task_id: str, mode: ComposeMode, text: str
) -> None:
    if mode == ComposeMode.REPLY:
        event = await screen.controller.call(lambda c: c.reply(task_id, text))
    else:
        event = await screen.controller.call(lambda c: c.note(task_id, text))
    if event is None:
        return  # refused: the draft stays, in the editor and on disk
    screen.drafts.discard(task_id, mode, text=text)
    if pane.composer.task_id == task_id and pane.composer.text == text:
        pane.composer.clear()
    pane.add_event(event)


async def show_typing(screen: MainScreen, task_id: str, typing: bool) -> None:
    """Tell the customer the agent is writing a reply (best effort: a failure
    is logged, never shown; it is only a courtesy)."""
    try:
        await screen.controller.client.typing(task_id, typing)
    except Exception:
        log.debug("could not relay typing on %s", task_id, exc_info=True)


async def close_and_next(screen: MainScreen, task: Task, pane_id: str | None) -> None:
    closed = await screen.controller.set_status(task, Status.CLOSED)
    if closed is None or pane_id is None:
        return
    pane = screen.pane(pane_id)
    if pane.task_id != task.id:
        return
    next_id = screen.next_in_queue(pane_id)
    if next_id is not None and next_id != task.id:
        screen.notify(f"#{task.number} closed", timeout=2, markup=False)
        screen.open_task(next_id, pane_id=pane_id, focus=screen.focused is not screen.inbox)
    else:
        screen.notify(f"#{task.number} closed · nothing else waiting", timeout=3, markup=False)
        screen.show_nothing(pane)


def pending(screen: MainScreen) -> None:
    task = screen.target_task()
    if task is None:
        return

    def check(text: str) -> str | None:
        if not text.strip():
            return None
        try:
            parse_snooze(text, screen.clock())
        except SnoozeError as exc:
            return str(exc)
        return None

    def preview(text: str) -> str:
        if not text.strip():
            return "Pending with no time: it comes back when the customer writes."
        until = parse_snooze(text, screen.clock())
        return f"Pending until {format_time(until, screen.clock())}"

    def done(text: str | None) -> None:
        if text is None:
            return
        until = parse_snooze(text, screen.clock()) if text.strip() else None
        screen.controller.command(lambda: screen.controller.set_status(task, Status.PENDING, until))

    screen.app.push_screen(
        TextPrompt(
            f"Set #{task.number} pending until… (empty: until the customer answers)",
            placeholder="1h, tomorrow 9:00, friday, 2025-03-01 14:00",
            check=check,
            preview=preview,
        ),
        done,
    )


def _known_agents(screen: MainScreen) -> list[str]:
    names = {screen.me, *screen.desk_app.agents}
    for task in screen.index.all_tasks():  # the assignees the console has seen
        if task.assignee:
            names.add(task.assignee)
    return sorted(names)


def assign(screen: MainScreen) -> None:
    task = screen.target_task()
    if task is None:
        return

    def done(text: str | None) -> None:
        if text is None:
            return
        name = text.strip()
        assignee = None if name in ("", "-", "none") else (screen.me if name == "me" else name)
        screen.controller.assign(task, assignee)

    screen.app.push_screen(
        TextPrompt(
            f"Assign #{task.number} to",
            value=screen.me,
            hint="an agent's name; empty or - unassigns",
            suggestions=_known_agents(screen),
        ),
        done,
    )


def transfer(screen: MainScreen) -> None:
    task = screen.target_task()
    if task is None:
        return
    teams = sorted({*screen.desk_app.teams, *(t.team for t in screen.index.all_tasks() if t.team)})

    def done(request: TransferRequest | None) -> None:
        if request is None:
            return
        screen.controller.transfer(
            task, assignee=request.assignee, team=request.team, note=request.note
        )

    screen.app.push_screen(
        TransferPrompt(f"Transfer #{task.number}", agents=_known_agents(screen), teams=teams),
        done,
    )


def tags(screen: MainScreen) -> None:
    task = screen.target_task()
    if task is None:
        return

    def done(text: str | None) -> None:
        if text is None:
            return
        new = []
        for word in text.replace(",", " ").split():
            word = word.lstrip("#")
            if word and word not in new:
                new.append(word)
        screen.controller.set_tags(task, new)

    screen.app.push_screen(
        TextPrompt(
            f"Tags of #{task.number}",
            value=" ".join(task.tags),
            hint="separate with spaces or commas; empty clears",
        ),
        done,
    )


def priority(screen: MainScreen) -> None:
    task = screen.target_task()
    if task is None:
        return

    def done(choice: str | None) -> None:
        if choice is None:
            return
        screen.controller.set_priority(task, Priority(choice))

    choices = [(p.value, p.value) for p in reversed(list(Priority))]
    screen.app.push_screen(
        ChoicePrompt(f"Priority of #{task.number}", choices, current=task.priority.value), done
    )


async def handoff(screen: MainScreen, task: Task) -> None:
    desk = screen.controller
    customer = desk.customers.get(task.customer_id)
    if customer is None:
        customer = await desk.call(lambda c: c.customer(task.customer_id))
    channels = list(desk.channels.values())

    def done(request: HandoffRequest | None) -> None:
        if request is None:
            return
        if not request.templates:
            desk.handoff(
                task, channel=request.channel, identity=request.identity, message=request.message
            )
            return

        def filled(template: ReplyTemplate, values: tuple[str, ...]) -> None:
            desk.handoff(
                task,
                channel=request.channel,
                identity=request.identity,
                message=None,
                template=template.name,
                params=list(values),
            )

        fields = canned_fields(customer, task, screen.me)
        title = f"First message on {request.channel}: a template"
        templates.choose_and_fill(screen, title, request.templates, fields, filled)

    screen.app.push_screen(HandoffScreen(task, customer, channels), done)


def search(screen: MainScreen) -> None:
    if not screen.controller.connected:
        screen.notify("Not connected to the desk yet.", severity="warning", markup=False)
        return
    client = screen.controller.client

    def done(task_id: str | None) -> None:
        if task_id:
            screen.open_task(task_id)

    keeper = screen.desk_app.keeper
    screen.app.push_screen(
        SearchScreen(
            client,
            delay=screen.desk_app.search_delay,
            clock=screen.clock,
            recent=keeper.searches,
            remember=keeper.remember_search,
        ),
        done,
    )


def pick_canned(screen: MainScreen, composer: Composer) -> None:
    """ctrl+t: the channel's approved templates, if it has any, then the canned responses."""
    offered = composer.capabilities.templates if composer.capabilities else ()
    choices = templates.template_choices(offered)
    if not choices and not composer.canned:
        screen.notify("No canned responses configured ([canned] in the config).", markup=False)
        return
    choices += [
        (trigger, Text.assemble((f";{trigger}", "bold"), "  ", safe_line(text, 60)))
        for trigger, text in sorted(composer.canned.items())
    ]

    def done(choice: str | None) -> None:
        template = templates.chosen(offered, choice)
        if template is not None:
            templates.send_from_composer(screen, composer, template)
        elif choice:
            composer.insert_canned(choice)
        else:
            composer.area.focus()

    title = (
        "Templates and canned responses"
        if composer.capabilities and composer.capabilities.templates
        else "Canned responses"
    )
    screen.app.push_screen(ChoicePrompt(title, choices), done)
