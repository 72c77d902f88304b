"""The thread of a conversation, drawn line by line from its events.

One widget for the whole thread (a line-API view, as the inbox): each event
is wrapped to the width once and kept as finished strips; only the rows on
screen are handed to Textual. A thread of 200 events used to be 200 widgets,
each mounted, styled and laid out with the screen; on a busy desk every new
event laid them all out again, and an agent's reply waited behind those
frames (``bench/reply_bench.py``).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..event_text import EventText
from .scroll_extent import set_scroll_extent
from .typeahead import OrderedKeys

#: How an event is drawn, from its classes: the most telling first.
KINDS = ("failed", "queued", "whisper", "note", "call", "outbound", "inbound", "system")
#: Cells around an event's text: margin, bar and padding left; padding and margin right.
LEFT, RIGHT = 3, 2


def kind_of(text: EventText) -> str:
    classes = set(text.classes.split())
    return next((k for k in KINDS if f"-{k}" in classes), "system")


class Thread(OrderedKeys, ScrollView, can_focus=True):
    """The scrollable list of a task's events, oldest first."""

    BINDINGS = [
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="thread.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="thread.up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="thread.top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="thread.bottom"),
    ]
    COMPONENT_CLASSES = {f"thread--{kind}" for kind in KINDS} | {
        f"thread--bar-{kind}" for kind in KINDS
    }

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        # (key, version, text): the key is the event's id; the version changes
        # when the event is drawn again (a delivery state that changed).
        self._blocks: list[tuple[str, int, EventText]] = []
        self._where: dict[str, int] = {}
        self._version = 0
        # Finished strips by (key, version); all at ``_drawn_width``.
        self._drawn: dict[tuple[str, int], list[Strip]] = {}
        self._drawn_width = 0
        self._lines: list[Strip] | None = None
        self._styles: dict[str, Style] = {}

    # --- what it shows ----------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        """The keys of the events shown, in order."""
        return [key for key, _, _ in self._blocks]

    def text_of(self, key: str) -> EventText | None:
        where = self._where.get(key)
        return None if where is None else self._blocks[where][2]

    def replace(self, blocks: list[tuple[str, EventText]]) -> None:
        """Show ``blocks`` (key, drawn event) instead of what was shown."""
        self._blocks = [(key, self._next(), text) for key, text in blocks]
        self._where = {key: i for i, (key, _, _) in enumerate(self._blocks)}
        self._drawn.clear()
        self._changed()

    def put(self, key: str, text: EventText) -> None:
        """Draw the event ``key`` again where it is, or add it at the end."""
        where = self._where.get(key)
        if where is None:
            self._where[key] = len(self._blocks)
            self._blocks.append((key, self._next(), text))
        else:
            self._drawn.pop(self._blocks[where][:2], None)
            self._blocks[where] = (key, self._next(), text)
        self._changed()

    def texts(self, kind: str | None = None) -> list[str]:
        """The plain text of the events shown (of one kind: ``note``, ``queued``…)."""
        shown = []
        for _, _, text in self._blocks:
            if kind is None or kind_of(text) == kind:
                body = text.body.plain if text.body is not None else ""
                shown.append(f"{text.header.plain}\n{body}" if body else text.header.plain)
        return shown

    @property
    def at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def _next(self) -> int:
        self._version += 1
        return self._version

    def _changed(self) -> None:
        self._lines = None
        set_scroll_extent(self, Size(self.size.width, len(self._all_lines())))
        self.refresh()

    # --- drawing ----------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        # Only a new width wraps the events again (``_all_lines``): the composer
        # opening and closing changes the height, on every reply.
        self._changed()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()
        self._styles.clear()
        self._lines = None

    def render_line(self, y: int) -> Strip:
        lines = self._all_lines()
        row = self.scroll_offset.y + y
        if 0 <= row < len(lines):
            return lines[row]
        return Strip.blank(self.size.width, self._style("base"))

    def _all_lines(self) -> list[Strip]:
        width = self.size.width
        if width != self._drawn_width:
            self._drawn.clear()
            self._drawn_width = width
            self._lines = None
        if self._lines is None:
            lines: list[Strip] = []
            for key, version, text in self._blocks:
                drawn = self._drawn.get((key, version))
                if drawn is None:
                    drawn = self._drawn[(key, version)] = self._draw(text, width)
                lines.extend(drawn)
            self._lines = lines
        return self._lines

    def _draw(self, text: EventText, width: int) -> list[Strip]:
        kind = kind_of(text)
        base = self._style("base")
        block = self._style(f"thread--{kind}")
        content = Text(style=block)
        content.append_text(text.header)
        if text.body is not None and text.body.plain:
            content.append("\n")
            content.append_text(text.body)
        console = self.app.console
        lead = [Segment(" ", base)]
        if kind == "system":
            lead.append(Segment(" ", block))  # no bar: a line of the thread's own
            inner = max(1, width - 2 - RIGHT)
        else:
            inner = max(1, width - LEFT - RIGHT)
            lead += [Segment("█", block + self._style(f"thread--bar-{kind}")), Segment(" ", block)]
        strips = []
        for line in content.wrap(console, inner, overflow="fold"):
            words = Segment.apply_style(line.render(console, end=""), block)
            segments = [*lead, *words]
            strip = Strip(segments).adjust_cell_length(width - 1, block)
            strips.append(Strip([*strip, Segment(" ", base)], width))
        if kind != "system":
            strips.append(Strip.blank(width, base))  # the space between events
        return strips

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self.get_component_rich_style(name)
            self._styles[name] = style
        return style
