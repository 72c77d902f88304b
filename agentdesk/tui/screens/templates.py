"""Sending one of a channel's approved templates (WhatsApp outside its window).

ctrl+t in the composer lists them before the canned responses; picking one
asks for its parameters one by one, each prompt showing the message as the
customer will read it, and the last Enter sends it. A parameter named like a
canned-response field (``first_name``, ``name``, ``number``...) starts filled
in. A handoff onto such a channel asks for its first template the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from agentdesk.plugin import ReplyTemplate

from ..safe_text import safe_line
from ..widgets.composer import Composer
from .prompts import ChoicePrompt, TextPrompt

if TYPE_CHECKING:
    from .main import MainScreen

#: The id a template has among the ctrl+t choices (canned ones are their trigger).
PREFIX = "template:"
#: Called with the parameters once the last one is given.
Filled = Callable[[tuple[str, ...]], None]


def template_choices(templates: tuple[ReplyTemplate, ...]) -> list[tuple[str, str | Text]]:
    """Templates as choices for a list (ctrl+t, a handoff's first message)."""
    return [
        (
            PREFIX + template.name,
            Text.assemble(
                ("template ", "italic"),
                (safe_line(template.name, 30), "bold"),
                "  ",
                safe_line(template.text, 60),
            ),
        )
        for template in templates
    ]


def chosen(templates: tuple[ReplyTemplate, ...], choice: str | None) -> ReplyTemplate | None:
    if not choice or not choice.startswith(PREFIX):
        return None
    name = choice.removeprefix(PREFIX)
    return next((t for t in templates if t.name == name), None)


def ask_parameters(
    screen: MainScreen,
    template: ReplyTemplate,
    fields: Mapping[str, str],
    filled: Filled,
    cancelled: Callable[[], None],
) -> None:
    """Ask ``template``'s parameters in turn; ``filled`` gets them all."""
    values: list[str] = []

    def ask(index: int) -> None:
        if index == len(template.parameters):
            filled(tuple(values))
            return
        label = template.parameters[index]
        key = label.strip().lower().replace(" ", "_")
        known = (key, f"customer.{key}", f"task.{key}")

        def preview(value: str) -> str:
            later = tuple(f"‹{p}›" for p in template.parameters[index + 1 :])
            return safe_line(template.render((*values, value or f"‹{label}›", *later)), 300)

        def answered(value: str | None) -> None:
            if value is None:
                cancelled()
                return
            values.append(value.strip())
            ask(index + 1)

        last = index == len(template.parameters) - 1
        screen.app.push_screen(
            TextPrompt(
                f"{template.name}: {label} ({index + 1}/{len(template.parameters)})",
                value=next((fields[k] for k in known if k in fields), ""),
                hint="enter sends the template" if last else "enter: next parameter",
                check=lambda v: None if v.strip() else f"{label} cannot be empty",
                preview=preview,
            ),
            answered,
        )

    ask(0)


def send_from_composer(screen: MainScreen, composer: Composer, template: ReplyTemplate) -> None:
    """Ask the parameters, then send ``template`` on the composer's task."""
    task_id = composer.task_id
    if task_id is None:
        return

    def filled(values: tuple[str, ...]) -> None:
        screen.controller.command(_sender(screen, task_id, template, values))

    def cancelled() -> None:
        composer.area.focus()

    ask_parameters(screen, template, composer.fields(), filled, cancelled)


def choose_and_fill(
    screen: MainScreen,
    title: str,
    templates: tuple[ReplyTemplate, ...],
    fields: Mapping[str, str],
    done: Callable[[ReplyTemplate, tuple[str, ...]], None],
) -> None:
    """Pick one of ``templates``, fill it in, and hand both to ``done``."""

    def picked(choice: str | None) -> None:
        template = chosen(templates, choice)
        if template is not None:
            ask_parameters(screen, template, fields, lambda v: done(template, v), lambda: None)

    screen.app.push_screen(ChoicePrompt(title, template_choices(templates)), picked)


def _sender(
    screen: MainScreen, task_id: str, template: ReplyTemplate, values: tuple[str, ...]
) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        event = await screen.controller.call(
            lambda c: c.reply(task_id, "", template=template.name, params=list(values))
        )
        if event is None:
            return  # refused: the toast said why
        for pane in screen.conversation_panes():
            if pane.task_id == task_id:
                pane.add_event(event)
        screen.notify(f"Template {template.name} queued", timeout=2, markup=False)

    return send
