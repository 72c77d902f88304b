"""The bottom line: the keys that act here, drawn as one line of text.

Textual's ``Footer`` mounts a widget per key and mounts them all again each
time the bindings change, which they do on every move of the focus: opening
the composer and sending a reply cost three of those, some 90 ms of a busy
console's event loop at 160 columns, and the agent's reply waited behind
them (``bench/reply_bench.py``). This bar draws the same keys as one line,
redraws only when what it shows changed, and never changes the layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class KeyHint:
    key: str  # what pressing it sends
    display: str  # how the key is written (``^s``, ``r``)
    description: str
    enabled: bool


class KeyBar(Widget):
    """The active bindings that ask to be shown, and the palette's key at the right."""

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hints: tuple[KeyHint, ...] = ()
        self._palette: KeyHint | None = None
        # (start column, end column, hint) of each drawn key, for the mouse.
        self._spans: list[tuple[int, int, KeyHint]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        # Once the screen is whole: its actions' checks may ask its other widgets.
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    @property
    def hints(self) -> tuple[KeyHint, ...]:
        """What the bar shows now, left to right (the palette's key not included)."""
        return self._hints

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        app = self.app
        hints: list[KeyHint] = []
        actions: set[str] = set()
        palette = None
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            hint = KeyHint(binding.key, app.get_key_display(binding), binding.description, enabled)
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = hint
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)  # one key per action, as the footer did
                hints.append(hint)
        if (tuple(hints), palette) != (self._hints, self._palette):
            self._hints, self._palette = tuple(hints), palette
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        disabled = self.get_component_rich_style("key-bar--disabled")
        width = self.size.width
        right = Text()
        if self._palette is not None:
            right.append(f" {self._palette.display} ", key_style)
            right.append(f"{self._palette.description} ", text_style)
        line = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, KeyHint]] = []
        room = width - right.cell_len
        for hint in self._hints:
            piece = Text()
            piece.append(
                f" {hint.display} ", key_style + disabled if not hint.enabled else key_style
            )
            piece.append(
                hint.description, text_style + disabled if not hint.enabled else text_style
            )
            piece.append(" ")
            if line.cell_len + piece.cell_len > room:
                break  # the keys that do not fit are in the help (?) and the palette
            spans.append((line.cell_len, line.cell_len + piece.cell_len, hint))
            line.append_text(piece)
        if self._palette is not None:
            start = max(line.cell_len, width - right.cell_len)
            line.append(" " * (start - line.cell_len))
            spans.append((start, start + right.cell_len, self._palette))
            line.append_text(right)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, hint in self._spans:
            if start <= event.x < end:
                if hint.enabled:
                    self.app.simulate_key(hint.key)
                else:
                    self.app.bell()
                return
