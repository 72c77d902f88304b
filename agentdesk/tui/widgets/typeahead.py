"""Keys typed ahead act in the order they were typed.

Textual hands each key to the widget focused when the key arrives, and resolves
key bindings later, once the key has bubbled up to the app. On a busy desk an
agent types "r" then text, or ctrl+s then "x", faster than the console handles
each key: the text would reach the conversation (where "t" means transfer), or
the "x" would land in the editor. The console's focusable widgets therefore
resolve bindings themselves, in the order their keys come, and a key reaching a
widget that has lost the focus since is handed on to the widget that has it.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget


def hand_on_stale_key(widget: Widget, event: events.Key) -> bool:
    """Forward ``event`` to the focused widget if ``widget`` lost the focus; True if so."""
    focused = widget.app.focused
    if focused is None or focused is widget:
        return False
    event.stop()
    event.prevent_default()
    focused._forward_event(events.Key(event.key, event.character))
    return True


class OrderedKeys:
    """Mix in before a widget class: its keys run their bindings in typing order."""

    async def _on_key(self, event: events.Key) -> None:
        widget: Widget = self  # type: ignore[assignment]
        if hand_on_stale_key(widget, event):
            return
        await super()._on_key(event)  # type: ignore[misc]
        if event._stop_propagation:
            return  # the widget used the key itself (a character typed in an editor)
        event.stop()
        # Bindings of the focus chain, resolved now rather than after bubbling.
        await widget.app._check_bindings(event.key)
