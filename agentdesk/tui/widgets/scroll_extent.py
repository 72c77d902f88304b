"""Changing how far a line-API view scrolls without laying out the screen.

A ``ScrollView``'s ``virtual_size`` is a reactive that lays out the whole
screen when it changes. The inbox and the thread change it with every task or
event that arrives: on a busy desk that was a layout of every widget on every
update. When only the range changed (the scrollbar neither comes nor goes),
the view and its scrollbar redraw and nothing else moves.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


def set_scroll_extent(view: ScrollView, size: Size) -> None:
    """Give ``view`` the virtual ``size``, laying out only when its scrollbar comes or goes."""
    old = view.virtual_size
    if size == old:
        return
    height = view.size.height
    if size.width != old.width or (size.height > height) != (old.height > height):
        view.virtual_size = size
        return
    view.set_reactive(ScrollView.virtual_size, size)
    # Textual's own step after a size change (private: the console's tests fail
    # at once on a Textual that renames it).
    view._scroll_update(size)
    view.refresh()
