"""One row of the inbox, painted as a strip of cells.

Every column has a fixed width (the subject and the name share what is left)
so rows line up whatever the text: names and subjects are cut to their cells by
``safe_line`` and ``set_cell_size``, which count wide characters as two.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from agentdesk.domain import Priority, Status, Task

from ..labels import PRIORITY_LABELS, STATUS_LABELS, channel_badge
from ..safe_text import safe_line

#: Below this width a task takes two lines, so no column is squeezed to nothing.
ONE_LINE_WIDTH = 96


def paint_row(
    task: Task,
    *,
    line: int,
    width: int,
    base: Style,
    style: Callable[[str], Style],
    me: str,
    wait_text: str,
    wait_level: int,
    reason: str = "",
) -> Strip:
    """Line ``line`` (0 or 1) of ``task``'s row, ``width`` cells wide.

    ``base`` is the row's style (the cursor's on the selected row); ``style``
    gives the component styles (``inbox--muted``...); ``wait_level`` is 0, 1
    (warning) or 2 (error); ``reason``: why routing lets it wait, in a word.
    """
    muted = style("inbox--muted")
    wait_style = (
        Style(),
        style("inbox--warning"),
        style("inbox--error"),
    )[wait_level]
    prio_style = {
        Priority.URGENT: style("inbox--urgent"),
        Priority.HIGH: style("inbox--high"),
        Priority.LOW: muted,
    }.get(task.priority, Style())
    name_style = style("inbox--unread") if task.unread else Style()
    mark = "●" if task.unread else " "
    badge = channel_badge(task.channel_kind)
    number = f"#{task.number}"
    status = STATUS_LABELS.get(task.status, str(task.status))
    status_style = muted if task.status != Status.OPEN else Style()
    priority = PRIORITY_LABELS.get(task.priority, "")
    if task.assignee is None:
        # Waiting: why, when routing has said (no one has it, all are busy), else its needs.
        needs = f"needs {','.join(task.skills)}" if task.skills else "—"
        assignee, assignee_style = (reason or needs), muted
    elif task.assignee == me:
        assignee, assignee_style = "me", style("inbox--mine")
    else:
        assignee, assignee_style = task.assignee, Style()
    about = task.subject or task.preview
    cells: list[tuple[str, int, Style]]
    if width >= ONE_LINE_WIDTH:
        fixed = 1 + 5 + 1 + 7 + 1 + 1 + 7 + 1 + 4 + 1 + 10 + 1 + 5 + 1
        flex = max(0, width - fixed)
        name_w = min(24, max(8, flex // 3))
        about_w = max(0, flex - name_w)
        cells = [
            (mark, 1, name_style),
            (badge, 5, style("inbox--badge")),
            ("", 1, Style()),
            (f"{number:>7}", 7, muted),
            ("", 1, Style()),
            (safe_line(task.customer_name, name_w), name_w, name_style),
            ("", 1, Style()),
            (safe_line(about, about_w), about_w, Style()),
            ("", 1, Style()),
            (status, 7, status_style),
            ("", 1, Style()),
            (priority, 4, prio_style),
            ("", 1, Style()),
            (safe_line(assignee, 10), 10, assignee_style),
            ("", 1, Style()),
            (f"{wait_text:>5}", 5, wait_style),
        ]
    elif line == 0:
        fixed = 1 + 5 + 1 + 7 + 1 + 1 + 4 + 1 + 5 + 1
        name_w = max(0, width - fixed)
        cells = [
            (mark, 1, name_style),
            (badge, 5, style("inbox--badge")),
            ("", 1, Style()),
            (f"{number:<7}", 7, muted),
            ("", 1, Style()),
            (safe_line(task.customer_name, name_w), name_w, name_style),
            ("", 1, Style()),
            (priority, 4, prio_style),
            ("", 1, Style()),
            (f"{wait_text:>5}", 5, wait_style),
        ]
    else:
        fixed = 2 + 1 + 7 + 1 + 8 + 1
        about_w = max(0, width - fixed)
        cells = [
            ("", 2, Style()),
            (safe_line(about, about_w), about_w, muted),
            ("", 1, Style()),
            (status, 7, status_style),
            ("", 1, Style()),
            (safe_line(assignee, 8), 8, assignee_style),
        ]
    segments = [
        Segment(set_cell_size(text, size), base + style) for text, size, style in cells if size
    ]
    return Strip(segments).adjust_cell_length(width, base)
