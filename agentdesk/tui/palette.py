"""The command palette's agentdesk commands: every action with its key, and themes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from .keymap import key_list

if TYPE_CHECKING:
    from .app import AgentDeskApp


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    title: str
    help: str
    run: Callable[[], object]


class DeskCommands(Provider):
    """Offers the bindings of the main screen, the inbox and the app, and the themes."""

    def _commands(self) -> list[PaletteCommand]:
        app: AgentDeskApp = self.app  # type: ignore[assignment]
        commands: list[PaletteCommand] = []
        seen: set[str] = set()
        for owner, bindings in app.palette_bindings(self.screen):
            for binding in bindings:
                if not binding.description or binding.action in seen:
                    continue
                if owner.check_action(binding.action.split("(")[0], ()) is not True:
                    continue
                seen.add(binding.action)
                keys = ", ".join(
                    app.get_key_display(Binding(k, "")) for k in key_list(binding, app.keymap)
                )
                commands.append(
                    PaletteCommand(
                        binding.description,
                        f"key: {keys}",
                        partial(app.run_action, binding.action, owner),
                    )
                )
        for name in sorted(app.available_themes):
            if name.startswith("agentdesk") or name == app.theme:
                commands.append(
                    PaletteCommand(
                        f"Theme: {name}", "switch the colours", partial(setattr, app, "theme", name)
                    )
                )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
